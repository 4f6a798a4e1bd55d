package cpu

import (
	"math"
	"testing"
)

// glibc 2.36's sincosf on x86-64 (its FMA variant), including arguments where it is not
// correctly rounded (all but the last four of these) and the large-argument reduction.
var glibcSinCosF = [][3]uint32{
	{0xc3f9a17f, 0xbe7edf7a, 0xbf77f18a}, // -499.261688
	{0xc3b0761e, 0xbf5fdf87, 0x3ef85431}, // -352.922791
	{0xc34ea654, 0x3f24043a, 0x3f448e8c}, // -206.649719
	{0xc270a890, 0x3ee9dca6, 0xbf63bc1e}, // -60.1646118
	{0x42ac4e00, 0xbf7892e2, 0xbe74da8b}, // 86.1523438
	{0x4368853c, 0x3d2e65c9, 0x3f7fc492}, // 232.520447
	{0x43bd62c4, 0x3f7a6471, 0xbe552777}, // 378.771606
	{0x4403487a, 0xbeef5d9d, 0xbf624cfc}, // 525.132446
	{0x4427e70e, 0xbf231257, 0x3f455768}, // 671.610229
	{0x444c7798, 0x3f5ea3a2, 0x3efcba3b}, // 817.868652
	{0x447111f6, 0x3e3fafd2, 0xbf7b7984}, // 964.28064
	{0x448ae0b1, 0xbf646737, 0x3ee73d72}, // 1111.02161
	{0x42080000, 0x3f0771f6, 0xbf593be7}, // 34 (RoPE's angle at position 34)
	{0x49742400, 0xbeb33259, 0x3f6fcefd}, // 1000000
	{0xc49a522b, 0xbd9feaa5, 0xbf7f37e7}, // -1234.56775
	{0x3f000000, 0x3ef57744, 0x3f60a940}, // 0.5
}

func TestSinCosFGlibc(t *testing.T) {
	for _, v := range glibcSinCosF {
		x := math.Float32frombits(v[0])
		s, c := sinCosF(x)
		if math.Float32bits(s) != v[1] || math.Float32bits(c) != v[2] {
			t.Errorf("sinCosF(%v) = %v, %v; glibc %v, %v", x, s, c, math.Float32frombits(v[1]), math.Float32frombits(v[2]))
		}
	}
	// everywhere within one ulp of the exact values
	for x := float32(-3000); x < 3000; x += 0.0377 {
		s, c := sinCosF(x)
		ws, wc := math.Sin(float64(x)), math.Cos(float64(x))
		if math.Abs(float64(s)-ws) > 0x1p-23*max(math.Abs(ws), 0x1p-30) || math.Abs(float64(c)-wc) > 0x1p-23*max(math.Abs(wc), 0x1p-30) {
			t.Fatalf("sinCosF(%v) = %v, %v; exact %v, %v", x, s, c, ws, wc)
		}
	}
	if s, c := sinCosF(float32(math.Inf(1))); s == s || c == c {
		t.Errorf("sinCosF(+Inf) = %v, %v, want NaN", s, c)
	}
}
