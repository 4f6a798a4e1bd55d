package quant

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/inferno-go/inferno/gguf"
	"github.com/inferno-go/inferno/internal/refdata"
	"github.com/inferno-go/inferno/quant/imatrix"
	"github.com/inferno-go/inferno/tensor"
)

// imatTypes are the 20 files of refdata/quant-research: llama-quantize --imatrix
// qmini-story.imatrix qmini-F32.gguf qmini-<TYPE>-imat.gguf <TYPE>.
var imatTypes = []string{"IQ1_S", "IQ1_M", "IQ2_XXS", "IQ2_XS", "IQ2_S", "IQ2_M", "IQ3_XXS", "IQ3_XS", "IQ3_S", "IQ3_M",
	"TQ1_0", "TQ2_0", "IQ4_NL", "IQ4_XS", "Q2_K", "Q3_K_M", "Q4_0", "Q4_K_M", "Q5_K_M", "Q6_K"}

// loadStoryImatrix copies qmini-story.imatrix into a temporary directory, moves there
// and loads it by its bare name, as the reference files were made, so that
// quantize.imatrix.file matches.
func loadStoryImatrix(t *testing.T) *Imatrix {
	t.Helper()
	raw, err := os.ReadFile(refdata.Path(t, "quant-research", "qmini-story.imatrix"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "qmini-story.imatrix"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	im, err := LoadImatrix("qmini-story.imatrix")
	if err != nil {
		t.Fatal(err)
	}
	return im
}

// TestQminiImatrixLikeLlamaQuantize: given qmini-story.imatrix, quantizing qmini-F32 to
// each of the 20 types of refdata/quant-research gives llama-quantize's per-tensor types,
// then its bytes, metadata and whole file. Files that need a codec this build lacks fail
// naming it (the types are still checked).
func TestQminiImatrixLikeLlamaQuantize(t *testing.T) {
	srcPath := refdata.Path(t, "models", "qmini", "qmini-F32.gguf")
	researchDir := refdata.Path(t, "quant-research")
	im := loadStoryImatrix(t)
	src, err := gguf.Open(srcPath)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	waiting := map[string][]string{} // missing codec -> files
	for _, typ := range imatTypes {
		t.Run(typ, func(t *testing.T) {
			refPath := filepath.Join(researchDir, "qmini-"+typ+"-imat.gguf")
			want, err := gguf.Open(refPath)
			if err != nil {
				t.Fatal(err)
			}
			defer want.Close()
			ft, err := ParseFType(typ)
			if err != nil {
				t.Fatal(err)
			}
			// the rules: every tensor's type, from the shapes and the imatrix alone
			plan, err := MakePlan(src, ft, im)
			if err != nil {
				t.Fatal(err)
			}
			var missing []string
			for i := range want.Tensors {
				wt := &want.Tensors[i]
				if plan.Names[i] != wt.Name || plan.Types[wt.Name] != wt.Type {
					t.Errorf("tensor %d: %s %s, llama-quantize %s %s", i, plan.Names[i], plan.Types[plan.Names[i]], wt.Name, wt.Type)
				}
				if _, ok := tensor.CodecOf(wt.Type); !ok && !slicesContains(missing, wt.Type.String()) {
					missing = append(missing, wt.Type.String())
				}
			}
			if len(plan.Names) != len(want.Tensors) {
				t.Fatalf("%d tensors, llama-quantize %d", len(plan.Names), len(want.Tensors))
			}
			var buf bytes.Buffer
			_, err = Quantize(src, ft, &buf, Options{Threads: 2, Imatrix: im})
			if len(missing) > 0 {
				sort.Strings(missing)
				for _, m := range missing {
					waiting[m] = append(waiting[m], filepath.Base(refPath))
				}
				if err == nil || !strings.Contains(err.Error(), "not registered") {
					t.Fatalf("quantize with codecs for %v missing: error %v, want \"codec for ... not registered\"", missing, err)
				}
				t.Errorf("%s: bytes not compared: %v (waits for the codecs of %s)", filepath.Base(refPath), err, strings.Join(missing, ", "))
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := gguf.Parse(buf.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			compareGGUF(t, got, want)
			ref, err := os.ReadFile(refPath)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), ref) {
				t.Errorf("whole file differs from llama-quantize's first at byte %d (%d bytes, want %d)", firstDiff(buf.Bytes(), ref), buf.Len(), len(ref))
			}
		})
	}
	var codecs []string
	for c := range waiting {
		codecs = append(codecs, c)
	}
	sort.Strings(codecs)
	for _, c := range codecs {
		t.Logf("waiting for the %s codec: %s", c, strings.Join(waiting[c], ", "))
	}
}

func slicesContains(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// compareGGUF: the same metadata (keys in order, value types, values) and the same
// tensors (names, types, shapes, offsets, bytes).
func compareGGUF(t *testing.T, got, want *gguf.File) {
	t.Helper()
	if len(got.KVs) != len(want.KVs) {
		t.Errorf("%d metadata keys, llama-quantize %d", len(got.KVs), len(want.KVs))
	}
	for i := range min(len(got.KVs), len(want.KVs)) {
		g, w := got.KVs[i], want.KVs[i]
		if g.Key != w.Key || g.Value.TypeName() != w.Value.TypeName() || !reflect.DeepEqual(g.Value.Any(), w.Value.Any()) {
			t.Errorf("metadata %d: %s %s %v, llama-quantize %s %s %v", i, g.Key, g.Value.TypeName(), g.Value, w.Key, w.Value.TypeName(), w.Value)
		}
	}
	if len(got.Tensors) != len(want.Tensors) {
		t.Fatalf("%d tensors, llama-quantize %d", len(got.Tensors), len(want.Tensors))
	}
	for i := range want.Tensors {
		g, w := &got.Tensors[i], &want.Tensors[i]
		if g.Name != w.Name || g.Type != w.Type || !reflect.DeepEqual(g.Dims, w.Dims) || g.Offset != w.Offset {
			t.Errorf("tensor %d: %s %s %v @%d, llama-quantize %s %s %v @%d", i, g.Name, g.Type, g.Dims, g.Offset, w.Name, w.Type, w.Dims, w.Offset)
			continue
		}
		if gb, wb := got.TensorData(g), want.TensorData(w); !bytes.Equal(gb, wb) {
			k := firstDiff(gb, wb)
			t.Errorf("%s (%s): bytes differ first at %d (block %d) of %d", w.Name, w.Type, k, k/w.Type.TypeSize(), len(wb))
		}
	}
}

// qminiTensors are qmini's tensors in Order, with its F32 types.
func qminiTensors(t *testing.T) ([]Tensor, map[string]tensor.DType, Model) {
	t.Helper()
	src, err := gguf.Open(refdata.Path(t, "models", "qmini", "qmini-F32.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	m, err := ModelOf(src)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	orig := map[string]tensor.DType{}
	dims := map[string][]uint64{}
	for _, ti := range src.Tensors {
		names = append(names, ti.Name)
		orig[ti.Name] = ti.Type
		dims[ti.Name] = ti.Dims
	}
	Order(names)
	ts := make([]Tensor, len(names))
	for i, n := range names {
		ts[i] = Tensor{Name: n, Dims: dims[n]}
	}
	return ts, orig, m
}

// TestImatrixRefusals: what llama-quantize refuses is refused with one line naming it.
func TestImatrixRefusals(t *testing.T) {
	ts, orig, m := qminiTensors(t)
	ft := func(name string) FType {
		f, err := ParseFType(name)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	oneLine := func(err error, want ...string) {
		t.Helper()
		if err == nil {
			t.Errorf("accepted; want an error with %q", want)
			return
		}
		msg := err.Error()
		for _, w := range want {
			if !strings.Contains(msg, w) {
				t.Errorf("error %q does not say %q", msg, w)
			}
		}
		if strings.Contains(msg, "\n") {
			t.Errorf("error is not one line: %q", msg)
		}
	}
	// the mixes llama-quantize refuses without an imatrix, and the ones it accepts
	for _, f := range FTypes {
		_, err := Types(ts, f, m, orig)
		switch f.Name {
		case "IQ1_S", "IQ1_M", "IQ2_XXS", "IQ2_XS", "IQ2_S", "Q2_K_S":
			oneLine(err, f.Name, "importance matrix", "--imatrix")
		case "IQ3_XXS":
			// no imatrix: attn_k and attn_q become IQ2_S, which needs one
			oneLine(err, "blk.0.attn_k.weight", "IQ2_S", "Missing importance matrix")
		case "IQ2_M":
			// not in quantize.cpp's list, but its tensors (IQ2_S) need weights
			oneLine(err, "blk.0.attn_k.weight", "IQ2_S", "Missing importance matrix")
		default:
			if err != nil {
				t.Errorf("%s without an imatrix: %v", f.Name, err)
			}
		}
	}

	good := map[string][]float32{}
	for _, tn := range ts {
		if ShouldQuantize(tn) && tn.Name != "output.weight" && tn.Name != "token_embd.weight" {
			good[tn.Name] = make([]float32, tn.Dims[0])
		}
	}
	with := func(edit func(w map[string][]float32)) *Imatrix {
		w := map[string][]float32{}
		for k, v := range good {
			w[k] = v
		}
		edit(w)
		return &Imatrix{File: "x.imatrix", Weights: w}
	}
	if _, err := TypesImatrix(ts, ft("IQ1_S"), m, orig, with(func(map[string][]float32) {})); err != nil {
		t.Errorf("IQ1_S with a full imatrix: %v", err)
	}
	// a tensor without an entry in a very low-bit type
	_, err := TypesImatrix(ts, ft("IQ1_S"), m, orig, with(func(w map[string][]float32) { delete(w, "blk.1.ffn_up.weight") }))
	oneLine(err, "blk.1.ffn_up.weight", "IQ1_S", "Missing importance matrix")
	// ... which a type that does not need weights does without
	if _, err := TypesImatrix(ts, ft("Q4_K_M"), m, orig, with(func(w map[string][]float32) { delete(w, "blk.1.ffn_up.weight") })); err != nil {
		t.Errorf("Q4_K_M with an entry missing: %v", err)
	}
	// an entry of the wrong length is an error naming the tensor, for any type
	for _, name := range []string{"Q4_K_M", "Q8_0", "IQ1_M"} {
		_, err = TypesImatrix(ts, ft(name), m, orig, with(func(w map[string][]float32) { w["blk.0.attn_q.weight"] = make([]float32, 128) }))
		oneLine(err, "blk.0.attn_q.weight", "128 values", "needs 256")
	}
	// except token_embd.weight, which llama-quantize then quantizes without weights
	if _, err := TypesImatrix(ts, ft("Q4_K_M"), m, orig, with(func(w map[string][]float32) { w["token_embd.weight"] = make([]float32, 3) })); err != nil {
		t.Errorf("token_embd entry of another length: %v", err)
	}

	// a codec this build lacks is named before anything is written
	src, err := gguf.Open(refdata.Path(t, "models", "qmini", "qmini-F32.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	for _, f := range FTypes {
		plan, err := MakePlan(src, f, with(func(map[string][]float32) {}))
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		var missing tensor.DType
		for _, n := range plan.Names {
			if _, ok := tensor.CodecOf(plan.Types[n]); !ok && missing == 0 {
				missing = plan.Types[n]
			}
		}
		if missing == 0 {
			continue
		}
		var buf bytes.Buffer
		_, err = Quantize(src, f, &buf, Options{Imatrix: with(func(map[string][]float32) {})})
		oneLine(err, "codec for "+missing.String()+" not registered")
		if buf.Len() != 0 {
			t.Errorf("%s: %d bytes written before the refusal", f.Name, buf.Len())
		}
	}
}

// TestLoadImatrix: weights are values/ncall, the last entry of a name wins, and the
// metadata says what the file says.
func TestLoadImatrix(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.imatrix")
	var buf bytes.Buffer
	if err := imatrix.Write(&buf, &imatrix.Matrix{Entries: []imatrix.Entry{
		{Name: "a", NCall: 4, Values: []float32{4, 8}},
		{Name: "b", NCall: 0, Values: []float32{3}},
		{Name: "a", NCall: 2, Values: []float32{1, 3}},
	}, Chunks: 0, Dataset: ""}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	im, err := LoadImatrix(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(im.Weights, map[string][]float32{"a": {0.5, 1.5}, "b": {3}}) {
		t.Errorf("weights %v", im.Weights)
	}
	out := gguf.NewWriter()
	if err := im.setMetadata(out); err != nil {
		t.Fatal(err)
	}
	var hdr bytes.Buffer
	if _, err := out.WriteTo(&hdr); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Parse(hdr.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	// no dataset and no chunk count: llama-quantize leaves those keys out
	if len(f.KVs) != 2 || f.KVs[0].Key != KeyImatrixFile || f.KVs[1].Key != KeyImatrixEntries || f.KVs[1].Value.TypeName() != "int32" {
		t.Errorf("metadata %v", f.KVs)
	}
	if n, _ := f.KVs[1].Value.Int(); n != 2 {
		t.Errorf("entries_count %d, want 2 (distinct names)", n)
	}
}

// ConvertWeighted gives each matrix of a 3-D tensor (each expert) its own weights, as
// llama-quantize does, and refuses weights that do not cover the rows.
func TestConvertWeightedExperts(t *testing.T) {
	const rowLen, rows, experts = 256, 3, 2
	x := make([]float32, rowLen*rows*experts)
	for i := range x {
		x[i] = float32((i*7919)%263) / 263
	}
	w := make([]float32, rowLen*experts)
	for i := range w {
		w[i] = 0.5 + float32(i%17)/17
	}
	src := make([]byte, 4*len(x))
	tensor.QuantizeF32(x, src)
	got, err := ConvertWeighted(context.Background(), tensor.F32, tensor.Q4_K, src, rowLen, len(x), 2, w, rows)
	if err != nil {
		t.Fatal(err)
	}
	rowSize, _ := tensor.Q4_K.RowSize(rowLen)
	want := make([]byte, rowSize*rows*experts)
	for e := 0; e < experts; e++ {
		n := rowLen * rows
		if err := tensor.QuantizeWeighted(tensor.Q4_K, x[e*n:(e+1)*n], want[e*rows*rowSize:], rowLen, w[e*rowLen:(e+1)*rowLen]); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(got, want) {
		t.Errorf("experts' bytes differ at %d", firstDiff(got, want))
	}
	if _, err := ConvertWeighted(context.Background(), tensor.F32, tensor.Q4_K, src, rowLen, len(x), 2, w[:rowLen], rows); err == nil {
		t.Error("weights for one expert of two accepted")
	}
}
