package quantstats

import (
	"math"
	"testing"

	"github.com/inferno-go/inferno/tensor"
)

// TestHistQuantile: quantize-stats' find_quantile on a known histogram.
func TestHistQuantile(t *testing.T) {
	e := &Errors{}
	for _, v := range []float32{0.0001, 0.0001, 0.0003, 0.0005, 0.05} {
		e.addPair(v, 0, true)
	}
	// buckets of 0.0002: 0.0001 -> 0, 0.0003 -> 1, 0.0005 -> 2, 0.05 -> last
	if got := e.HistQuantile(0.5); math.Abs(got-0.0004) > 1e-12 {
		t.Errorf("median< %v, want 0.0004", got)
	}
	if got := e.HistQuantile(0.95); math.Abs(got-HistRange) > 1e-12 {
		t.Errorf("95pct< %v, want %v", got, HistRange)
	}
	if got := e.Percentile(0.5); math.Abs(got-0.0003) > 1e-9 {
		t.Errorf("exact median %v", got)
	}
	if e.Max != float64(float32(0.05)) || e.N != 5 {
		t.Errorf("max %v n %d", e.Max, e.N)
	}
}

// TestRoundTripF16: F16's round trip error is at most half an F16 step.
func TestRoundTripF16(t *testing.T) {
	data := make([]float32, 4*64)
	for i := range data {
		data[i] = float32(math.Sin(float64(i))) * 3
	}
	e, err := RoundTrip(tensor.F16, data, 4, 64, true)
	if err != nil {
		t.Fatal(err)
	}
	if e.N != 256 || e.Max > 3*math.Pow(2, -11) || e.RelRMSE() == 0 || e.RelRMSE() > 1e-3 {
		t.Errorf("n %d max %v rel %v", e.N, e.Max, e.RelRMSE())
	}
	if _, err := RoundTrip(tensor.Q4_K, data, 4, 64, false); err == nil {
		t.Error("Q4_K of 64-wide rows: no error")
	}
}
