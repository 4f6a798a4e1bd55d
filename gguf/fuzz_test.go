package gguf

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/inferno-go/inferno/internal/refdata"
)

// exercise touches everything a caller may touch after a successful Parse.
func exercise(f *File) {
	for _, kv := range f.KVs {
		_ = kv.Value.String()
		_, _ = f.Uint32(kv.Key)
		_, _ = f.Strings(kv.Key)
	}
	for i := range f.Tensors {
		d := f.TensorData(&f.Tensors[i])
		if len(d) > 0 {
			_ = d[0] + d[len(d)-1]
		}
	}
}

func mustRead(t testing.TB, path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestTruncated: 200 prefixes of stories260K.gguf each parse or fail cleanly. Lengths
// are dense over the header (where parsing happens) and spread over the data.
func TestTruncated(t *testing.T) {
	orig := mustRead(t, refdata.Path(t, "models", "stories260K.gguf"))
	f, err := Parse(orig)
	if err != nil {
		t.Fatal(err)
	}
	hdr := int(f.DataOffset)
	for i := 0; i < 200; i++ {
		var n int
		if i < 150 {
			n = i * hdr / 150
		} else {
			n = hdr + (i-150)*(len(orig)-hdr)/50
		}
		b := append([]byte(nil), orig[:n]...) // exact-length copy so overruns would fault
		g, err := Parse(b)
		if err == nil {
			if n < len(orig) && len(g.Tensors) == len(f.Tensors) {
				t.Errorf("truncated at %d of %d bytes but parsed with all tensors", n, len(orig))
			}
			exercise(g)
		} else if _, ok := err.(*FormatError); !ok {
			t.Errorf("truncated at %d: error %T %v, want *FormatError", n, err, err)
		}
	}
}

// TestByteFlips: flipping bytes at 200 places in the header gives an error or a file
// that can be used safely.
func TestByteFlips(t *testing.T) {
	orig := mustRead(t, refdata.Path(t, "models", "stories260K.gguf"))
	f, _ := Parse(orig)
	hdr := int(f.DataOffset)
	seed := uint64(20251125)
	for i := 0; i < 200; i++ {
		seed = seed*6364136223846793005 + 1442695040888963407
		pos := int(seed>>33) % hdr
		flip := byte(seed>>20) | 1
		b := append([]byte(nil), orig...)
		b[pos] ^= flip
		g, err := Parse(b)
		if err == nil {
			exercise(g)
		} else if _, ok := err.(*FormatError); !ok {
			t.Errorf("flip at %d: error %T %v, want *FormatError", pos, err, err)
		}
	}
}

// FuzzRead: Parse never panics and never allocates from an unchecked count.
// Run with: go test ./gguf -run '^$' -fuzz FuzzRead -fuzztime 10m
func FuzzRead(f *testing.F) {
	dir := refdata.Dir(f)
	paths, _ := filepath.Glob(filepath.Join(dir, "models", "*.gguf"))
	more, _ := filepath.Glob(filepath.Join(dir, "models", "qmini", "qmini-Q4_K_M.gguf"))
	for _, p := range append(paths, more...) {
		b := mustRead(f, p)
		g, err := Parse(b)
		if err != nil {
			f.Fatal(err)
		}
		// The header alone keeps the fuzzer fast; the full file is one more seed.
		f.Add(b[:g.DataOffset])
		f.Add(b[:g.DataOffset/2])
		if len(b) < 2<<20 {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := Parse(b)
		if err != nil {
			if _, ok := err.(*FormatError); !ok {
				t.Fatalf("error %T is not a *FormatError: %v", err, err)
			}
			return
		}
		exercise(g)
	})
}
