package tokenizer

import (
	"fmt"
	"strings"
	"unicode"
)

// Pre-tokenizer regexes by tokenizer.ggml.pre, as llama.cpp (c392e50) applies them:
// each regex in turn splits every piece the previous one produced.
const (
	reGPT2   = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)`
	reLlama3 = `(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	reQwen2  = `(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
)

var preRegexes = map[string][]string{
	"default": {`[\p{P}\$\+<=>\^~\|]+`, reGPT2, `\p{N}+`, `[0-9][0-9][0-9]`},
	"llama3":  {reLlama3}, "llama-v3": {reLlama3}, "llama-bpe": {reLlama3}, "falcon3": {reLlama3},
	"dbrx": {reLlama3}, "smaug-bpe": {reLlama3}, "chatglm-bpe": {reLlama3},
	"deepseek-llm": {
		"[\r\n]",
		"\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-ώᾀ-ᾴᾶ-ᾼιῂ-ῄῆ-ῌῐ-ΐῖ-Ίῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤΩℨK-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+",
		"\\s?[!-/:-~！-／：-～‘-‟　-。]+",
		"\\s+$",
		"[一-龥ࠀ-一가-퟿]+",
		"\\p{N}+",
	},
	"deepseek-coder": {"[\r\n]", `\s?\p{L}+`, `\s?\p{P}+`, "[一-龥ࠀ-一가-퟿]+", `\p{N}`},
	"falcon":         {`[\p{P}\$\+<=>\^~\|` + "`" + `]+`, reGPT2, `[0-9][0-9][0-9]`},
	"starcoder":      {`\p{N}`, reGPT2}, "refact": {`\p{N}`, reGPT2}, "command-r": {`\p{N}`, reGPT2},
	"smollm": {`\p{N}`, reGPT2}, "codeshell": {`\p{N}`, reGPT2}, "exaone": {`\p{N}`, reGPT2},
	"minerva-7b": {`\p{N}`, reGPT2},
	"gpt-2":      {reGPT2}, "gpt2": {reGPT2}, "mpt": {reGPT2}, "olmo": {reGPT2}, "jais": {reGPT2},
	"phi-2": {reGPT2}, "jina-es": {reGPT2}, "jina-de": {reGPT2}, "gigachat": {reGPT2},
	"jina-v1-en": {reGPT2}, "jina-v2-es": {reGPT2}, "jina-v2-de": {reGPT2}, "jina-v2-code": {reGPT2},
	"roberta-bpe": {reGPT2},
	"qwen2":       {reQwen2}, "deepseek-r1-qwen": {reQwen2}, "stablelm2": {reQwen2},
	"poro-chat": {` ?[^(\s|.,!?…。，、।۔،)]+`}, "bloom": {` ?[^(\s|.,!?…。，、।۔،)]+`},
	"gpt3-finnish": {` ?[^(\s|.,!?…。，、।۔،)]+`},
	"viking":       {` ?[^(\s|.,!?…。，、।۔،)]+`, `\p{N}`},
}

// splitter splits text into pre-tokens with one pattern.
type splitter interface {
	split(cpts []rune, collapsed []rune, offsets []int) []int
}

type gpt2Splitter struct{}
type llama3Splitter struct{}

type stlSplitter struct {
	re        *regex
	collapsed bool
}

var ucatCollapsed = map[string]struct {
	placeholder rune
	ascii       string
}{
	`\p{N}`: {0xD1, "0-9"},
	`\p{L}`: {0xD2, "A-Za-z"},
	`\p{P}`: {0xD3, "!-#%-*,-/:-;?-@\\[-\\]_\\{\\}"},
	`\p{M}`: {0xD4, ""},
	`\p{S}`: {0xD5, "\\$\\+<-=>\\^`\\|"},
}

// newSplitter compiles one pre-tokenizer pattern the way unicode_regex_split does:
// the GPT-2 and Llama-3 patterns have hand-written splitters; patterns with \p{..}
// run on the category-collapsed text; the rest run on codepoints.
func newSplitter(pattern string) (splitter, error) {
	switch pattern {
	case reGPT2:
		return gpt2Splitter{}, nil
	case reLlama3:
		return llama3Splitter{}, nil
	}
	useCollapsed := false
	for k := range ucatCollapsed {
		if strings.Contains(pattern, k) {
			useCollapsed = true
		}
	}
	if !useCollapsed {
		re, err := compileRegex([]rune(pattern))
		return &stlSplitter{re: re}, err
	}
	for _, r := range pattern {
		if r >= 128 {
			return nil, fmt.Errorf("pre-tokenizer: pattern mixes unicode categories and non-ASCII characters")
		}
	}
	var out []rune
	inside := false
	p := []rune(pattern)
	for i := 0; i < len(p); i++ {
		if p[i] == '[' && (i == 0 || p[i-1] != '\\') {
			out = append(out, '[')
			inside = true
			continue
		}
		if inside && p[i] == ']' && p[i-1] != '\\' {
			out = append(out, ']')
			inside = false
			continue
		}
		if p[i] == '\\' && i+4 < len(p) && p[i+1] == 'p' && p[i+2] == '{' && p[i+4] == '}' {
			if c, ok := ucatCollapsed[string(p[i:i+5])]; ok {
				if !inside {
					out = append(out, '[')
				}
				out = append(out, c.placeholder)
				out = append(out, []rune(c.ascii)...)
				if !inside {
					out = append(out, ']')
				}
				i += 4
				continue
			}
		}
		out = append(out, p[i])
	}
	re, err := compileRegex(out)
	return &stlSplitter{re: re, collapsed: true}, err
}

// collapse maps each codepoint >= 128 to a placeholder for its category (whitespace to
// \v), as llama.cpp does before running std::regex.
func collapse(cpts []rune) []rune {
	out := make([]rune, len(cpts))
	for i, c := range cpts {
		if c < 128 {
			out[i] = c
			continue
		}
		f := flagsOf(c)
		switch {
		case f.has(flagWhitespace):
			out[i] = 0x0b
		case f&maskCategories == flagNumber:
			out[i] = 0xD1
		case f&maskCategories == flagLetter:
			out[i] = 0xD2
		case f&maskCategories == flagPunctuation:
			out[i] = 0xD3
		case f&maskCategories == flagAccentMark:
			out[i] = 0xD4
		case f&maskCategories == flagSymbol:
			out[i] = 0xD5
		default:
			out[i] = 0xD0
		}
	}
	return out
}

func (s *stlSplitter) split(cpts, collapsed []rune, offsets []int) []int {
	text := cpts
	if s.collapsed {
		text = collapsed
	} else {
		text = make([]rune, len(cpts))
		for i, c := range cpts {
			if c > 0x7f && flagsOf(c).has(flagWhitespace) {
				c = 0x0b
			}
			text[i] = c
		}
	}
	var out []int
	start := 0
	for _, n := range offsets {
		out = s.re.split(text, start, start+n, out)
		start += n
	}
	return out
}

// segment gives bounded access to one piece, as the C++ lambdas _get_cpt/_get_flags.
type segment struct {
	cpts     []rune
	ini, end int
	prev     int
	out      []int
}

const outOfRange = -1

func (s *segment) cpt(pos int) rune {
	if pos >= s.ini && pos < s.end {
		return s.cpts[pos]
	}
	return outOfRange
}

func (s *segment) flags(pos int) cptFlags {
	if pos >= s.ini && pos < s.end {
		return flagsOf(s.cpts[pos])
	}
	return 0
}

func (s *segment) add(end int) int {
	n := end - s.prev
	if n > 0 {
		s.out = append(s.out, n)
	}
	s.prev = end
	return n
}

func (gpt2Splitter) split(cpts, _ []rune, offsets []int) []int {
	var out []int
	start := 0
	for _, n := range offsets {
		s := &segment{cpts: cpts, ini: start, end: start + n, prev: start, out: out}
		start += n
		for pos := s.ini; pos < s.end; {
			c, f := s.cpt(pos), s.flags(pos)
			if c == '\'' && pos+1 < s.end {
				cn := s.cpt(pos + 1)
				if cn == 's' || cn == 't' || cn == 'm' || cn == 'd' {
					pos += s.add(pos + 2)
					continue
				}
				if pos+2 < s.end {
					cnn := s.cpt(pos + 2)
					if (cn == 'r' && cnn == 'e') || (cn == 'v' && cnn == 'e') || (cn == 'l' && cnn == 'l') {
						pos += s.add(pos + 3)
						continue
					}
				}
			}
			f2 := f
			if c == ' ' {
				f2 = s.flags(pos + 1)
			}
			sp := 0
			if c == ' ' {
				sp = 1
			}
			if f2.has(flagLetter) {
				pos += sp
				for f2.has(flagLetter) {
					pos++
					f2 = s.flags(pos)
				}
				s.add(pos)
				continue
			}
			if f2.has(flagNumber) {
				pos += sp
				for f2.has(flagNumber) {
					pos++
					f2 = s.flags(pos)
				}
				s.add(pos)
				continue
			}
			if !f2.has(flagWhitespace|flagLetter|flagNumber) && f2 != 0 {
				pos += sp
				for !f2.has(flagWhitespace|flagLetter|flagNumber) && f2 != 0 {
					pos++
					f2 = s.flags(pos)
				}
				s.add(pos)
				continue
			}
			nws := 0
			for s.flags(pos + nws).has(flagWhitespace) {
				nws++
			}
			if nws > 1 && s.cpt(pos+nws) != outOfRange {
				pos += nws - 1
				s.add(pos)
				continue
			}
			if nws > 0 {
				pos += nws
				s.add(pos)
				continue
			}
			pos++
			s.add(pos)
		}
		out = s.out
	}
	return out
}

func (llama3Splitter) split(cpts, _ []rune, offsets []int) []int {
	var out []int
	start := 0
	for _, n := range offsets {
		s := &segment{cpts: cpts, ini: start, end: start + n, prev: start, out: out}
		start += n
		for pos := s.ini; pos < s.end; {
			c, f := s.cpt(pos), s.flags(pos)
			if c == '\'' && pos+1 < s.end {
				cn := unicode.ToLower(s.cpt(pos + 1))
				if cn == 's' || cn == 't' || cn == 'm' || cn == 'd' {
					pos += s.add(pos + 2)
					continue
				}
				if pos+2 < s.end {
					cnn := unicode.ToLower(s.cpt(pos + 2))
					if (cn == 'r' && cnn == 'e') || (cn == 'v' && cnn == 'e') || (cn == 'l' && cnn == 'l') {
						pos += s.add(pos + 3)
						continue
					}
				}
			}
			if !(c == '\r' || c == '\n' || f.has(flagNumber)) {
				if f.has(flagLetter) || s.flags(pos+1).has(flagLetter) {
					pos++
					for s.flags(pos).has(flagLetter) {
						pos++
					}
					s.add(pos)
					continue
				}
			}
			if f.has(flagNumber) {
				ini := pos
				for s.flags(pos).has(flagNumber) {
					pos++
					if pos-ini >= 3 {
						s.add(pos)
						ini = pos
					}
				}
				s.add(pos)
				continue
			}
			f2 := f
			if c == ' ' {
				f2 = s.flags(pos + 1)
			}
			if !f2.has(flagWhitespace|flagLetter|flagNumber) && f != 0 {
				if c == ' ' {
					pos++
				}
				for !f2.has(flagWhitespace|flagLetter|flagNumber) && f2 != 0 {
					pos++
					f2 = s.flags(pos)
				}
				c2 := s.cpt(pos)
				for c2 == '\r' || c2 == '\n' {
					pos++
					c2 = s.cpt(pos)
				}
				s.add(pos)
				continue
			}
			nws, lastRN := 0, 0
			for s.flags(pos + nws).has(flagWhitespace) {
				c2 := s.cpt(pos + nws)
				if c2 == '\r' || c2 == '\n' {
					lastRN = pos + nws + 1
				}
				nws++
			}
			if lastRN > 0 {
				pos = lastRN
				s.add(pos)
				continue
			}
			if nws > 1 && s.cpt(pos+nws) != outOfRange {
				pos += nws - 1
				s.add(pos)
				continue
			}
			if nws > 0 {
				pos += nws
				s.add(pos)
				continue
			}
			pos++
			s.add(pos)
		}
		out = s.out
	}
	return out
}

// preTokenizer applies a list of patterns in turn.
type preTokenizer struct {
	splitters    []splitter
	needCollapse bool
}

func newPreTokenizer(pre string) (*preTokenizer, error) {
	pats, ok := preRegexes[pre]
	if !ok {
		return nil, fmt.Errorf("unknown pre-tokenizer type %q", pre)
	}
	pt := &preTokenizer{}
	for _, p := range pats {
		s, err := newSplitter(p)
		if err != nil {
			return nil, fmt.Errorf("pre-tokenizer %s: %w", pre, err)
		}
		pt.splitters = append(pt.splitters, s)
		if st, ok := s.(*stlSplitter); ok && st.collapsed {
			pt.needCollapse = true
		}
	}
	return pt, nil
}

// words splits text into pre-tokens (as codepoint slices of the text).
func (pt *preTokenizer) words(text string) [][]rune {
	cpts := []rune(text)
	var collapsed []rune
	if pt.needCollapse {
		collapsed = collapse(cpts)
	}
	offsets := []int{len(cpts)}
	for _, s := range pt.splitters {
		offsets = s.split(cpts, collapsed, offsets)
	}
	words := make([][]rune, 0, len(offsets))
	start := 0
	for _, n := range offsets {
		words = append(words, cpts[start:start+n])
		start += n
	}
	return words
}
