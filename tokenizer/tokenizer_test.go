package tokenizer

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inferno-go/inferno/gguf"
	"github.com/inferno-go/inferno/internal/refdata"
)

func load(t *testing.T, path string) *Tokenizer {
	t.Helper()
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tk, err := FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func formatIDs(ids []int32) string {
	var b strings.Builder
	for _, id := range ids {
		fmt.Fprintf(&b, " %d", id)
	}
	return b.String()
}

// TestVocabVectors: every .inp/.out pair in refdata/vocab (add_special=false,
// parse_special=false) gives identical ids, and decoding gives back the text.
func TestVocabVectors(t *testing.T) {
	dir := refdata.Path(t, "vocab")
	inps, _ := filepath.Glob(filepath.Join(dir, "*.gguf.inp"))
	inps2, _ := filepath.Glob(filepath.Join(dir, "stories260K", "*.gguf.inp"))
	inps = append(inps, inps2...)
	tested := 0
	for _, inp := range inps {
		model := strings.TrimSuffix(inp, ".inp")
		if strings.Contains(inp, "stories260K") {
			model = refdata.Path(t, "models", "stories260K.gguf")
		}
		if _, err := os.Stat(model); err != nil {
			t.Logf("SKIP %s: no vocab file here (%s)", filepath.Base(inp), filepath.Base(model))
			continue
		}
		if strings.Contains(model, "bert-bge") {
			t.Logf("SKIP %s: WPM (BERT) vocabularies are not a llama-family tokenizer", filepath.Base(inp))
			continue
		}
		tk := load(t, model)
		inRaw, _ := os.ReadFile(inp)
		outRaw, _ := os.ReadFile(strings.TrimSuffix(inp, ".inp") + ".out")
		cases := strings.Split(string(inRaw), "\n__ggml_vocab_test__\n")
		cases = cases[:len(cases)-1]
		wants := strings.Split(strings.TrimSuffix(string(outRaw), "\n"), "\n")
		if len(wants) != len(cases) {
			t.Fatalf("%s: %d inputs, %d outputs", inp, len(cases), len(wants))
		}
		bad := 0
		for i, text := range cases {
			got := formatIDs(tk.Encode(text, false, false))
			if got != wants[i] {
				bad++
				if bad <= 3 {
					t.Errorf("%s case %d %q:\n got %s\nwant %s", filepath.Base(inp), i, text, got, wants[i])
				}
				continue
			}
			// decode(encode(text)) == text, modulo the SPM leading space
			dec := tk.Decode(tk.Encode(text, false, false))
			if tk.Kind == SPM && tk.addSpacePrefix {
				dec = strings.TrimPrefix(dec, " ")
			}
			if dec != text {
				t.Errorf("%s case %d: decode %q != %q", filepath.Base(inp), i, dec, text)
			}
		}
		tested++
		t.Logf("%s: %d/%d cases identical", filepath.Base(inp), len(cases)-bad, len(cases))
	}
	if tested < 9 {
		t.Errorf("only %d vocabularies tested", tested)
	}
}

// TestUnknownTokenTypeRefused: a token_type outside llama.cpp's enum loads as a number
// but makes the token neither text nor special; the vocabulary is refused, naming it.
func TestUnknownTokenTypeRefused(t *testing.T) {
	src, err := gguf.Open(refdata.Path(t, "models", "stories260K.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	for _, bad := range []int32{7, -1, 1 << 20} {
		w := gguf.NewWriter()
		for _, kv := range src.KVs {
			if kv.Key == "tokenizer.ggml.token_type" {
				types, err := src.Int32s(kv.Key)
				if err != nil {
					t.Fatal(err)
				}
				types = append([]int32(nil), types...)
				types[300] = bad
				w.SetAny(kv.Key, types)
				continue
			}
			w.Set(kv.Key, kv.Value)
		}
		var buf bytes.Buffer
		if _, err := w.WriteTo(&buf); err != nil {
			t.Fatal(err)
		}
		f, err := gguf.Parse(buf.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("token_type[300] = %d", bad)
		if _, err := FromGGUF(f); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("token type %d: %v, want an error containing %q", bad, err, want)
		}
	}
}
