// Package plots draws the research commands' figures with gonum/plot: quantization
// error per layer and type (quant-stats), and kernel throughput against bytes per
// weight under the memory-bandwidth roof (kernels bench). Files are SVG or PNG, chosen
// by the extension, and written through internal/atomicfile.
package plots

import (
	"context"
	"fmt"
	"image/color"
	"io"
	"math"
	"path/filepath"
	"strings"

	"github.com/inferno-go/inferno/internal/atomicfile"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// CheckFormat accepts a .svg or .png path.
func CheckFormat(path string) error {
	_, err := format(path)
	return err
}

func format(path string) (string, error) {
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".svg", ".png":
		return ext[1:], nil
	default:
		return "", fmt.Errorf("%s: the plot is written as .svg or .png, not %q", path, ext)
	}
}

// save writes p to path (format from its extension) under a temporary name first.
func save(ctx context.Context, p *plot.Plot, path string, w, h vg.Length) error {
	f, err := format(path)
	if err != nil {
		return err
	}
	wt, err := p.WriterTo(w, h, f)
	if err != nil {
		return err
	}
	return atomicfile.Write(ctx, path, func(out io.Writer) error {
		_, err := wt.WriteTo(out)
		return err
	}, nil)
}

// Series is one named line or point set.
type Series struct {
	Name string
	X, Y []float64
}

func xys(s Series) plotter.XYs {
	pts := make(plotter.XYs, 0, len(s.X))
	for i := range s.X {
		pts = append(pts, plotter.XY{X: s.X[i], Y: s.Y[i]})
	}
	return pts
}

// ErrorPerLayer draws each type's relative RMSE (in percent) per layer, on a
// logarithmic axis (the types span orders of magnitude).
func ErrorPerLayer(ctx context.Context, path, title string, series []Series) error {
	if len(series) == 0 {
		return fmt.Errorf("nothing to plot")
	}
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "layer (blk.N)"
	p.Y.Label.Text = "RMSE / RMS of the weights (%)"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.X.Tick.Marker = integerTicks{}
	p.Legend.Top = true
	p.Legend.Left = false
	p.Add(plotter.NewGrid())
	lo, hi := math.Inf(1), math.Inf(-1)
	xlo, xhi := math.Inf(1), math.Inf(-1)
	for i, s := range series {
		pts := xys(s)
		for _, pt := range pts {
			if !(pt.Y > 0) || math.IsInf(pt.Y, 0) {
				return fmt.Errorf("series %s: value %v cannot be drawn on a logarithmic axis", s.Name, pt.Y)
			}
			lo, hi = min(lo, pt.Y), max(hi, pt.Y)
			xlo, xhi = min(xlo, pt.X), max(xhi, pt.X)
		}
		l, sc, err := plotter.NewLinePoints(pts)
		if err != nil {
			return fmt.Errorf("series %s: %w", s.Name, err)
		}
		l.Color = plotutil.Color(i)
		l.Dashes = plotutil.Dashes(i / 7)
		sc.Color = l.Color
		sc.Shape = plotutil.Shape(i)
		p.Add(l, sc)
		p.Legend.Add(s.Name, l, sc)
	}
	if math.IsInf(lo, 0) {
		return fmt.Errorf("nothing to plot: no layer has a value")
	}
	// room above the lines for the legend (a log axis: a factor, not an offset)
	p.Y.Min, p.Y.Max = lo/2, hi*math.Pow(4, float64(len(series))/3)
	p.X.Min, p.X.Max = xlo-0.3, xhi+0.3
	return save(ctx, p, path, 8*vg.Inch, 5*vg.Inch)
}

// integerTicks labels whole numbers only (layer indices).
type integerTicks struct{}

func (integerTicks) Ticks(lo, hi float64) []plot.Tick {
	step := math.Max(1, math.Ceil((hi-lo)/12))
	var ts []plot.Tick
	for v := math.Ceil(lo); v <= hi; v += step {
		ts = append(ts, plot.Tick{Value: v, Label: fmt.Sprintf("%.0f", v+0)}) // +0: no "-0"
	}
	return ts
}

// Point is one kernel measurement: its weights' bytes per weight and throughput.
type Point struct {
	Label          string
	BytesPerWeight float64
	GBs            float64
}

// Roofline draws each series' points (bytes per weight against GB/s of weights read,
// one labelled point per type) and, when roofGBs > 0, the memory bandwidth as a
// horizontal roof.
func Roofline(ctx context.Context, path, title string, series map[string][]Point, order []string, roofGBs float64) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "bytes per weight"
	p.Y.Label.Text = "weights read (GB/s)"
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	n := 0
	maxX := 0.0
	for i, name := range order {
		pts := series[name]
		if len(pts) == 0 {
			continue
		}
		var xy plotter.XYs
		var labels []string
		for _, pt := range pts {
			if !(pt.GBs >= 0) || !(pt.BytesPerWeight > 0) || math.IsInf(pt.GBs, 0) {
				return fmt.Errorf("series %s: point %s (%v B/weight, %v GB/s) cannot be drawn", name, pt.Label, pt.BytesPerWeight, pt.GBs)
			}
			xy = append(xy, plotter.XY{X: pt.BytesPerWeight, Y: pt.GBs})
			labels = append(labels, pt.Label)
			maxX = max(maxX, pt.BytesPerWeight)
		}
		sc, err := plotter.NewScatter(xy)
		if err != nil {
			return fmt.Errorf("series %s: %w", name, err)
		}
		sc.Color = plotutil.Color(i)
		sc.Shape = plotutil.Shape(i)
		sc.Radius = vg.Points(3)
		lb, err := plotter.NewLabels(plotter.XYLabels{XYs: xy, Labels: labels})
		if err != nil {
			return err
		}
		for j := range lb.TextStyle {
			lb.TextStyle[j].Font.Size = vg.Points(6)
			lb.TextStyle[j].Color = color.Gray{Y: 90}
		}
		lb.Offset = vg.Point{X: vg.Points(4), Y: vg.Points(2)}
		p.Add(sc, lb)
		p.Legend.Add(name, sc)
		n++
	}
	if n == 0 {
		return fmt.Errorf("nothing to plot: no weight kernel measured")
	}
	if roofGBs > 0 {
		roof, err := plotter.NewLine(plotter.XYs{{X: 0, Y: roofGBs}, {X: maxX * 1.15, Y: roofGBs}})
		if err != nil {
			return err
		}
		roof.Color = color.RGBA{R: 200, A: 255}
		roof.Width = vg.Points(1.5)
		roof.Dashes = []vg.Length{vg.Points(6), vg.Points(3)}
		p.Add(roof)
		p.Legend.Add(fmt.Sprintf("memory bandwidth %.0f GB/s", roofGBs), roof)
	}
	p.X.Min = 0
	p.Y.Min = 0
	p.Legend.ThumbnailWidth = vg.Points(20)
	return save(ctx, p, path, 8*vg.Inch, 5*vg.Inch)
}
