package tensor

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestTypeTable(t *testing.T) {
	want := map[DType][3]any{ // name, block, bytes
		F32: {"F32", 1, 4}, Q4_0: {"Q4_0", 32, 18}, Q8_K: {"Q8_K", 256, 292}, IQ1_M: {"IQ1_M", 256, 56},
		BF16: {"BF16", 1, 2}, TQ1_0: {"TQ1_0", 256, 54}, TQ2_0: {"TQ2_0", 256, 66}, IQ3_S: {"IQ3_S", 256, 110},
		IQ2_S: {"IQ2_S", 256, 82}, I64: {"I64", 1, 8}, F64: {"F64", 1, 8},
	}
	for dt, w := range want {
		if dt.String() != w[0] || dt.BlockSize() != w[1] || dt.TypeSize() != w[2] {
			t.Errorf("%d: %s %d %d, want %v", uint32(dt), dt, dt.BlockSize(), dt.TypeSize(), w)
		}
	}
	if n := len(AllTypes()); n != 31 {
		t.Errorf("%d types, want 31", n)
	}
	for _, bad := range []DType{4, 5, 31, 32, 33, 36, 39} {
		if bad.Valid() {
			t.Errorf("retired id %d is valid", bad)
		}
	}
}

// TestUnsupportedTypes: every ggml type without a codec is refused with an error naming it.
func TestUnsupportedTypes(t *testing.T) {
	for _, dt := range AllTypes() {
		if _, ok := CodecOf(dt); ok {
			continue
		}
		err := Dequantize(dt, make([]byte, 1024), make([]float32, 256))
		if err == nil || !strings.Contains(err.Error(), "dequantize: type "+dt.String()+" is not supported") {
			t.Errorf("%s: %v", dt, err)
		}
		if err := Quantize(dt, make([]float32, 256), make([]byte, 1024)); err == nil {
			t.Errorf("%s: quantize accepted", dt)
		}
	}
	if err := Dequantize(Q4_K, make([]byte, 10), make([]float32, 256)); err == nil {
		t.Error("short source accepted")
	}
	if err := Dequantize(Q4_K, make([]byte, 1000), make([]float32, 100)); err == nil {
		t.Error("ragged length accepted")
	}
}

func TestFP16AllValues(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		f := FP16ToFP32(uint16(h))
		if math.IsNaN(float64(f)) {
			if FP32ToFP16(f)&0x7c00 != 0x7c00 || FP32ToFP16(f)&0x3ff == 0 {
				t.Errorf("nan %#04x lost", h)
			}
			continue
		}
		if back := FP32ToFP16(f); back != uint16(h) {
			t.Fatalf("%#04x -> %v -> %#04x", h, f, back)
		}
	}
}

// fp16Nearest is a slow reference: the nearest half (ties to even) by search.
func fp16Nearest(f float32) uint16 {
	best, bestErr := uint16(0), math.Inf(1)
	sign := uint16(0)
	if f < 0 {
		sign, f = 0x8000, -f
	}
	if f >= 65520 { // rounds past the largest finite half
		return sign | 0x7c00
	}
	lo, hi := 0, 0x7c00
	for lo < hi { // largest h with value <= f
		mid := (lo + hi + 1) / 2
		if float64(FP16ToFP32(uint16(mid))) <= float64(f) {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	for _, h := range []int{lo, lo + 1} {
		if h > 0x7c00 {
			continue
		}
		e := math.Abs(float64(FP16ToFP32(uint16(h))) - float64(f))
		if h == 0x7c00 && float64(f) < 65520 {
			continue
		}
		if e < bestErr || (e == bestErr && h%2 == 0) {
			best, bestErr = uint16(h), e
		}
	}
	return sign | best
}

func TestFP32ToFP16Rounding(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200000; i++ {
		f := math.Float32frombits(r.Uint32())
		if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) || math.Abs(float64(f)) > 1e6 || math.Abs(float64(f)) < 1e-9 {
			f = float32(r.NormFloat64() * math.Pow(2, float64(r.IntN(40)-25)))
		}
		if got, want := FP32ToFP16(f), fp16Nearest(f); got != want {
			t.Fatalf("FP32ToFP16(%g) = %#04x, want %#04x", f, got, want)
		}
	}
	// exact ties between two halves round to even
	if got := FP32ToFP16(1 + 1.0/2048); got != 0x3c00 {
		t.Errorf("tie 1+2^-11 -> %#04x, want 0x3c00", got)
	}
	if got := FP32ToFP16(1 + 3.0/2048); got != 0x3c02 {
		t.Errorf("tie 1+3*2^-11 -> %#04x, want 0x3c02", got)
	}
}

func TestBF16(t *testing.T) {
	for _, c := range []struct {
		f    float32
		want uint16
	}{{1, 0x3f80}, {-2, 0xc000}, {math.Float32frombits(0x3f808000), 0x3f80}, {math.Float32frombits(0x3f818000), 0x3f82}} {
		if got := FP32ToBF16(c.f); got != c.want {
			t.Errorf("FP32ToBF16(%#x) = %#x, want %#x", math.Float32bits(c.f), got, c.want)
		}
	}
	if h := FP32ToBF16(float32(math.NaN())); h&0x7f80 != 0x7f80 || h&0x7f == 0 {
		t.Errorf("NaN -> %#x", h)
	}
}

// TestRoundTripError: dequantize(quantize(x)) of every codec stays within the error its
// bits per weight allow on Gaussian data, 2^-(bpw-1.5) (at least 1%): Q4_0 0.125, Q2_K
// 0.46 (catches layout bugs that bit-exact vectors of one shape might miss).
func TestRoundTripError(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	x := make([]float32, 4096)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	for _, dt := range Codecs() {
		lim := max(math.Pow(2, -(dt.BitsPerWeight()-1.5)), 0.01)
		if dt == TQ1_0 || dt == TQ2_0 {
			// made for ternary weights (TestTernaryExact): ggml scales by max |x|, so
			// most Gaussian values round to 0 (0.79 with either packing)
			lim = 0.8
		}
		n, _ := dt.RowSize(len(x))
		q := make([]byte, n)
		y := make([]float32, len(x))
		if err := quantizeAny(dt, x, q); err != nil {
			t.Fatal(err)
		}
		if err := Dequantize(dt, q, y); err != nil {
			t.Fatal(err)
		}
		var se, sx float64
		for i := range x {
			se += float64(x[i]-y[i]) * float64(x[i]-y[i])
			sx += float64(x[i]) * float64(x[i])
		}
		if rel := math.Sqrt(se / sx); !(rel <= lim) { // NaN fails too
			t.Errorf("%s: relative RMS error %.4f > %.4f", dt, rel, lim)
		}
	}
}

func benchData(dt DType, n int) ([]float32, []byte) {
	r := rand.New(rand.NewPCG(5, 6))
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	sz, _ := dt.RowSize(n)
	q := make([]byte, sz)
	quantizeAny(dt, x, q)
	return x, q
}

// BenchmarkDequantize reports GB/s of quantized bytes read.
func BenchmarkDequantize(b *testing.B) {
	const n = 1 << 16
	for _, dt := range WeightTypes() {
		b.Run(dt.String(), func(b *testing.B) {
			_, q := benchData(dt, n)
			y := make([]float32, n)
			b.SetBytes(int64(len(q)))
			for b.Loop() {
				Dequantize(dt, q, y)
			}
		})
	}
}

// BenchmarkDot reports GB/s of weight bytes read by the reference dot products.
func BenchmarkDot(b *testing.B) {
	const n = 1 << 14
	for _, dt := range WeightTypes() {
		b.Run(dt.String(), func(b *testing.B) {
			x, q := benchData(dt, n)
			vt, _ := VecDotType(dt)
			asz, _ := vt.RowSize(n)
			a := make([]byte, asz)
			QuantizeActivation(vt, x, a)
			b.SetBytes(int64(len(q)))
			for b.Loop() {
				Dot(dt, n, q, a)
			}
		})
	}
}

// TestCodecTable: each codec's descriptor is consistent: a weight type's activation type
// has a codec, its fallback has a smaller block, and KLevels (set exactly for the
// super-block weight types) decodes what Dequantize does: d·sc·q − dmin·mn.
func TestCodecTable(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	for _, dt := range Codecs() {
		c, _ := CodecOf(dt)
		if c.Dot != nil {
			if _, ok := CodecOf(c.Activation); !ok {
				t.Errorf("%s: activation type %s has no codec", dt, c.Activation)
			}
		}
		if c.Fallback != 0 && c.Fallback.BlockSize() >= dt.BlockSize() {
			t.Errorf("%s: fallback %s does not have a smaller block", dt, c.Fallback)
		}
		if (c.KLevels != nil) != (c.Dot != nil && dt.BlockSize() == QK_K) {
			t.Errorf("%s: KLevels set %v, want it exactly for super-block weight types", dt, c.KLevels != nil)
		}
		if c.KLevels == nil {
			continue
		}
		x := make([]float32, 4*QK_K)
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		b := make([]byte, 4*dt.TypeSize())
		want := make([]float32, len(x))
		quantizeAny(dt, x, b)
		Dequantize(dt, b, want)
		var q [QK_K]int32
		var sc, mn [16]int32
		for s := 0; s < 4; s++ {
			d, dmin := c.KLevels(b[s*dt.TypeSize():], &q, &sc, &mn)
			for i := 0; i < QK_K; i++ {
				got := d*float32(sc[i/16])*float32(q[i]) - dmin*float32(mn[i/16])
				if w := want[s*QK_K+i]; math.Abs(float64(got-w)) > 1e-5*math.Max(1, math.Abs(float64(w))) {
					t.Fatalf("%s super-block %d element %d: KLevels give %v, Dequantize %v", dt, s, i, got, w)
				}
			}
		}
	}
}
