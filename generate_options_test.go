package inferno

import (
	"context"
	"strings"
	"testing"

	"github.com/inferno-go/inferno/internal/refdata"
	"github.com/inferno-go/inferno/sample"
)

// TestGenerateRejectsNegativeMaxTokens: MaxTokens < 0 is an error, as `run -n -1` is,
// not "until the context is full".
func TestGenerateRejectsNegativeMaxTokens(t *testing.T) {
	m, err := Load(refdata.Path(t, "models", "stories260K.gguf"), Options{Threads: 1, ContextSize: 32})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	greedy := sample.Defaults()
	greedy.Temperature = 0
	s, err := m.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	res, err := s.Generate(context.Background(), m.Tokenize("Once"), GenerateOptions{MaxTokens: -5, Sampling: greedy}, nil)
	if err == nil || !strings.Contains(err.Error(), "MaxTokens -5 must be >= 0") {
		t.Errorf("MaxTokens -5: %v, result %+v", err, res)
	}
}
