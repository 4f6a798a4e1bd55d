package chat

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/inferno-go/inferno/internal/refdata"
)

type chatCase struct {
	Template            string                           `json:"template"`
	Conversation        string                           `json:"conversation"`
	Bos                 string                           `json:"bos_token"`
	Eos                 string                           `json:"eos_token"`
	Messages            []struct{ Role, Content string } `json:"messages"`
	AddGenerationPrompt bool                             `json:"add_generation_prompt"`
	Expected            *string                          `json:"expected"`
	Error               *string                          `json:"error"`
}

// TestRealTemplates renders every case of refdata/chat exactly as Hugging Face's
// apply_chat_template did, and reports the templates' own errors as errors.
func TestRealTemplates(t *testing.T) {
	raw, err := os.ReadFile(refdata.Path(t, "chat", "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Cases []chatCase `json:"cases"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	pass := 0
	for _, c := range doc.Cases {
		src, err := os.ReadFile(refdata.Path(t, "chat", "templates", c.Template))
		if err != nil {
			t.Fatal(err)
		}
		tm, err := Compile(c.Template, string(src))
		if err != nil {
			t.Errorf("%s: %v", c.Template, err)
			continue
		}
		tm.Now = func() time.Time { return time.Date(2024, 7, 26, 0, 0, 0, 0, time.UTC) }
		var msgs []Message
		for _, m := range c.Messages {
			msgs = append(msgs, Message{m.Role, m.Content})
		}
		got, err := tm.Render(msgs, c.Bos, c.Eos, c.AddGenerationPrompt)
		switch {
		case c.Error != nil:
			if err == nil {
				t.Errorf("%s/%s: rendered %q, want the template's error %q", c.Template, c.Conversation, got, *c.Error)
				continue
			}
		case err != nil:
			t.Errorf("%s/%s: %v", c.Template, c.Conversation, err)
			continue
		case got != *c.Expected:
			t.Errorf("%s/%s:\n got %q\nwant %q", c.Template, c.Conversation, got, *c.Expected)
			continue
		}
		pass++
	}
	t.Logf("%d/%d cases exact", pass, len(doc.Cases))
	files, _ := filepath.Glob(refdata.Path(t, "chat", "templates", "*.jinja"))
	if len(doc.Cases) < len(files) {
		t.Errorf("%d cases for %d templates", len(doc.Cases), len(files))
	}
}

func TestBuiltins(t *testing.T) {
	msgs := []Message{{"system", "Be brief."}, {"user", "Hi"}, {"assistant", "Hello!"}, {"user", "Bye"}}
	want := map[string]string{
		"chatml": "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n",
		"zephyr": "<|system|>\nBe brief.</s>\n<|user|>\nHi</s>\n<|assistant|>\nHello!</s>\n<|user|>\nBye</s>\n<|assistant|>\n",
		"llama3": "<s><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
		"llama2": "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST] Hello! </s><s>[INST] Bye [/INST]",
		"phi3":   "<|system|>\nBe brief.<|end|>\n<|user|>\nHi<|end|>\n<|assistant|>\nHello!<|end|>\n<|user|>\nBye<|end|>\n<|assistant|>\n",
	}
	for name, w := range want {
		tm, err := Compile(name, Builtins[name])
		if err != nil {
			t.Fatal(err)
		}
		got, err := tm.Render(msgs, "<s>", "</s>", true)
		if err != nil || got != w {
			t.Errorf("%s: %v\n got %q\nwant %q", name, err, got, w)
		}
	}
	tm, err := Select("", "", func(s string) bool { return s == "<|start_header_id|>" })
	if err != nil || tm.Name != "llama3" {
		t.Errorf("select by tokens: %v %v", tm, err)
	}
	if _, err := Select("nonsense-template", "", func(string) bool { return false }); err == nil || !strings.Contains(err.Error(), "not a built-in") {
		t.Errorf("bad override: %v", err)
	}
}
