package plots

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRooflineAndErrorPlots(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	series := map[string][]Point{
		"matvec":     {{"Q4_K", 0.5625, 410}, {"Q8_0", 1.0625, 700}, {"F16", 2, 820}},
		"matvec_mma": {{"Q4_K", 0.5625, 120}},
	}
	svg := filepath.Join(dir, "r.svg")
	if err := Roofline(ctx, svg, "test roof", series, []string{"matvec", "matvec_mma"}, 900); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(svg)
	for _, want := range []string{"<?xml", "<svg", "Q8_0", "memory bandwidth 900 GB/s", "matvec_mma"} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("roofline svg lacks %q", want)
		}
	}
	png := filepath.Join(dir, "e.png")
	if err := ErrorPerLayer(ctx, png, "err", []Series{{Name: "Q4_K", X: []float64{0, 1, 2}, Y: []float64{7, 7.5, 6.9}}}); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(png)
	if !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) || len(b) < 1000 {
		t.Errorf("png: %d bytes", len(b))
	}
	for _, c := range []struct {
		err  error
		want string
	}{
		{Roofline(ctx, filepath.Join(dir, "r.pdf"), "", series, []string{"matvec"}, 0), "as .svg or .png"},
		{Roofline(ctx, filepath.Join(dir, "n.svg"), "", nil, nil, 0), "nothing to plot"},
		{ErrorPerLayer(ctx, filepath.Join(dir, "z.svg"), "", []Series{{Name: "F32", X: []float64{0}, Y: []float64{0}}}), "logarithmic"},
		{ErrorPerLayer(ctx, filepath.Join(dir, "y.svg"), "", nil), "nothing to plot"},
	} {
		if c.err == nil || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("error %v, want %q", c.err, c.want)
		}
	}
	if names, _ := os.ReadDir(dir); len(names) != 2 {
		t.Errorf("%d files in the folder, want the 2 plots (no temporaries, no failed outputs)", len(names))
	}
}
