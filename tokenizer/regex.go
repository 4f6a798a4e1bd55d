package tokenizer

import (
	"fmt"
	"strconv"
)

// A small backtracking regular-expression engine for the pre-tokenizer patterns. It
// follows ECMAScript (std::regex) semantics, which llama.cpp uses: leftmost-first
// alternation, greedy quantifiers, lookahead (?= ) and (?! ) — which Go's regexp lacks —
// and \s meaning [ \t\n\v\f\r]. It runs over runes, so a pattern can be applied to
// llama.cpp's "collapsed" text where each codepoint stands for its category.

type reNode interface{}

type reChar struct{ match func(rune) bool }
type reSeq []reNode
type reAlt []reNode
type reRepeat struct {
	node     reNode
	min, max int // max < 0: unbounded
}
type reLook struct {
	node reNode
	neg  bool
}
type reBegin struct{}
type reEnd struct{}

type regex struct{ root reNode }

type reParser struct {
	p   []rune
	pos int
}

func compileRegex(pattern []rune) (*regex, error) {
	ps := &reParser{p: pattern}
	n, err := ps.alt()
	if err != nil {
		return nil, err
	}
	if ps.pos != len(ps.p) {
		return nil, fmt.Errorf("regex: unexpected %q at %d", ps.p[ps.pos], ps.pos)
	}
	return &regex{root: n}, nil
}

func (ps *reParser) peek() rune {
	if ps.pos < len(ps.p) {
		return ps.p[ps.pos]
	}
	return -1
}

func (ps *reParser) alt() (reNode, error) {
	var alts reAlt
	for {
		s, err := ps.seq()
		if err != nil {
			return nil, err
		}
		alts = append(alts, s)
		if ps.peek() != '|' {
			break
		}
		ps.pos++
	}
	if len(alts) == 1 {
		return alts[0], nil
	}
	return alts, nil
}

func (ps *reParser) seq() (reNode, error) {
	var s reSeq
	for ps.pos < len(ps.p) && ps.peek() != '|' && ps.peek() != ')' {
		atom, err := ps.atom()
		if err != nil {
			return nil, err
		}
		atom, err = ps.quant(atom)
		if err != nil {
			return nil, err
		}
		s = append(s, atom)
	}
	return s, nil
}

func (ps *reParser) quant(atom reNode) (reNode, error) {
	for {
		min, max := 0, 0
		switch ps.peek() {
		case '*':
			min, max = 0, -1
		case '+':
			min, max = 1, -1
		case '?':
			min, max = 0, 1
		case '{':
			end := ps.pos + 1
			for end < len(ps.p) && ps.p[end] != '}' {
				end++
			}
			if end == len(ps.p) {
				return nil, fmt.Errorf("regex: unclosed {")
			}
			body := string(ps.p[ps.pos+1 : end])
			var err error
			if i := indexRune(body, ','); i < 0 {
				min, err = strconv.Atoi(body)
				max = min
			} else {
				if min, err = strconv.Atoi(body[:i]); err == nil {
					if body[i+1:] == "" {
						max = -1
					} else {
						max, err = strconv.Atoi(body[i+1:])
					}
				}
			}
			if err != nil {
				return nil, fmt.Errorf("regex: bad repetition {%s}", body)
			}
			ps.pos = end
		default:
			return atom, nil
		}
		ps.pos++
		if ps.peek() == '?' {
			return nil, fmt.Errorf("regex: lazy quantifiers are not supported")
		}
		atom = &reRepeat{atom, min, max}
	}
}

func indexRune(s string, r rune) int {
	for i, c := range s {
		if c == r {
			return i
		}
	}
	return -1
}

func (ps *reParser) atom() (reNode, error) {
	c := ps.p[ps.pos]
	ps.pos++
	switch c {
	case '(':
		look, neg := false, false
		if ps.peek() == '?' {
			if ps.pos+1 >= len(ps.p) {
				return nil, fmt.Errorf("regex: bad group")
			}
			switch ps.p[ps.pos+1] {
			case ':':
			case '=':
				look = true
			case '!':
				look, neg = true, true
			default:
				return nil, fmt.Errorf("regex: unsupported group (?%c", ps.p[ps.pos+1])
			}
			ps.pos += 2
		}
		n, err := ps.alt()
		if err != nil {
			return nil, err
		}
		if ps.peek() != ')' {
			return nil, fmt.Errorf("regex: missing )")
		}
		ps.pos++
		if look {
			return &reLook{n, neg}, nil
		}
		return n, nil
	case '[':
		return ps.class()
	case '.':
		return &reChar{func(r rune) bool { return r != '\n' && r != '\r' && r != 0x2028 && r != 0x2029 }}, nil
	case '^':
		return reBegin{}, nil
	case '$':
		return reEnd{}, nil
	case '\\':
		m, err := ps.escape()
		if err != nil {
			return nil, err
		}
		return &reChar{m}, nil
	}
	return &reChar{func(r rune) bool { return r == c }}, nil
}

func isSpaceECMA(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\v' || r == '\f' || r == '\r'
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' }

func isWord(r rune) bool {
	return r == '_' || isDigit(r) || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
}

// escape parses the character after a backslash into a matcher.
func (ps *reParser) escape() (func(rune) bool, error) {
	if ps.pos >= len(ps.p) {
		return nil, fmt.Errorf("regex: trailing backslash")
	}
	c := ps.p[ps.pos]
	ps.pos++
	lit := func(x rune) func(rune) bool { return func(r rune) bool { return r == x } }
	switch c {
	case 's':
		return isSpaceECMA, nil
	case 'S':
		return func(r rune) bool { return !isSpaceECMA(r) }, nil
	case 'd':
		return isDigit, nil
	case 'D':
		return func(r rune) bool { return !isDigit(r) }, nil
	case 'w':
		return isWord, nil
	case 'W':
		return func(r rune) bool { return !isWord(r) }, nil
	case 'n':
		return lit('\n'), nil
	case 'r':
		return lit('\r'), nil
	case 't':
		return lit('\t'), nil
	case 'f':
		return lit('\f'), nil
	case 'v':
		return lit('\v'), nil
	case 'p':
		// \p{X} over real codepoints (llama.cpp replaces these by collapsed classes
		// first; this path serves patterns used on uncollapsed text).
		if ps.pos+2 < len(ps.p) && ps.p[ps.pos] == '{' && ps.p[ps.pos+2] == '}' {
			var f cptFlags
			switch ps.p[ps.pos+1] {
			case 'L':
				f = flagLetter
			case 'N':
				f = flagNumber
			case 'P':
				f = flagPunctuation
			case 'M':
				f = flagAccentMark
			case 'S':
				f = flagSymbol
			default:
				return nil, fmt.Errorf("regex: unsupported class \\p{%c}", ps.p[ps.pos+1])
			}
			ps.pos += 3
			return func(r rune) bool { return flagsOf(r).has(f) }, nil
		}
		return nil, fmt.Errorf("regex: bad \\p")
	}
	return lit(c), nil
}

// class parses [...] (the '[' already consumed).
func (ps *reParser) class() (reNode, error) {
	neg := false
	if ps.peek() == '^' {
		neg = true
		ps.pos++
	}
	var items []func(rune) bool
	first := true
	for {
		if ps.pos >= len(ps.p) {
			return nil, fmt.Errorf("regex: unclosed [")
		}
		c := ps.p[ps.pos]
		if c == ']' && !first {
			ps.pos++
			break
		}
		first = false
		ps.pos++
		var lo rune = -1
		var m func(rune) bool
		if c == '\\' {
			save := ps.pos
			esc := ps.p[ps.pos]
			var err error
			if m, err = ps.escape(); err != nil {
				return nil, err
			}
			switch esc {
			case 's', 'S', 'd', 'D', 'w', 'W', 'p':
			default:
				// a single escaped character can start a range
				lo = ps.p[save]
				switch esc {
				case 'n':
					lo = '\n'
				case 'r':
					lo = '\r'
				case 't':
					lo = '\t'
				case 'f':
					lo = '\f'
				case 'v':
					lo = '\v'
				}
			}
		} else {
			lo = c
			x := c
			m = func(r rune) bool { return r == x }
		}
		if lo >= 0 && ps.pos+1 < len(ps.p) && ps.p[ps.pos] == '-' && ps.p[ps.pos+1] != ']' {
			ps.pos++
			hi := ps.p[ps.pos]
			ps.pos++
			if hi == '\\' {
				hi = ps.p[ps.pos]
				ps.pos++
			}
			l, h := lo, hi
			m = func(r rune) bool { return r >= l && r <= h }
		}
		items = append(items, m)
	}
	return &reChar{func(r rune) bool {
		in := false
		for _, m := range items {
			if m(r) {
				in = true
				break
			}
		}
		return in != neg
	}}, nil
}

// matchAt returns the end of the leftmost-first match starting at pos, or -1.
func (re *regex) matchAt(text []rune, pos int) int {
	end := -1
	m := &reMatcher{text: text}
	m.match(re.root, pos, func(e int) bool { end = e; return true })
	return end
}

type reMatcher struct{ text []rune }

func (m *reMatcher) match(n reNode, pos int, k func(int) bool) bool {
	switch n := n.(type) {
	case *reChar:
		if pos < len(m.text) && n.match(m.text[pos]) {
			return k(pos + 1)
		}
		return false
	case reSeq:
		return m.seq(n, 0, pos, k)
	case reAlt:
		for _, a := range n {
			if m.match(a, pos, k) {
				return true
			}
		}
		return false
	case *reRepeat:
		if c, ok := n.node.(*reChar); ok {
			// fast path: count, then back off greedily
			cnt := 0
			for (n.max < 0 || cnt < n.max) && pos+cnt < len(m.text) && c.match(m.text[pos+cnt]) {
				cnt++
			}
			for ; cnt >= n.min; cnt-- {
				if k(pos + cnt) {
					return true
				}
			}
			return false
		}
		return m.repeat(n, 0, pos, k)
	case *reLook:
		found := m.match(n.node, pos, func(int) bool { return true })
		if found != n.neg {
			return k(pos)
		}
		return false
	case reBegin:
		return pos == 0 && k(pos)
	case reEnd:
		return pos == len(m.text) && k(pos)
	}
	panic("regex: unknown node")
}

func (m *reMatcher) seq(s reSeq, i, pos int, k func(int) bool) bool {
	if i == len(s) {
		return k(pos)
	}
	return m.match(s[i], pos, func(p int) bool { return m.seq(s, i+1, p, k) })
}

func (m *reMatcher) repeat(n *reRepeat, count, pos int, k func(int) bool) bool {
	if n.max < 0 || count < n.max {
		if m.match(n.node, pos, func(p int) bool {
			if p == pos && count >= n.min { // an empty iteration ends the loop
				return false
			}
			return m.repeat(n, count+1, p, k)
		}) {
			return true
		}
	}
	return count >= n.min && k(pos)
}

// split appends, for the segment text[start:end], the lengths of matches and of the
// unmatched runs between them (std::regex_iterator over the segment, as
// unicode_regex_split_stl does).
func (re *regex) split(text []rune, start, end int, out []int) []int {
	seg := text[start:end]
	prev, pos := 0, 0
	for pos <= len(seg) {
		var e int = -1
		var at int
		for at = pos; at <= len(seg); at++ {
			if e = re.matchAt(seg, at); e >= 0 {
				break
			}
		}
		if e < 0 {
			break
		}
		if at > prev {
			out = append(out, at-prev)
		}
		out = append(out, e-at)
		prev = e
		if e == at {
			pos = e + 1 // empty match: move on
		} else {
			pos = e
		}
	}
	if prev < len(seg) {
		out = append(out, len(seg)-prev)
	}
	return out
}
