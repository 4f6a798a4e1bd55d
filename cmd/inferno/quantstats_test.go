package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/inferno-go/inferno/gguf"
	"github.com/inferno-go/inferno/internal/refdata"
	"github.com/inferno-go/inferno/tensor"
)

// TestQuantStatsDirect runs quant-stats on qmini for two types and checks one tensor's
// figures against a direct round trip through the tensor codecs, and the plot files.
func TestQuantStatsDirect(t *testing.T) {
	model := refdata.Path(t, "models", "qmini", "qmini-F32.gguf")
	dir := t.TempDir()
	js, svg, png := filepath.Join(dir, "qs.json"), filepath.Join(dir, "qs.svg"), filepath.Join(dir, "qs.png")
	out, err := runCLI(t, "quant-stats", "-m", model, "--type", "Q4_K", "--type", "Q8_0", "--output-json", js, "--plot", svg)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, "Q4_K::blk.1.ffn_down.weight") || !strings.Contains(out, "\nQ8_0     ") {
		t.Errorf("output:\n%s", out)
	}
	var res struct {
		Types []TypeStats `json:"types"`
	}
	raw, err := os.ReadFile(js)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Types) != 2 || res.Types[0].Type != "Q4_K" || len(res.Types[0].Tensors) != 16 || len(res.Types[0].PerLayer) != 2 {
		t.Fatalf("json: %d types", len(res.Types))
	}
	// direct: blk.1.ffn_down.weight (768 x 256) through Q4_K
	f, err := gguf.Open(model)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ti, err := f.Tensor("blk.1.ffn_down.weight")
	if err != nil {
		t.Fatal(err)
	}
	cols, rows := int(ti.Dims[0]), int(ti.Dims[1])
	w := make([]float32, rows*cols)
	tensor.DequantizeF32(f.TensorData(ti), w)
	rb, _ := tensor.Q4_K.RowSize(cols)
	q, back := make([]byte, rb), make([]float32, cols)
	var se, sx, mx float64
	var abs []float64
	for r := 0; r < rows; r++ {
		row := w[r*cols : (r+1)*cols]
		tensor.Quantize(tensor.Q4_K, row, q)
		tensor.Dequantize(tensor.Q4_K, q, back)
		for i := range row {
			d := float64(row[i]) - float64(back[i])
			se += d * d
			sx += float64(row[i]) * float64(row[i])
			mx = max(mx, math.Abs(d))
			abs = append(abs, math.Abs(d))
		}
	}
	slices.Sort(abs)
	n := float64(len(abs))
	var got ErrorStats
	for _, s := range res.Types[0].Tensors {
		if s.Tensor == "blk.1.ffn_down.weight" {
			got = s
		}
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"rmse", float64(got.RMSE), math.Sqrt(se / n)},
		{"max", float64(got.MaxErr), mx},
		{"relative rmse", float64(got.RelRMSE), math.Sqrt(se / sx)},
		{"p99", float64(*got.P99), abs[int(math.Ceil(0.99*n))-1]},
		{"p50", float64(*got.P50), abs[int(math.Ceil(0.5*n))-1]},
	} {
		if math.Abs(c.got-c.want) > 1e-9*max(1, math.Abs(c.want)) {
			t.Errorf("%s = %.10g, direct %.10g", c.name, c.got, c.want)
		}
	}
	if got.Layer != 1 {
		t.Errorf("layer %d", got.Layer)
	}
	// Q8_0's error is far below Q4_K's
	if !(res.Types[1].Total.RelRMSE < res.Types[0].Total.RelRMSE/5) {
		t.Errorf("Q8_0 relative RMSE %v vs Q4_K %v", res.Types[1].Total.RelRMSE, res.Types[0].Total.RelRMSE)
	}
	b, err := os.ReadFile(svg)
	if err != nil || !bytes.HasPrefix(b, []byte("<?xml")) || !bytes.Contains(b, []byte("<svg")) || !bytes.Contains(b, []byte("Q4_K")) {
		t.Errorf("svg plot: %v, %d bytes", err, len(b))
	}
	if _, err := runCLI(t, "quant-stats", "-m", model, "--type", "Q8_0", "--plot", png); err != nil {
		t.Fatal(err)
	}
	b, err = os.ReadFile(png)
	if err != nil || !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("png plot: %v, %d bytes", err, len(b))
	}
}

func TestQuantStatsErrors(t *testing.T) {
	qmodel := refdata.Path(t, "models", "stories260K-Q4_K_M-mixed.gguf")
	model := refdata.Path(t, "models", "qmini", "qmini-F32.gguf")
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-m", qmodel}, "from a float model"},
		{[]string{"-m", model, "--type", "Q9_X"}, "--type"},
		{[]string{"-m", model, "--plot", filepath.Join(dir, "x.pdf")}, "as .svg or .png"},
		{[]string{"-m", filepath.Join(dir, "none.gguf")}, "none.gguf"},
	} {
		_, err := runCLI(t, append([]string{"quant-stats"}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.args, err, c.want)
		}
	}
}
