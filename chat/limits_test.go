package chat

import (
	"errors"
	"strings"
	"testing"

	"github.com/inferno-go/inferno/chat/internal/jinja"
)

// TestHostileTemplatesFail: a chat template comes from the model file. One that
// recurses without end (a fatal Go stack overflow), loops for ever or builds huge
// strings (memory exhausted) must fail with an error naming the limit, at once.
func TestHostileTemplatesFail(t *testing.T) {
	for _, c := range []struct{ name, src, want string }{
		{"recursive macro", "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "recursion"},
		{"recursive caller", "{% macro f() %}{% call f() %}x{% endcall %}{% endmacro %}{{ f() }}", "recursion"},
		{"huge range", "{% for i in range(100000000) %}x{% endfor %}", "range would have more than"},
		{"nested loops", "{% for i in range(1000) %}{% for j in range(1000) %}{% for k in range(1000) %}{% endfor %}{% endfor %}{% endfor %}", "steps"},
		{"doubling string", "{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}", "bytes"},
		{"huge repeat", "{{ 'x' * 1000000000000 }}", "bytes"},
		{"huge output", "{% for i in range(3) %}{{ 'x' * 10000000 }}{% endfor %}", "the output would be more than"},
		{"replace blow-up", "{{ ('x' * 1000000) | replace('', 'yyyyyyyyyyyyyyyyyyyyyyyyyyyyyy') }}", "bytes"},
		{"list containing itself", "{% set l = [] %}{% set _ = l.append(l) %}{{ l }}", "nested more than"},
		{"deep parentheses", "{{ " + strings.Repeat("(", 10000) + "1" + strings.Repeat(")", 10000) + " }}", "nested more than"},
		{"deep blocks", strings.Repeat("{% if true %}", 10000) + strings.Repeat("{% endif %}", 10000), "nested more than"},
		{"huge source", "{# " + strings.Repeat("x", 1<<20) + " #}", "more than"},
	} {
		t.Run(c.name, func(t *testing.T) {
			tm, err := Compile("test", c.src)
			if err == nil {
				_, err = tm.Render([]Message{{"user", "Hi"}}, "<s>", "</s>", true)
			}
			var le *jinja.LimitError
			if !errors.As(err, &le) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%v, want a limit error containing %q", err, c.want)
			}
		})
	}
}

// TestTemplateEdgeCasesKeepWorking: what the limits must not change.
func TestTemplateEdgeCasesKeepWorking(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"{{ 'ab' * -1 }}|{{ 'ab' * 3 }}", "|ababab"},  // Python; upstream panicked on -1
		{"{{ range(5, 0, -2) | join(',') }}", "5,3,1"}, // counted, not stepped
		{"{{ range(9223372036854775806, 9223372036854775807) | join(',') }}", "9223372036854775806"},
		{"{{ {'b': [1, 2], 'a': {} } | tojson(indent=2) }}", "{\n  \"b\": [\n    1,\n    2\n  ],\n  \"a\": {}\n}"}, // Python's layout, keys in order
		{"{% macro f(n) %}{% if n > 0 %}{{ n }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(50) }}", "50494847"},
	} {
		tm, err := Compile("test", c.src)
		if err != nil {
			t.Errorf("%q: %v", c.src, err)
			continue
		}
		got, err := tm.Render(nil, "", "", false)
		if err != nil || !strings.HasPrefix(got, c.want) {
			t.Errorf("%q: %q, %v; want %q", c.src, got, err, c.want)
		}
	}
}

// TestSelectWarnsOnBrokenModelTemplate: a model's template with a syntax error falls
// back to a built-in as before, but no longer silently: Warning names the error.
func TestSelectWarnsOnBrokenModelTemplate(t *testing.T) {
	tm, err := Select("", "{% for m in messages %}{{ m.content }}", func(string) bool { return false })
	if err != nil {
		t.Fatal(err)
	}
	if tm.Name != "chatml" || !strings.Contains(tm.Warning, "does not compile") || !strings.Contains(tm.Warning, "unclosed for block") {
		t.Errorf("template %s, warning %q: want chatml and a warning naming the unclosed for", tm.Name, tm.Warning)
	}
	if tm, _ := Select("", "{{ messages[0].content }}", func(string) bool { return false }); tm.Name != "gguf" || tm.Warning != "" {
		t.Errorf("a good template: %s, warning %q", tm.Name, tm.Warning)
	}
}
