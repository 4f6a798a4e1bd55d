package imatrix

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inferno-go/inferno/internal/refdata"
)

func TestReadReference(t *testing.T) {
	path := filepath.Join(refdata.Dir(t), "quant-research", "qmini-story.imatrix")
	m, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if m.Dataset != "story.txt" || m.Chunks < 1 || len(m.Entries) == 0 {
		t.Fatalf("dataset %q, %d chunks, %d entries", m.Dataset, m.Chunks, len(m.Entries))
	}
	e, ok := m.Lookup("blk.0.attn_q.weight")
	if !ok || e.NCall < 1 || len(e.Values) == 0 {
		t.Fatalf("blk.0.attn_q.weight: %v %+v", ok, e)
	}
	var buf bytes.Buffer
	if err := Write(&buf, m); err != nil {
		t.Fatal(err)
	}
	back, err := Read(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Entries) != len(m.Entries) || back.Dataset != m.Dataset || back.Chunks != m.Chunks {
		t.Fatal("round trip changed the header")
	}
	for i := range m.Entries {
		a, b := m.Entries[i], back.Entries[i]
		if a.Name != b.Name || a.NCall != b.NCall || len(a.Values) != len(b.Values) {
			t.Fatalf("entry %d changed", i)
		}
		for j := range a.Values {
			if a.Values[j] != b.Values[j] {
				t.Fatalf("entry %d value %d changed", i, j)
			}
		}
	}
	w := e.Weights()
	if w[0] != e.Values[0]/float32(e.NCall) {
		t.Fatalf("Weights()[0] = %v, want %v", w[0], e.Values[0]/float32(e.NCall))
	}
}

func TestReadBadInput(t *testing.T) {
	good := func() []byte {
		var buf bytes.Buffer
		Write(&buf, &Matrix{Entries: []Entry{{Name: "w", NCall: 2, Values: []float32{1, 2}}}, Chunks: 3, Dataset: "t"})
		return buf.Bytes()
	}()
	cases := map[string][]byte{
		"empty":           nil,
		"zero entries":    {0, 0, 0, 0},
		"huge entries":    {0xff, 0xff, 0xff, 0x7f},
		"truncated name":  good[:6],
		"huge nval":       append(append([]byte{}, good[:13]...), 0xff, 0xff, 0xff, 0x7f),
		"truncated value": good[:20],
		"trailing bytes":  append(append([]byte{}, good...), 1),
	}
	for name, data := range cases {
		if _, err := Read(bytes.NewReader(data), int64(len(data))); err == nil {
			t.Errorf("%s: no error", name)
		} else if strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error is not one line: %q", name, err)
		}
	}
	if _, err := Read(bytes.NewReader(good), int64(len(good))); err != nil {
		t.Fatalf("good file: %v", err)
	}
}
