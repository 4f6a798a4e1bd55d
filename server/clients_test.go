package server

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/inferno-go/inferno/chat"
)

// TestRealClients runs the official openai npm client and the ollama npm client
// (testdata/clients, installed by `npm ci` there) against the server on a loopback
// port, asserting the texts `inferno run` gives for the same greedy requests.
func TestRealClients(t *testing.T) {
	dir := filepath.Join("testdata", "clients")
	node, err := exec.LookPath("node")
	missing := ""
	switch {
	case err != nil:
		missing = "node is not installed"
	default:
		if _, err := os.Stat(filepath.Join(dir, "node_modules", "openai")); err != nil {
			missing = "server/testdata/clients/node_modules is absent (run npm ci there)"
		}
	}
	if missing != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the client tests cannot run under CI: %s", missing)
		}
		t.Skipf("skipping the openai/ollama client tests: %s", missing)
	}
	s, err := New(Config{Models: []Model{{Name: modelName, Model: testModel(t)}}, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := HTTPServer(ln.Addr().String(), s.Handler())
	go hs.Serve(ln)
	defer hs.Close()

	const maxTokens = 24
	chatPrompt, completionPrompt := "Tell me about a dog.", "Once upon a time"
	chatRes := runReference(t, chatIDs(t, []chat.Message{{Role: "user", Content: chatPrompt}}), greedy(), maxTokens, nil)
	compRes := runReference(t, testModel(t).Tokenize(completionPrompt), greedy(), maxTokens, nil)
	expect, _ := json.Marshal(map[string]any{
		"max_tokens": maxTokens, "chat_prompt": chatPrompt, "chat": chatRes.Text, "chat_tokens": len(chatRes.Tokens),
		"chat_finish": finishReason(chatRes.StopReason), "completion_prompt": completionPrompt,
		"completion": compRes.Text, "completion_tokens": len(compRes.Tokens)})
	for _, script := range []string{"openai.mjs", "ollama.mjs"} {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		cmd := exec.CommandContext(ctx, node, script)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "INFERNO_URL=http://"+ln.Addr().String(), "INFERNO_MODEL="+modelName, "INFERNO_EXPECT="+string(expect))
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil || !strings.Contains(string(out), "client: ok") {
			t.Errorf("node %s: %v\n%s", script, err, out)
		}
	}
}
