package server

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"sync"
	"testing"

	"github.com/inferno-go/inferno"
	"github.com/inferno-go/inferno/chat"
	"github.com/inferno-go/inferno/internal/refdata"
	"github.com/inferno-go/inferno/metal/sim"
)

// TestConcurrentEqualsRunCUDASim: on cuda-sim, where a product of 8 rows or more takes
// the tensor cores (bfloat16) and a lone decode token the float32 matvec, 16 chat
// requests at once (steps of up to 16 decode rows beside prompt chunks of 8 tokens,
// --batch 8) each give exactly what the same request gives alone: the text and every
// logprob (the logits' bits, not just the greedy picks); and alone the text of a run.
func TestConcurrentEqualsRunCUDASim(t *testing.T) {
	if _, err := sim.Compiler(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skipf("SKIP: %v", err)
	}
	m, err := inferno.Load(refdata.Path(t, "models", "stories260K.gguf"),
		inferno.Options{Threads: 2, ContextSize: 96, BatchSize: 8, Backend: "cuda-sim", Sessions: 17})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	s, err := New(Config{Models: []Model{{Name: modelName, Model: m}}, Version: "test", Parallel: 16, Batch: 8})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	defer func() { ts.Close(); s.Close() }()
	prompts := []string{"Once upon a time", "Lily", "The cat sat on the mat and looked at the big red ball", "Tom and Sue",
		"One day a little girl named Lily went to the park with her mom", "A big tree", "Ben", "The sky"}
	body := func(i int) map[string]any {
		b := map[string]any{"model": modelName, "messages": []map[string]string{{"role": "user", "content": prompts[i%len(prompts)]}},
			"max_tokens": 8 + i%5, "logprobs": true, "top_logprobs": 5, "temperature": 0}
		if i%2 == 1 {
			b["seed"], b["temperature"] = 100+i, 0.8
		}
		return b
	}
	choice := func(i int) string {
		resp, data := post(t, ts, "/v1/chat/completions", body(i))
		if resp.StatusCode != 200 {
			t.Errorf("request %d: %d %s", i, resp.StatusCode, data)
			return ""
		}
		c, _ := json.Marshal(decodeJSON(t, data)["choices"])
		return string(c)
	}
	const n = 16
	alone := make([]string, n)
	for i := range alone {
		alone[i] = choice(i)
	}
	// alone, the server's text is the run's (greedy requests)
	for i := 0; i < 4; i += 2 {
		ids, err := s.encodeChat(Model{Name: modelName, Model: m}, []chat.Message{{Role: "user", Content: prompts[i]}})
		if err != nil {
			t.Fatal(err)
		}
		sess, err := m.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		res, err := sess.Generate(context.Background(), ids, inferno.GenerateOptions{MaxTokens: 8 + i%5, Sampling: greedy()}, nil)
		sess.Close()
		if err != nil {
			t.Fatal(err)
		}
		var ch []struct{ Message struct{ Content string } }
		if err := json.Unmarshal([]byte(alone[i]), &ch); err != nil || len(ch) != 1 || ch[0].Message.Content != res.Text {
			t.Errorf("request %d alone: %s, run %q (%v)", i, alone[i], res.Text, err)
		}
	}
	got := make([]string, n)
	var wg sync.WaitGroup
	for i := range got {
		wg.Go(func() { got[i] = choice(i) })
	}
	wg.Wait()
	for i := range got {
		if got[i] != alone[i] {
			t.Errorf("request %d: with 15 others\n%s\nalone\n%s", i, got[i], alone[i])
		}
	}
}
