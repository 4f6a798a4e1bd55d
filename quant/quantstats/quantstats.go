// Package quantstats measures what quantizing a weight costs: quantize, dequantize and
// compare with the original, as llama.cpp's quantize-stats does (examples/quantize-stats
// of c392e50: RMSE, maximum error, and the median and 95th percentile read from a
// 150-bucket histogram of |error| over [0, 0.03)), plus exact percentiles and the error
// relative to the tensor's RMS, which compares tensors of different scales.
package quantstats

import (
	"fmt"
	"math"
	"slices"

	"github.com/inferno-go/inferno/tensor"
)

// Histogram geometry of quantize-stats (HISTOGRAM_BUCKETS, HISTOGRAM_RANGE).
const (
	HistBuckets = 150
	HistRange   = 0.03
)

// Errors accumulates one or more tensors' round-trip errors.
type Errors struct {
	N        int64
	SumSq    float64 // Σ (x - q(x))²
	SumSqRef float64 // Σ x²
	Max      float64 // max |x - q(x)|
	Hist     [HistBuckets]uint64
	abs      []float32 // every |error| (for the exact percentiles), when kept
}

// Add merges o into e (quantize-stats' combine_error_stats).
func (e *Errors) Add(o *Errors) {
	e.N += o.N
	e.SumSq += o.SumSq
	e.SumSqRef += o.SumSqRef
	e.Max = max(e.Max, o.Max)
	for i := range e.Hist {
		e.Hist[i] += o.Hist[i]
	}
	e.abs = append(e.abs, o.abs...)
}

// RMSE is sqrt(mean squared error).
func (e *Errors) RMSE() float64 { return math.Sqrt(e.SumSq / float64(e.N)) }

// RMS is the original values' root mean square.
func (e *Errors) RMS() float64 { return math.Sqrt(e.SumSqRef / float64(e.N)) }

// RelRMSE is RMSE / RMS (0 for an all-zero tensor).
func (e *Errors) RelRMSE() float64 {
	if e.SumSqRef == 0 {
		return 0
	}
	return math.Sqrt(e.SumSq / e.SumSqRef)
}

// HistQuantile is quantize-stats' find_quantile: the upper edge of the first bucket at
// which the cumulative count reaches q of the total (+Inf if none).
func (e *Errors) HistQuantile(q float64) float64 {
	var sum float64
	for _, c := range e.Hist {
		sum += float64(c)
	}
	var acc float64
	for i, c := range e.Hist {
		acc += float64(c)
		if acc >= sum*q {
			return float64(i+1) * HistRange / HistBuckets
		}
	}
	return math.Inf(1)
}

// Percentile is the exact q-quantile of |error| (nearest rank), or NaN when the errors
// were not kept.
func (e *Errors) Percentile(q float64) float64 {
	if len(e.abs) == 0 {
		return math.NaN()
	}
	if !slices.IsSorted(e.abs) {
		slices.Sort(e.abs)
	}
	i := int(math.Ceil(q*float64(len(e.abs)))) - 1
	return float64(e.abs[min(max(i, 0), len(e.abs)-1)])
}

// addPair adds one original value and its round trip (update_error_stats).
func (e *Errors) addPair(x, y float32, keep bool) {
	d := float64(x) - float64(y)
	e.SumSq += d * d
	e.SumSqRef += float64(x) * float64(x)
	a := math.Abs(d)
	e.Max = max(e.Max, a)
	b := int(math.Floor(a / HistRange * HistBuckets))
	e.Hist[min(max(b, 0), HistBuckets-1)]++
	if keep {
		e.abs = append(e.abs, float32(a))
	}
	e.N++
}

// RoundTrip quantizes rows x cols values (row-major) to t row by row, dequantizes them
// and returns the errors; keep keeps every |error| for Percentile.
func RoundTrip(t tensor.DType, data []float32, rows, cols int, keep bool) (*Errors, error) {
	if len(data) != rows*cols {
		return nil, fmt.Errorf("quantstats: %d values for %d x %d", len(data), rows, cols)
	}
	rb, err := t.RowSize(cols)
	if err != nil {
		return nil, err
	}
	q := make([]byte, rb)
	back := make([]float32, cols)
	e := &Errors{}
	if keep {
		e.abs = make([]float32, 0, len(data))
	}
	for r := 0; r < rows; r++ {
		row := data[r*cols : (r+1)*cols]
		if err := tensor.Quantize(t, row, q); err != nil {
			return nil, err
		}
		if err := tensor.Dequantize(t, q, back); err != nil {
			return nil, err
		}
		for i, x := range row {
			e.addPair(x, back[i], keep)
		}
	}
	return e, nil
}
