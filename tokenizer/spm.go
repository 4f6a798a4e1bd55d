package tokenizer

import "container/heap"

// SentencePiece BPE as llm_tokenizer_spm_session: start from UTF-8 characters, merge
// the adjacent pair whose joined text is the highest-scoring token (ties: leftmost),
// then emit tokens, splitting unknown pieces back along their merges and falling back
// to byte tokens.

type spmSymbol struct {
	prev, next int
	start, n   int // byte range in text
}

type spmBigram struct {
	left, right int
	score       float32
	size        int
}

type spmQueue []spmBigram

func (q spmQueue) Len() int { return len(q) }
func (q spmQueue) Less(i, j int) bool {
	if q[i].score != q[j].score {
		return q[i].score > q[j].score
	}
	return q[i].left < q[j].left
}
func (q spmQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *spmQueue) Push(x any)   { *q = append(*q, x.(spmBigram)) }
func (q *spmQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

func (t *Tokenizer) spm(text string, out []int32) []int32 {
	var syms []spmSymbol
	for off := 0; off < len(text); {
		n := utf8Len(text[off])
		n = min(n, len(text)-off)
		next := len(syms) + 1
		if off+n == len(text) {
			next = -1
		}
		syms = append(syms, spmSymbol{prev: len(syms) - 1, next: next, start: off, n: n})
		off += n
	}
	q := &spmQueue{}
	revMerge := map[string][2]int{}
	tryAdd := func(l, r int) {
		if l < 0 || r < 0 {
			return
		}
		s := text[syms[l].start : syms[l].start+syms[l].n+syms[r].n]
		id, ok := t.ids[s]
		if !ok {
			return
		}
		var score float32
		if t.scores != nil {
			score = t.scores[id]
		}
		heap.Push(q, spmBigram{left: l, right: r, score: score, size: len(s)})
		revMerge[s] = [2]int{l, r}
	}
	for i := 1; i < len(syms); i++ {
		tryAdd(i-1, i)
	}
	for q.Len() > 0 {
		bg := heap.Pop(q).(spmBigram)
		l, r := &syms[bg.left], &syms[bg.right]
		if l.n == 0 || r.n == 0 || l.n+r.n != bg.size {
			continue
		}
		l.n += r.n
		r.n = 0
		l.next = r.next
		if r.next >= 0 {
			syms[r.next].prev = bg.left
		}
		tryAdd(l.prev, bg.left)
		tryAdd(bg.left, l.next)
	}
	var resegment func(s spmSymbol)
	resegment = func(s spmSymbol) {
		piece := text[s.start : s.start+s.n]
		if id, ok := t.ids[piece]; ok {
			out = append(out, id)
			return
		}
		if p, ok := revMerge[piece]; ok {
			resegment(syms[p[0]])
			resegment(syms[p[1]])
			return
		}
		for i := 0; i < len(piece); i++ {
			if id := t.byteTok[piece[i]]; id != None {
				out = append(out, id)
			}
		}
	}
	if len(syms) > 0 {
		for i := 0; i != -1; i = syms[i].next {
			resegment(syms[i])
		}
	}
	return out
}

// utf8Len is the sequence length announced by a UTF-8 lead byte (1 for stray bytes).
func utf8Len(c byte) int {
	switch {
	case c < 0x80:
		return 1
	case c>>5 == 0x6:
		return 2
	case c>>4 == 0xe:
		return 3
	case c>>3 == 0x1e:
		return 4
	}
	return 1
}
