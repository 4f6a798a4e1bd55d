package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/inferno-go/inferno/internal/refdata"
)

// TestReferencePrompts: llama-tokenize's ids (BOS added, special tokens parsed) for the
// stories260K prompts, story.txt, and story.txt with the Llama-2 vocabulary.
func TestReferencePrompts(t *testing.T) {
	var ref struct {
		Cases []struct {
			Text     string  `json:"text"`
			TextFile string  `json:"text_file"`
			IDs      []int32 `json:"ids"`
		} `json:"cases"`
	}
	raw, err := os.ReadFile(refdata.Path(t, "reference", "stories260K_tokenize.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	tk := load(t, refdata.Path(t, "models", "stories260K.gguf"))
	story, _ := os.ReadFile(refdata.Path(t, "reference", "story.txt"))
	for _, c := range ref.Cases {
		text := c.Text
		if text == "" {
			text = string(story)
		}
		if got := tk.Encode(text, true, true); !reflect.DeepEqual(got, c.IDs) {
			t.Errorf("%.30q: got %d ids %v..., want %d", text, len(got), got[:min(8, len(got))], len(c.IDs))
		}
	}
	var mini struct {
		IDs []int32 `json:"ids"`
	}
	raw, _ = os.ReadFile(refdata.Path(t, "reference", "mini", "llama-spm_tokenize_story.json"))
	json.Unmarshal(raw, &mini)
	spm := load(t, refdata.Path(t, "vocab", "ggml-vocab-llama-spm.gguf"))
	if got := spm.Encode(string(story), true, true); !reflect.DeepEqual(got, mini.IDs) {
		t.Errorf("llama-spm story: %d ids, want %d", len(got), len(mini.IDs))
	}
	// special tokens written in text
	if got := tk.Encode("<s>Once</s>", false, true); !reflect.DeepEqual(got[0], int32(1)) || got[len(got)-1] != 2 {
		t.Errorf("special tokens not parsed: %v", got)
	}
	if got := tk.Encode("<s>", false, false); len(got) < 2 {
		t.Errorf("with parse_special=false <s> should be text, got %v", got)
	}
}

// TestCustomSplittersMatchRegex: the hand-written GPT-2 and Llama-3 splitters give the
// same pieces as the regex engine running the original patterns (on llama.cpp's
// category-collapsed text) for every vocab test input.
func TestCustomSplittersMatchRegex(t *testing.T) {
	inps, _ := filepath.Glob(refdata.Path(t, "vocab", "*.inp"))
	var texts []string
	for _, p := range inps {
		raw, _ := os.ReadFile(p)
		texts = append(texts, strings.Split(string(raw), "\n__ggml_vocab_test__\n")...)
	}
	texts = append(texts, "  hello\n\n  world  ", "I'LL don't 12345 ab\r\n\r\nc", "\u00a0x\u3000y  ")
	for _, c := range []struct {
		pattern string
		custom  splitter
	}{{reGPT2, gpt2Splitter{}}, {reLlama3, llama3Splitter{}}} {
		// force the generic path with a pattern that is equal but not identical
		generic, err := newSplitter(c.pattern + "|(?!)")
		if err != nil {
			t.Fatal(err)
		}
		for _, text := range texts {
			cpts := []rune(text)
			coll := collapse(cpts)
			a := c.custom.split(cpts, coll, []int{len(cpts)})
			b := generic.split(cpts, coll, []int{len(cpts)})
			b = dropZeros(b)
			if !reflect.DeepEqual(a, b) {
				t.Errorf("%T on %q:\n custom %v\n regex  %v", c.custom, text, a, b)
			}
		}
	}
}

func dropZeros(x []int) []int {
	var out []int
	for _, v := range x {
		if v != 0 {
			out = append(out, v)
		}
	}
	return out
}

func TestStreamDecoder(t *testing.T) {
	tk := load(t, refdata.Path(t, "models", "stories260K.gguf"))
	ids := tk.Encode("a ½ b", false, false) // ½ is two byte tokens here
	d := tk.NewStreamDecoder()
	var parts []string
	for _, id := range ids {
		parts = append(parts, d.Next(id))
	}
	if strings.Join(parts, "") != " a ½ b" {
		t.Errorf("stream %q", parts)
	}
	for _, p := range parts {
		if !utf8Valid(p) {
			t.Errorf("part %q is not valid UTF-8", p)
		}
	}
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }
