package inferno_test

import (
	"context"
	"fmt"

	"github.com/inferno-go/inferno"
	"github.com/inferno-go/inferno/sample"
)

// Generate 16 tokens greedily from the tiny stories260K model.
func Example() {
	m, err := inferno.Load("../shared/refdata/models/stories260K.gguf", inferno.Options{Threads: 2})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()
	sess, err := m.NewSession()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer sess.Close()
	params := sample.Defaults()
	params.Temperature = 0 // greedy
	res, err := sess.Generate(context.Background(), m.Tokenize("Once upon a time"),
		inferno.GenerateOptions{MaxTokens: 16, Sampling: params}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%q (%d tokens, %s)\n", res.Text, len(res.Tokens), res.StopReason)
	// Output: ", there was a little girl named Lily. She loved to play" (16 tokens, max_tokens)
}
