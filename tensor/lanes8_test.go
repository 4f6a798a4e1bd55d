package tensor

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// TestFMAF32: fmaf32 is x·y + z rounded once, against exact big.Float arithmetic, on
// random operands and on sums that land half-way between two float32 values after
// rounding to float64 (the double-rounding case).
func TestFMAF32(t *testing.T) {
	exact := func(x, y, z float32) float32 {
		p := new(big.Float).SetPrec(200).Mul(big.NewFloat(float64(x)), big.NewFloat(float64(y)))
		p.Add(p, big.NewFloat(float64(z)))
		f, _ := p.Float32()
		return f
	}
	r := rand.New(rand.NewPCG(1, 1))
	check := func(x, y, z float32) {
		if got, want := fmaf32(x, y, z), exact(x, y, z); math.Float32bits(got) != math.Float32bits(want) {
			t.Fatalf("fmaf32(%g, %g, %g) = %g, want %g", x, y, z, got, want)
		}
	}
	for i := 0; i < 100000; i++ {
		x := float32(r.NormFloat64() * math.Pow(2, float64(r.IntN(20)-10)))
		y := float32(r.NormFloat64() * math.Pow(2, float64(r.IntN(20)-10)))
		z := float32(r.NormFloat64() * math.Pow(2, float64(r.IntN(20)-10)))
		check(x, y, z)
	}
	// x·y = 2^-24·(1 + r·2^-47) with 0 < r < 2^18: 1 + x·y rounds to float64 as the
	// float32 midpoint 1 + 2^-24, which then rounds to even (1) though the true sum is
	// above it (1 + 2^-23). Mantissas M1·M2 = 2^47 + r, found by search.
	found := 0
	for m1 := uint64(1<<23 + 12345); found < 200 && m1 < 1<<24; m1 += 7 {
		m2 := (uint64(1)<<47 + m1 - 1) / m1
		if m2 >= 1<<24 || m1*m2-1<<47 >= 1<<18 || m1*m2 == 1<<47 {
			continue
		}
		found++
		x, y := float32(math.Ldexp(float64(m1), -23)), float32(math.Ldexp(float64(m2), -48))
		if got := fmaf32(x, y, 1); got != 1+1.0/(1<<23) {
			t.Fatalf("fmaf32(%g, %g, 1) = %.10g, want 1 + 2^-23", x, y, got)
		}
		check(x, y, 1)
		check(-x, y, -1)
	}
	if found < 200 {
		t.Fatalf("found %d double-rounding cases", found)
	}
}
