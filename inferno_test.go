package inferno

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/inferno-go/inferno/internal/refdata"
	"github.com/inferno-go/inferno/sample"
)

func greedyParams() sample.Params {
	p := sample.Defaults()
	p.Temperature = 0
	return p
}

// TestGreedyMatchesReference: prompt ids and 64 greedy tokens equal llama.cpp's, through
// the public API (tokenizer included).
func TestGreedyMatchesReference(t *testing.T) {
	m, err := Load(refdata.Path(t, "models", "stories260K.gguf"), Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for _, name := range []string{"once_upon_a_time", "the_little_dog", "lily_and_tom_went"} {
		var ref struct {
			Prompt        string  `json:"prompt"`
			PromptIDs     []int32 `json:"prompt_ids"`
			GeneratedIDs  []int32 `json:"generated_ids"`
			GeneratedText string  `json:"generated_text"`
		}
		raw, _ := os.ReadFile(refdata.Path(t, "reference", "stories260K_"+name+".json"))
		json.Unmarshal(raw, &ref)
		prompt := m.Tokenize(ref.Prompt)
		if !reflect.DeepEqual(prompt, ref.PromptIDs) {
			t.Fatalf("%s: prompt ids %v, want %v", name, prompt, ref.PromptIDs)
		}
		var streamed strings.Builder
		res, err := newSession(t, m).Generate(context.Background(), prompt,
			GenerateOptions{MaxTokens: len(ref.GeneratedIDs), Sampling: greedyParams()},
			func(s string) error { streamed.WriteString(s); return nil })
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(res.Tokens, ref.GeneratedIDs) {
			t.Errorf("%s: tokens differ:\n got %v\nwant %v", name, res.Tokens, ref.GeneratedIDs)
		}
		if res.Text != ref.GeneratedText || streamed.String() != res.Text {
			t.Errorf("%s: text %q, streamed %q, want %q", name, res.Text, streamed.String(), ref.GeneratedText)
		}
	}
}

func TestStopsAndLimits(t *testing.T) {
	m, err := Load(refdata.Path(t, "models", "stories260K.gguf"), Options{Threads: 1, ContextSize: 32})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	prompt := m.Tokenize("Once upon a time")
	// stop string: text ends before it, and nothing of it was streamed
	var streamed strings.Builder
	res, err := newSession(t, m).Generate(context.Background(), prompt,
		GenerateOptions{MaxTokens: 30, Sampling: greedyParams(), Stop: []string{"named"}},
		func(s string) error { streamed.WriteString(s); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if res.StopReason != StopString || res.Text != ", there was a little girl " || streamed.String() != res.Text {
		t.Errorf("stop string: reason %s text %q streamed %q", res.StopReason, res.Text, streamed.String())
	}
	// a stop string across a token boundary (" girl" + " named"): the end of " girl" is
	// held back until the next token shows it starts the stop string
	streamed.Reset()
	res, err = newSession(t, m).Generate(context.Background(), prompt,
		GenerateOptions{MaxTokens: 30, Sampling: greedyParams(), Stop: []string{"l na"}},
		func(s string) error { streamed.WriteString(s); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if res.StopReason != StopString || res.Text != ", there was a little gir" || streamed.String() != res.Text {
		t.Errorf("stop string across tokens: reason %s text %q streamed %q", res.StopReason, res.Text, streamed.String())
	}
	// context limit: generation stops with a reason, a too-long prompt is an error
	res, err = newSession(t, m).Generate(context.Background(), prompt, GenerateOptions{Sampling: greedyParams()}, nil)
	if err != nil || res.StopReason != StopContext || len(res.Tokens)+len(prompt) != 33 {
		t.Errorf("context: %v %s %d tokens", err, res.StopReason, len(res.Tokens))
	}
	long := make([]int32, 40)
	if _, err := newSession(t, m).Generate(context.Background(), long, GenerateOptions{Sampling: greedyParams()}, nil); !errors.Is(err, ErrContextFull) {
		t.Errorf("over-long prompt: %v", err)
	}
	// cancellation
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	res, _ = newSession(t, m).Generate(ctx, prompt, GenerateOptions{MaxTokens: 20, Sampling: greedyParams()},
		func(string) error {
			if n++; n == 3 {
				cancel()
			}
			return nil
		})
	if res.StopReason != StopCancelled || len(res.Tokens) > 4 {
		t.Errorf("cancel: %s after %d tokens", res.StopReason, len(res.Tokens))
	}
	// invalid sampling parameters are an error
	bad := sample.Defaults()
	bad.TopP = 2
	if _, err := newSession(t, m).Generate(context.Background(), prompt, GenerateOptions{Sampling: bad}, nil); err == nil {
		t.Error("top-p 2 accepted")
	}
}

// newSession is NewSession failing the test on an error.
func newSession(t testing.TB, m *Model) *Session {
	t.Helper()
	s, err := m.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	return s
}
