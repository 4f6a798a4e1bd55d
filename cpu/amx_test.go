package cpu

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"
	"unsafe"

	"github.com/inferno-go/inferno/tensor"
)

// TestAMXTileConfig: amxQ8_0Config is laid out as the Intel SDM's LDTILECFG operand
// says (palette 1 at byte 0, start_row 0, bytes 2–15 reserved zero, tile i's bytes per
// row at 16+2i little-endian, its rows at 48+i, unused tiles zero), within palette 1's
// limits (16 rows, 64 bytes per row), tiles 3–5 as 0–2, and its shapes are a TDPBSSD's: A M×K bytes,
// B K/4 rows × N·4 bytes, C M × N·4 bytes.
func TestAMXTileConfig(t *testing.T) {
	c := amxQ8_0Config
	if c[0] != 1 || c[1] != 0 {
		t.Fatalf("palette %d start_row %d; want 1, 0", c[0], c[1])
	}
	for i := 2; i < 16; i++ {
		if c[i] != 0 {
			t.Fatalf("reserved byte %d is %d", i, c[i])
		}
	}
	shape := func(i int) amxTileShape {
		return amxTileShape{int(c[48+i]), int(binary.LittleEndian.Uint16(c[16+2*i:]))}
	}
	for i := 0; i < 16; i++ {
		want := amxTileShape{}
		if i < len(amxQ8_0Shapes) {
			want = amxQ8_0Shapes[i]
		}
		if got := shape(i); got != want || got.rows > 16 || got.colsb > 64 {
			t.Errorf("tile %d: %d rows × %d bytes; want %d × %d, at most 16 × 64", i, got.rows, got.colsb, want.rows, want.colsb)
		}
	}
	for i := 3; i < 6; i++ { // the second block's tiles
		if shape(i) != shape(i-3) {
			t.Errorf("tile %d: %v; tile %d is %v", i, shape(i), i-3, shape(i-3))
		}
	}
	a, b, cc := shape(0), shape(1), shape(2)
	if a != (amxTileShape{amxTokens, 32}) || b.rows != a.colsb/4 || cc.rows != a.rows || cc.colsb != b.colsb || cc.colsb != 8*4 {
		t.Errorf("tiles A %v B %v C %v: not 16 tokens × 32 quants times 8 rows", a, b, cc)
	}
}

// amxTile is a tile register's contents: rows of colsb bytes.
type amxTile [][]byte

// amxTileLoad is TILELOADD: shape.rows rows of shape.colsb bytes, stride bytes apart.
func amxTileLoad(mem []byte, base, stride int, shape amxTileShape) amxTile {
	tl := make(amxTile, shape.rows)
	for i := range tl {
		tl[i] = mem[base+i*stride : base+i*stride+shape.colsb]
	}
	return tl
}

// amxTDPBSSD is TDPBSSD as the SDM defines it: c[m][n] += Σ_k Σ_{b<4} a[m][4k+b]·b[k][4n+b]
// over signed bytes, c's elements int32.
func amxTDPBSSD(c [][]int32, a, b amxTile) error {
	if len(a) != len(c) || len(b) != len(a[0])/4 || len(b[0]) != 4*len(c[0]) {
		return fmt.Errorf("tdpbssd: A %d×%d, B %d×%d, C %d×%d int32 do not match", len(a), len(a[0]), len(b), len(b[0]), len(c), len(c[0]))
	}
	for m := range c {
		for n := range c[m] {
			for k := range b {
				for i := 0; i < 4; i++ {
					c[m][n] += int32(int8(a[m][4*k+i])) * int32(int8(b[k][4*n+i]))
				}
			}
		}
	}
	return nil
}

// amxQ4_0Unpack is the Q4_0 kernel's wq in Go: a q4x8 block's 128 bytes of nibbles q,
// less 8, as signed bytes in the q8x8 order (B's row k: quants 4k..4k+3 of the eight
// rows, the low nibbles of vector k for k < 4, the high ones of vector k−4 after).
func amxQ4_0Unpack(q []byte) []byte {
	wq := make([]byte, 256)
	for v := 0; v < 4; v++ {
		for i := 0; i < 32; i++ {
			wq[32*v+i] = byte(int8(q[32*v+i]&15) - 8)
			wq[128+32*v+i] = byte(int8(q[32*v+i]>>4) - 8)
		}
	}
	return wq
}

// amxModel is dotQ8_0x8x16AMX (dt Q8_0) or dotQ4_0x8x16AMX (Q4_0) in Go, step for step:
// the tiles from cfg, the group w (nb blocks of q8x8 or q4x8), the sixteen tokens' Q8_0
// rows in act astride bytes apart (their quants at +2 per block), their q8ScaleSums sa
// (nb per token); per block B as the kernel loads it, TILEZERO, TDPBSSD, then token j's
// results times the rows' scales times its scale, fused into its accumulators.
func amxModel(cfg [64]byte, dt tensor.DType, nb int, w, act []byte, astride int, sa []q8ScaleSum) (out [amxTokens][8]float32, err error) {
	shape := func(i int) amxTileShape {
		return amxTileShape{int(cfg[48+i]), int(binary.LittleEndian.Uint16(cfg[16+2*i:]))}
	}
	if cfg[0] != 1 {
		return out, fmt.Errorf("palette %d", cfg[0])
	}
	bb := map[tensor.DType]int{tensor.Q8_0: 272, tensor.Q4_0: 144}[dt]
	if bb == 0 {
		return out, fmt.Errorf("no AMX kernel for %s", dt)
	}
	as, bs, cs := shape(0), shape(1), shape(2)
	for i := 0; i < nb; i++ {
		a := amxTileLoad(act, 34*i+2, astride, as)
		var b amxTile
		if dt == tensor.Q8_0 {
			b = amxTileLoad(w, bb*i+16, 32, bs)
		} else {
			b = amxTileLoad(amxQ4_0Unpack(w[bb*i+16:bb*i+bb]), 0, 32, bs)
		}
		c := make([][]int32, cs.rows)
		for m := range c {
			c[m] = make([]int32, cs.colsb/4)
		}
		if err := amxTDPBSSD(c, a, b); err != nil {
			return out, err
		}
		if len(c) != amxTokens || len(c[0]) != 8 {
			return out, fmt.Errorf("C tile %d×%d, want %d×8", len(c), len(c[0]), amxTokens)
		}
		for j := range amxTokens {
			for r := range 8 {
				wd := tensor.FP16ToFP32(binary.LittleEndian.Uint16(w[bb*i+2*r:]))
				out[j][r] = fma32(float32(c[j][r]), wd*sa[j*nb+i].d, out[j][r])
			}
		}
	}
	return out, nil
}

// TestAMXModels: the Go model of each AMX kernel equals tensor's reference dot (within
// the activation quantization's error; exactly where the scales are 1 and the sums
// integers), gives the avx512vnni one-token kernel's bits where this CPU runs it, and,
// where the CPU has AMX, the kernel gives the model's bits.
func TestAMXModels(t *testing.T) {
	for _, dt := range []tensor.DType{tensor.Q8_0, tensor.Q4_0} {
		xt := x8Types[dt]
		if xt == nil {
			t.Logf("SKIP %s: no interleaved layout in this build (noasm, or no AVX2/NEON): the model reads its repack", dt)
			continue
		}
		testAMXModel(t, dt, xt)
		if xt.sets[SetAVX512VNNI] == nil {
			t.Logf("%s: no avx512vnni kernels here: the model is checked against the reference only", dt)
		}
		if xt.sets[SetAVX512AMX] == nil {
			t.Logf("%s: no AMX here (kernel sets %v): the kernel itself is not compared with the model", dt, KernelSets())
		}
	}
}

func testAMXModel(t *testing.T, dt tensor.DType, xt *x8Type) {
	r := rand.New(rand.NewPCG(23, 23))
	const rows = 16
	bs := dt.TypeSize()
	for _, exact := range []bool{false, true} {
		for _, n := range []int{32, 96, 2048} {
			nb := n / 32
			rb := bs * nb
			raw := make([]byte, rows*rb)
			x := randVec(r, amxTokens*n)
			for row := 0; row < rows; row++ {
				if exact {
					for i := 0; i < rb; i++ {
						raw[row*rb+i] = byte(r.Uint32())
					}
					for b := 0; b < nb; b++ {
						raw[row*rb+bs*b], raw[row*rb+bs*b+1] = 0x00, 0x3c // fp16 1
					}
				} else {
					quantizeAny(dt, randVec(r, n), raw[row*rb:])
				}
			}
			if exact {
				for i := range x {
					x[i] = float32(r.IntN(17) - 8)
					if i%32 == 0 {
						x[i] = float32(127 * (1 - 2*r.IntN(2)))
					}
				}
			}
			gb := xt.groupBytes(nb)
			w := make([]byte, rows/8*gb)
			xt.repack(w, raw, nb, 0, rows)
			arb := 34*nb + 34 // a block apart more than a row: the stride must be used
			mm := &matmulOp{ntok: amxTokens, k: n, vt: tensor.Q8_0, arb: arb, act: make([]byte, amxTokens*arb),
				x: &Tensor{rows: amxTokens, cols: n, dt: tensor.F32, f32: x}}
			vnni := &x8Kernels{side: sideScaleSums, sideLen: 1, prepare: prepareQ8_0ScaleSums}
			if k := xt.sets[SetAVX512VNNI]; k != nil {
				vnni = k
			}
			amx := xt.sets[SetAVX512AMX]
			mm.setX8(xt, vnni, &sideBufs{})
			for tk := 0; tk < amxTokens; tk++ {
				vnni.prepare(mm, tk)
			}
			for g := 0; g < rows/8; g++ {
				got, err := amxModel(amxQ8_0Config, dt, nb, w[g*gb:(g+1)*gb], mm.act, arb, mm.side.scaleSums)
				if err != nil {
					t.Fatal(err)
				}
				var kernel [amxTokens][8]float32
				if amx != nil {
					amx.many(mm, &w[g*gb], 0, &kernel[0][0], 32)
				}
				for tk := 0; tk < amxTokens; tk++ {
					var one [8]float32
					if vnni.one != nil {
						vnni.one(mm, &w[g*gb], tk, &one[0], 32)
					}
					for ri := 0; ri < 8; ri++ {
						row := 8*g + ri
						wr, at := raw[row*rb:(row+1)*rb], mm.actRow(tk)
						want, _ := tensor.Dot(dt, n, wr, at)
						tol := dotTol(dt, tensor.Q8_0, n, wr, at)
						if exact {
							tol = 0
						}
						if d := math.Abs(float64(got[tk][ri] - want)); d > tol {
							t.Errorf("%s exact=%v n=%d row %d token %d: model %v, reference %v", dt, exact, n, row, tk, got[tk][ri], want)
						}
						if vnni.one != nil && math.Float32bits(one[ri]) != math.Float32bits(got[tk][ri]) {
							t.Errorf("%s exact=%v n=%d row %d token %d: model %v, avx512vnni kernel %v: not the same bits", dt, exact, n, row, tk, got[tk][ri], one[ri])
						}
						if amx != nil && math.Float32bits(kernel[tk][ri]) != math.Float32bits(got[tk][ri]) {
							t.Errorf("%s exact=%v n=%d row %d token %d: AMX kernel %v, model %v: not the same bits", dt, exact, n, row, tk, kernel[tk][ri], got[tk][ri])
						}
					}
				}
			}
		}
	}
}

// TestAMXEncodings: each tile instruction the AMX kernels spell as BYTEs (the .s
// files' "// instruction" comment above a BYTE line) disassembles, with binutils'
// objdump (which knows AMX), to exactly the instruction and registers its comment
// names; this needs no AMX CPU.
func TestAMXEncodings(t *testing.T) {
	objdump, err := exec.LookPath("objdump")
	if err != nil {
		t.Skip("SKIP: no binutils objdump to disassemble the AMX kernels' bytes with")
	}
	src, err := os.ReadFile("amx_linux_amd64.s")
	if errors.Is(err, fs.ErrNotExist) {
		t.Skip("SKIP: amx_linux_amd64.s is not beside this test binary (run from elsewhere); the check reads the source")
	}
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(src), "\n")
	found := 0
	for i := 0; i+1 < len(lines); i++ {
		comment, code := strings.TrimSpace(lines[i]), strings.TrimSpace(lines[i+1])
		if !strings.HasPrefix(comment, "// ") || !strings.HasPrefix(code, "BYTE ") {
			continue
		}
		want, _, _ := strings.Cut(strings.TrimPrefix(comment, "// "), ": ")
		var enc []byte
		for _, f := range strings.Split(code, ";") {
			var b byte
			if _, err := fmt.Sscanf(strings.TrimSpace(f), "BYTE $0x%x", &b); err != nil {
				t.Fatalf("line %d: %q: %v", i+2, f, err)
			}
			enc = append(enc, b)
		}
		bin := t.TempDir() + "/insn.bin"
		if err := os.WriteFile(bin, enc, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(objdump, "-D", "-b", "binary", "-m", "i386:x86-64", "--no-show-raw-insn", bin).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", objdump, err, out)
		}
		var got []string
		for _, l := range strings.Split(string(out), "\n") {
			if f := strings.SplitN(strings.TrimSpace(l), "\t", 2); len(f) == 2 && strings.HasSuffix(f[0], ":") {
				got = append(got, strings.Join(strings.Fields(f[1]), " "))
			}
		}
		if len(got) != 1 || got[0] != want {
			t.Errorf("line %d: % x disassembles to %q; the comment says %q", i+2, enc, got, want)
		}
		found++
	}
	if found < 7 {
		t.Errorf("%d BYTE-encoded instructions with comments; the Q8_0 kernel alone has 7", found)
	}
}

// TestMatMulX8Dispatch: matmulX8 takes a call's tokens sixteen, then four, then one at a
// time (the avx512amx set's many, mid and one kernels), each token's results in its own
// place: a set made here whose sixteen-token kernel is four calls of a four-token
// kernel gives the bits of that set's own MatMul, with the calls counted.
func TestMatMulX8Dispatch(t *testing.T) {
	xt := x8Types[tensor.Q8_0]
	var base *x8Kernels
	for _, set := range []string{SetAVX512VNNI, SetAVX2, SetNEON} {
		if xt == nil {
			break
		}
		if k := xt.sets[set]; k != nil && k.many != nil && k.tokens == 4 && base == nil {
			base = k
		}
	}
	if base == nil {
		t.Skip("SKIP: no four-token Q8_0 kernel in this build or CPU to build the sixteen-token one from")
	}
	var calls [3]int
	k := *base
	k.one = func(mm *matmulOp, w *byte, tk int, out *float32, ostride int) {
		calls[0]++
		base.one(mm, w, tk, out, ostride)
	}
	k.mid, k.midTokens = func(mm *matmulOp, w *byte, tk int, out *float32, ostride int) {
		calls[1]++
		base.many(mm, w, tk, out, ostride)
	}, 4
	k.many, k.tokens = func(mm *matmulOp, w *byte, tk int, out *float32, ostride int) {
		calls[2]++
		for i := 0; i < 16; i += 4 {
			base.many(mm, w, tk+i, (*float32)(unsafe.Add(unsafe.Pointer(out), i*ostride)), ostride)
		}
	}, 16
	const set = "test-dispatch"
	xt.sets[set] = &k
	defer delete(xt.sets, set)

	const rows, cols, ntok = 41, 512, 39 // six groups, the last partial; 16+16+4+1+1+1 tokens
	r := rand.New(rand.NewPCG(8, 8))
	raw := make([]byte, rows*cols/32*34)
	quantizeAny(tensor.Q8_0, randVec(r, rows*cols), raw)
	x := randVec(r, ntok*cols)
	var res [2][]float32
	for i, s := range []string{set, kernelSet} {
		if i == 1 {
			for name, kk := range xt.sets {
				if kk == base {
					s = name
				}
			}
		}
		b := newBackendSet(1, s)
		w, err := b.Weight("w", tensor.Q8_0, rows, cols, raw)
		if err != nil {
			t.Fatal(err)
		}
		out := b.Activation(ntok, rows)
		b.MatMul(out, w, act(b, ntok, cols, x))
		res[i] = append([]float32(nil), out.(*Tensor).Floats()...)
		b.Close()
	}
	if want := [3]int{3 * 6, 6, 2 * 6}; calls != want {
		t.Errorf("one, mid, many kernel calls %v; want %v", calls, want)
	}
	for i := range res[0] {
		if math.Float32bits(res[0][i]) != math.Float32bits(res[1][i]) {
			t.Fatalf("token %d row %d: %v through the sixteen/four/one dispatch, %v through the four-token set", i/rows, i%rows, res[0][i], res[1][i])
		}
	}
}
