// Package chat renders conversations into prompts with a model's chat template: the
// GGUF's tokenizer.chat_template through a Jinja engine (internal/jinja: ardanlabs/jinja
// with limits on steps, recursion and sizes, since the template comes from the model
// file), or a built-in template (llama2, llama3, chatml, zephyr, mistral, gemma, phi3)
// when the model has none or its template does not compile.
package chat

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/inferno-go/inferno/chat/internal/jinja"
	"github.com/inferno-go/inferno/tokenizer"
)

// Message is one turn.
type Message struct {
	Role    string // system, user, assistant
	Content string
}

// Template renders conversations.
type Template struct {
	Name   string // "gguf", a built-in name, or a file path
	Source string
	tmpl   *jinja.Template
	// Now is the date strftime_now uses (default: the current time).
	Now func() time.Time
	// Warning, when set, says why the model's own template is not the one used.
	Warning string
}

// Compile compiles Jinja source.
func Compile(name, source string) (*Template, error) {
	t, err := jinja.Compile(source)
	if err != nil {
		return nil, fmt.Errorf("chat template %s: %w", name, err)
	}
	return &Template{Name: name, Source: source, tmpl: t, Now: time.Now}, nil
}

// Render formats messages; addGenerationPrompt opens the assistant's turn.
func (t *Template) Render(msgs []Message, bos, eos string, addGenerationPrompt bool) (string, error) {
	ms := make([]any, len(msgs))
	for i, m := range msgs {
		ms[i] = map[string]any{"role": m.Role, "content": m.Content}
	}
	now := t.Now
	if now == nil {
		now = time.Now
	}
	data := map[string]any{
		"messages":              ms,
		"bos_token":             bos,
		"eos_token":             eos,
		"add_generation_prompt": addGenerationPrompt,
		"strftime_now": jinja.NewCallable("strftime_now", func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
			f := "%Y-%m-%d"
			if len(args) > 0 {
				f = args[0].String()
			}
			return jinja.NewString(strftime(now(), f)), nil
		}),
	}
	out, err := t.tmpl.Render(data)
	if err != nil {
		return "", fmt.Errorf("chat template %s: %w", t.Name, err)
	}
	return out, nil
}

// strftime supports the directives chat templates use.
func strftime(t time.Time, f string) string {
	r := strings.NewReplacer("%Y", t.Format("2006"), "%m", t.Format("01"), "%d", t.Format("02"),
		"%b", t.Format("Jan"), "%B", t.Format("January"), "%H", t.Format("15"), "%M", t.Format("04"), "%S", t.Format("05"),
		"%y", t.Format("06"), "%A", t.Format("Monday"), "%a", t.Format("Mon"), "%%", "%")
	return r.Replace(f)
}

// Builtins are fallback templates by name.
var Builtins = map[string]string{
	"chatml": "{%- for message in messages -%}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}{%- endfor -%}{%- if add_generation_prompt -%}{{ '<|im_start|>assistant\n' }}{%- endif -%}",
	"llama2": "{%- if messages[0]['role'] == 'system' -%}{%- set system = '<<SYS>>\n' + messages[0]['content'] + '\n<</SYS>>\n\n' -%}{%- set messages = messages[1:] -%}{%- else -%}{%- set system = '' -%}{%- endif -%}" +
		"{%- for message in messages -%}{%- if message['role'] == 'user' -%}{{ bos_token + '[INST] ' + (system if loop.first else '') + message['content'] | trim + ' [/INST]' }}{%- elif message['role'] == 'assistant' -%}{{ ' ' + message['content'] | trim + ' ' + eos_token }}{%- endif -%}{%- endfor -%}",
	"llama3":  "{{- bos_token -}}{%- for message in messages -%}{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' + message['content'] | trim + '<|eot_id|>' }}{%- endfor -%}{%- if add_generation_prompt -%}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{%- endif -%}",
	"zephyr":  "{%- for message in messages -%}{{ '<|' + message['role'] + '|>\n' + message['content'] + eos_token + '\n' }}{%- endfor -%}{%- if add_generation_prompt -%}{{ '<|assistant|>\n' }}{%- endif -%}",
	"mistral": "{{- bos_token -}}{%- for message in messages -%}{%- if message['role'] == 'user' -%}{{ '[INST] ' + message['content'] + ' [/INST]' }}{%- elif message['role'] == 'assistant' -%}{{ message['content'] + eos_token }}{%- elif message['role'] == 'system' -%}{{ '[INST] ' + message['content'] + ' [/INST]' }}{%- endif -%}{%- endfor -%}",
	"gemma":   "{{- bos_token -}}{%- for message in messages -%}{%- set role = 'model' if message['role'] == 'assistant' else message['role'] -%}{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}{%- endfor -%}{%- if add_generation_prompt -%}{{ '<start_of_turn>model\n' }}{%- endif -%}",
	"phi3":    "{%- for message in messages -%}{{ '<|' + message['role'] + '|>\n' + message['content'] + '<|end|>\n' }}{%- endfor -%}{%- if add_generation_prompt -%}{{ '<|assistant|>\n' }}{%- endif -%}",
}

// Select picks the template: override (a built-in name or a file) first, then the
// model's own, then a built-in guessed from the model's special tokens (with a
// Warning when the model's own does not compile).
func Select(override, ggufTemplate string, hasToken func(string) bool) (*Template, error) {
	if override != "" {
		if src, ok := Builtins[override]; ok {
			return Compile(override, src)
		}
		b, err := os.ReadFile(override)
		if err != nil {
			return nil, fmt.Errorf("--chat-template %q: not a built-in (%s) and not a readable file: %w", override, strings.Join(BuiltinNames(), ", "), err)
		}
		return Compile(override, string(b))
	}
	var compileErr error
	if ggufTemplate != "" {
		t, err := Compile("gguf", ggufTemplate)
		if err == nil {
			return t, nil
		}
		compileErr = err
	}
	name := "chatml"
	switch {
	case hasToken("<|start_header_id|>"):
		name = "llama3"
	case hasToken("<start_of_turn>"):
		name = "gemma"
	case hasToken("<|assistant|>") && hasToken("<|end|>"):
		name = "phi3"
	case hasToken("<|im_start|>"):
		name = "chatml"
	case hasToken("[INST]"):
		name = "mistral"
	}
	t, err := Compile(name, Builtins[name])
	if t != nil && compileErr != nil {
		t.Warning = fmt.Sprintf("the model's chat template does not compile, using the built-in %s: %v", name, compileErr)
	}
	return t, err
}

// BuiltinNames lists the built-in templates.
func BuiltinNames() []string {
	return []string{"chatml", "gemma", "llama2", "llama3", "mistral", "phi3", "zephyr"}
}

// Encode renders msgs with the assistant's turn opened and tokenizes the text with the
// model's special tokens, adding BOS where the vocabulary asks for it and the template
// did not write it: the prompt `inferno chat` and the server evaluate.
func (t *Template) Encode(tk *tokenizer.Tokenizer, msgs []Message) (string, []int32, error) {
	bos, eos := "", ""
	if tk.BOS >= 0 {
		bos = tk.Text(tk.BOS)
	}
	if tk.EOS >= 0 {
		eos = tk.Text(tk.EOS)
	}
	text, err := t.Render(msgs, bos, eos, true)
	if err != nil {
		return "", nil, err
	}
	ids := tk.Encode(text, false, true)
	if tk.AddBOS && tk.BOS >= 0 && (len(ids) == 0 || ids[0] != tk.BOS) {
		ids = append([]int32{tk.BOS}, ids...)
	}
	return text, ids, nil
}
