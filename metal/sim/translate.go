package sim

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Kernel describes one dispatchable kernel found in a .metal source.
type Kernel struct {
	Name   string  // host name (what a pipeline is created by)
	Call   string  // C++ callee: function name with template arguments
	Params []Param // in declaration order
}

// Param is one kernel parameter and its binding attribute.
type Param struct {
	Type string // C++ type text, e.g. "device const float *" or "constant Args &"
	Name string
	Attr string // "buffer", "threadgroup", or a thread attribute such as "thread_position_in_grid"
	Slot int    // buffer or threadgroup index
}

// Translation is a .metal file rewritten as C++ for the shim header.
type Translation struct {
	Source    string // line-preserving rewrite of the kernel file
	Kernels   []Kernel
	Constants map[int]string // function-constant index -> name
}

var vectorTypes = func() map[string]bool {
	m := map[string]bool{}
	for _, b := range []string{"float", "half", "int", "uint", "short", "ushort", "char", "uchar", "ulong", "bool"} {
		for _, n := range []string{"2", "3", "4"} {
			m[b+n] = true
		}
	}
	return m
}()

// stripComments blanks // and /* */ comments, keeping newlines and string literals.
func stripComments(src string) string {
	b := []byte(src)
	out := make([]byte, len(b))
	copy(out, b)
	for i := 0; i < len(b); i++ {
		switch {
		case b[i] == '"':
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
		case b[i] == '/' && i+1 < len(b) && b[i+1] == '/':
			for ; i < len(b) && b[i] != '\n'; i++ {
				out[i] = ' '
			}
		case b[i] == '/' && i+1 < len(b) && b[i+1] == '*':
			out[i], out[i+1] = ' ', ' '
			for i += 2; i < len(b) && !(b[i] == '*' && i+1 < len(b) && b[i+1] == '/'); i++ {
				if b[i] != '\n' {
					out[i] = ' '
				}
			}
			if i < len(b) {
				out[i], out[i+1] = ' ', ' '
				i++
			}
		}
	}
	return string(out)
}

func isIdent(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

// blank replaces s[i:j] by spaces, keeping newlines.
func blank(s string) string {
	b := []byte(s)
	for i := range b {
		if b[i] != '\n' {
			b[i] = ' '
		}
	}
	return string(b)
}

var (
	reHostName  = regexp.MustCompile(`template\s*\[\[\s*host_name\(\s*"([^"]+)"\s*\)\s*\]\]\s*kernel\s+[^;]*?\b([A-Za-z_]\w*)\s*<([^;]*?)>\s*(\([^;]*\))?\s*;`)
	reKernelDef = regexp.MustCompile(`\bkernel\s+void\s+([A-Za-z_]\w*)\s*\(`)
	reFuncConst = regexp.MustCompile(`constant\s+([A-Za-z_][\w:<>]*)\s+([A-Za-z_]\w*)\s*\[\[\s*function_constant\(\s*(\d+)\s*\)\s*\]\]\s*;`)
	reTGAttr    = regexp.MustCompile(`\[\[\s*threadgroup\s*\(`)
	reTemplate  = regexp.MustCompile(`template\s*<[^{;]*>\s*$`)
)

// Translate rewrites a .metal source for the C++ shim. check selects the
// address-space-check variant (no thunks, address spaces kept).
func Translate(file, src string, check bool) (*Translation, error) {
	s := stripComments(src)
	t := &Translation{Constants: map[int]string{}}

	// 1. explicit instantiations with host names
	type inst struct{ host, fn, targs string }
	var insts []inst
	s = reHostName.ReplaceAllStringFunc(s, func(m string) string {
		g := reHostName.FindStringSubmatch(m)
		insts = append(insts, inst{g[1], g[2], g[3]})
		return blank(m)
	})

	// 2. function constants become settable globals
	s = reFuncConst.ReplaceAllStringFunc(s, func(m string) string {
		g := reFuncConst.FindStringSubmatch(m)
		var idx int
		fmt.Sscan(g[3], &idx)
		t.Constants[idx] = g[2]
		if check {
			return g[1] + " " + g[2] + " = " + g[1] + "();" + blank(m[min(len(m), len(g[1])+len(g[2])+len(g[1])+7):])
		}
		return fmt.Sprintf("%s %s = %s(); static int __mtl_fc_%s = (mtl_register_fc(%d, &%s, sizeof(%s)), 0);",
			g[1], g[2], g[1], g[2], idx, g[2], g[2])
	})

	// 3. [[threadgroup(n)]] would become [[(n)]] once threadgroup is an empty macro
	s = reTGAttr.ReplaceAllString(s, "[[mtl_threadgroup(")

	// 4. kernel definitions: parameter lists
	defs := map[string][]Param{}
	templated := map[string]bool{}
	for _, loc := range reKernelDef.FindAllStringSubmatchIndex(s, -1) {
		name := s[loc[2]:loc[3]]
		open := loc[1] - 1
		close := matchParen(s, open)
		if close < 0 {
			return nil, fmt.Errorf("%s:%d: kernel %s: unbalanced parentheses", file, lineOf(s, open), name)
		}
		params, err := parseParams(s[open+1 : close])
		if err != nil {
			return nil, fmt.Errorf("%s:%d: kernel %s: %w", file, lineOf(s, open), name, err)
		}
		defs[name] = params
		if reTemplate.MatchString(s[max(0, loc[0]-200):loc[0]]) {
			templated[name] = true
		}
	}
	for name, params := range defs {
		if !templated[name] {
			t.Kernels = append(t.Kernels, Kernel{Name: name, Call: name, Params: params})
		}
	}
	for _, in := range insts {
		params, ok := defs[in.fn]
		if !ok {
			return nil, fmt.Errorf("%s: host_name %q instantiates unknown kernel %s", file, in.host, in.fn)
		}
		t.Kernels = append(t.Kernels, Kernel{Name: in.host, Call: in.fn + "<" + strings.TrimSpace(in.targs) + ">", Params: params})
	}
	sort.Slice(t.Kernels, func(i, j int) bool { return t.Kernels[i].Name < t.Kernels[j].Name })

	// 5. threadgroup arrays declared in function bodies are shared per threadgroup
	s = rewriteThreadgroupLocals(s)

	// 6. C-style vector casts convert values in MSL
	var err error
	if s, err = rewriteVectorCasts(file, s); err != nil {
		return nil, err
	}
	t.Source = s
	return t, nil
}

func lineOf(s string, off int) int { return strings.Count(s[:off], "\n") + 1 }

func matchParen(s string, open int) int {
	depth := 0
	for i := open; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

var threadAttrs = map[string]bool{
	"thread_position_in_grid": true, "threadgroup_position_in_grid": true, "thread_position_in_threadgroup": true,
	"threads_per_threadgroup": true, "threadgroups_per_grid": true, "threads_per_grid": true,
	"thread_index_in_threadgroup": true, "thread_index_in_simdgroup": true, "simdgroup_index_in_threadgroup": true,
	"threads_per_simdgroup": true, "simdgroups_per_threadgroup": true,
}

func parseParams(list string) ([]Param, error) {
	var out []Param
	depth, start := 0, 0
	var parts []string
	for i := 0; i < len(list); i++ {
		switch list[i] {
		case '(', '<', '[':
			depth++
		case ')', '>', ']':
			depth--
		case ',':
			if depth == 0 {
				parts = append(parts, list[start:i])
				start = i + 1
			}
		}
	}
	parts = append(parts, list[start:])
	for _, p := range parts {
		p = strings.Join(strings.Fields(p), " ")
		if p == "" {
			continue
		}
		at := strings.Index(p, "[[")
		if at < 0 {
			return nil, fmt.Errorf("parameter %q has no [[...]] binding", p)
		}
		decl, attr := strings.TrimSpace(p[:at]), strings.TrimSpace(p[at+2:strings.LastIndex(p, "]]")])
		j := len(decl)
		for j > 0 && isIdent(decl[j-1]) {
			j--
		}
		prm := Param{Type: strings.TrimSpace(decl[:j]), Name: decl[j:]}
		switch {
		case strings.HasPrefix(attr, "buffer("):
			prm.Attr = "buffer"
			fmt.Sscanf(attr, "buffer(%d)", &prm.Slot)
		case strings.HasPrefix(attr, "mtl_threadgroup("), strings.HasPrefix(attr, "threadgroup("):
			prm.Attr = "threadgroup"
			fmt.Sscanf(attr[strings.Index(attr, "(")+1:], "%d", &prm.Slot)
		case threadAttrs[attr]:
			prm.Attr = attr
		default:
			return nil, fmt.Errorf("parameter %s: unsupported attribute [[%s]]", prm.Name, attr)
		}
		if (prm.Attr == "buffer" || prm.Attr == "threadgroup") && !strings.Contains(prm.Type, "device") &&
			!strings.Contains(prm.Type, "constant") && !strings.Contains(prm.Type, "threadgroup") {
			return nil, fmt.Errorf("parameter %s: pointer or reference without an address space", prm.Name)
		}
		out = append(out, prm)
	}
	return out, nil
}

// rewriteThreadgroupLocals turns "threadgroup T x[N];" statements inside function bodies
// into per-threadgroup storage (MTL_TG_LOCAL) with a 0xFF fill at each threadgroup's start.
func rewriteThreadgroupLocals(s string) string {
	var b strings.Builder
	depth := 0
	stmtStart := true
	for i := 0; i < len(s); {
		c := s[i]
		if depth > 0 && stmtStart && strings.HasPrefix(s[i:], "threadgroup") && (i+11 < len(s) && !isIdent(s[i+11])) {
			end := strings.IndexByte(s[i:], ';')
			decl := s[i+11 : i+end]
			name := ""
			if br := strings.IndexByte(decl, '['); br >= 0 {
				k := br
				for k > 0 && decl[k-1] == ' ' {
					k--
				}
				j := k
				for j > 0 && isIdent(decl[j-1]) {
					j--
				}
				name = decl[j:k]
			}
			b.WriteString("MTL_TG_LOCAL" + decl + ";")
			if name != "" {
				b.WriteString(" MTL_TG_INIT(" + name + ");")
			}
			i += end + 1
			stmtStart = true
			continue
		}
		switch c {
		case '{':
			depth++
			stmtStart = true
		case '}':
			depth--
			stmtStart = true
		case ';':
			stmtStart = true
		case ' ', '\t', '\n', '\r':
		default:
			stmtStart = false
		}
		b.WriteByte(c)
		i++
	}
	return b.String()
}

// rewriteVectorCasts turns "(float4)expr" into "mtl_cast<float4>(expr)".
func rewriteVectorCasts(file, s string) (string, error) {
	for {
		i, vt := findVectorCast(s)
		if i < 0 {
			return s, nil
		}
		castEnd := i + len(vt) + 2 // "(" vt ")"
		for castEnd < len(s) && s[castEnd] == ' ' {
			castEnd++
		}
		end, err := operandEnd(s, castEnd)
		if err != nil {
			return "", fmt.Errorf("%s:%d: cast to %s: %w", file, lineOf(s, i), vt, err)
		}
		s = s[:i] + "mtl_cast<" + vt + ">(" + s[castEnd:end] + ")" + s[end:]
	}
}

func findVectorCast(s string) (int, string) {
	for i := 0; i < len(s); i++ {
		if s[i] != '(' {
			continue
		}
		j := i + 1
		for j < len(s) && s[j] == ' ' {
			j++
		}
		k := j
		for k < len(s) && isIdent(s[k]) {
			k++
		}
		if !vectorTypes[s[j:k]] {
			continue
		}
		m := k
		for m < len(s) && s[m] == ' ' {
			m++
		}
		if m < len(s) && s[m] == ')' {
			// "(float4)" followed by an operand, not "f(float4)" (a parameter list)
			if i > 0 {
				p := i - 1
				for p > 0 && s[p] == ' ' {
					p--
				}
				if isIdent(s[p]) && !isKeywordBefore(s, p) {
					continue
				}
			}
			// normalize "( float4 )" to exact width handled by caller
			if j != i+1 || m != k {
				return -1, ""
			}
			return i, s[j:k]
		}
	}
	return -1, ""
}

func isKeywordBefore(s string, p int) bool {
	j := p
	for j > 0 && isIdent(s[j-1]) {
		j--
	}
	switch s[j : p+1] {
	case "return", "case":
		return true
	}
	return false
}

// operandEnd finds the end of the unary expression starting at i.
func operandEnd(s string, i int) (int, error) {
	for i < len(s) && strings.ContainsRune("-+!~*&", rune(s[i])) {
		i++
	}
	for i < len(s) && s[i] == ' ' {
		i++
	}
	if i >= len(s) {
		return 0, fmt.Errorf("missing operand")
	}
	switch {
	case s[i] == '(':
		e := matchParen(s, i)
		if e < 0 {
			return 0, fmt.Errorf("unbalanced parentheses")
		}
		// a nested cast: "(half4)(float4)x"
		inner := strings.TrimSpace(s[i+1 : e])
		if vectorTypes[inner] {
			return operandEnd(s, e+1)
		}
		i = e + 1
	case isIdent(s[i]) || s[i] == '.':
		for i < len(s) && (isIdent(s[i]) || s[i] == '.' || s[i] == ':') {
			i++
		}
	default:
		return 0, fmt.Errorf("unexpected %q", s[i])
	}
	for i < len(s) {
		switch {
		case s[i] == '(' || s[i] == '[':
			var e int
			if s[i] == '(' {
				e = matchParen(s, i)
			} else {
				e = matchBracket(s, i)
			}
			if e < 0 {
				return 0, fmt.Errorf("unbalanced brackets")
			}
			i = e + 1
		case s[i] == '.' && i+1 < len(s) && isIdent(s[i+1]):
			i++
			for i < len(s) && isIdent(s[i]) {
				i++
			}
		case strings.HasPrefix(s[i:], "->"):
			i += 2
			for i < len(s) && isIdent(s[i]) {
				i++
			}
		default:
			return i, nil
		}
	}
	return i, nil
}

func matchBracket(s string, open int) int {
	depth := 0
	for i := open; i < len(s); i++ {
		switch s[i] {
		case '[':
			depth++
		case ']':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// Thunks generates the C ABI entry points and kernel table appended in execution mode.
func (t *Translation) Thunks() string {
	var b strings.Builder
	b.WriteString("\n// ---- generated by metal/sim: kernel entry points ----\n")
	for i, k := range t.Kernels {
		fmt.Fprintf(&b, "static void __mtl_thunk_%d(void **b, const mtl_tinfo *t) {\n  %s(", i, k.Call)
		for j, p := range k.Params {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString(paramExpr(p))
		}
		b.WriteString(");\n}\n")
	}
	b.WriteString("extern \"C\" const mtl_kernel_desc mtl_kernels[] = {\n")
	for i, k := range t.Kernels {
		fmt.Fprintf(&b, "  {%q, __mtl_thunk_%d},\n", k.Name, i)
	}
	if len(t.Kernels) == 0 {
		b.WriteString("  {\"\", nullptr},\n")
	}
	fmt.Fprintf(&b, "};\nextern \"C\" const int mtl_nkernels = %d;\n", len(t.Kernels))
	return b.String()
}

func paramExpr(p Param) string {
	switch p.Attr {
	case "buffer":
		return "mtl_arg_ptr{b[" + fmt.Sprint(p.Slot) + "]}"
	case "threadgroup":
		return "mtl_arg_ptr{mtl_tg_mem(" + fmt.Sprint(p.Slot) + ")}"
	}
	field := map[string]string{
		"thread_position_in_grid": "tpig", "threadgroup_position_in_grid": "tgpig",
		"thread_position_in_threadgroup": "tpitg", "threads_per_threadgroup": "ntg",
		"threadgroups_per_grid": "ngrid", "threads_per_grid": "tpg", "thread_index_in_threadgroup": "tiitg",
		"thread_index_in_simdgroup": "tiisg", "simdgroup_index_in_threadgroup": "sgitg",
		"threads_per_simdgroup": "tpsg", "simdgroups_per_threadgroup": "nsg",
	}[p.Attr]
	if field == "tpig" || field == "tgpig" || field == "tpitg" || field == "ntg" || field == "ngrid" || field == "tpg" {
		return "mtl_arg_attr<uint3>{t->" + field + "}"
	}
	return "mtl_arg_attr<uint>{t->" + field + "}"
}
