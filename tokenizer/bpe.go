package tokenizer

import "container/heap"

// GPT-2 byte-level BPE as llm_tokenizer_bpe_session: pre-tokenize, map each word's
// bytes to the byte alphabet, merge the lowest-ranked adjacent pair (ties: leftmost)
// until none is left, and emit the tokens.

type bpeBigram struct {
	left, right int
	text        string
	rank        int
}

type bpeQueue []bpeBigram

func (q bpeQueue) Len() int { return len(q) }
func (q bpeQueue) Less(i, j int) bool {
	if q[i].rank != q[j].rank {
		return q[i].rank < q[j].rank
	}
	return q[i].left < q[j].left
}
func (q bpeQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *bpeQueue) Push(x any)   { *q = append(*q, x.(bpeBigram)) }
func (q *bpeQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

func (t *Tokenizer) bpe(text string, out []int32) []int32 {
	for _, w := range t.pretok.words(text) {
		// byte-level encoding of the word
		var enc []rune
		for _, b := range []byte(string(w)) {
			enc = append(enc, byteToRune[b])
		}
		word := string(enc)
		if t.ignoreMerges {
			if id, ok := t.ids[word]; ok {
				out = append(out, id)
				continue
			}
		}
		type sym struct {
			prev, next int
			text       string
		}
		var syms []sym
		for i, r := range enc {
			next := i + 1
			if i == len(enc)-1 {
				next = -1
			}
			syms = append(syms, sym{prev: i - 1, next: next, text: string(r)})
		}
		q := &bpeQueue{}
		add := func(l, r int) {
			if l < 0 || r < 0 {
				return
			}
			rank, ok := t.ranks[[2]string{syms[l].text, syms[r].text}]
			if !ok {
				return
			}
			heap.Push(q, bpeBigram{left: l, right: r, text: syms[l].text + syms[r].text, rank: rank})
		}
		for i := 1; i < len(syms); i++ {
			add(i-1, i)
		}
		for q.Len() > 0 {
			bg := heap.Pop(q).(bpeBigram)
			l, r := &syms[bg.left], &syms[bg.right]
			if l.text == "" || r.text == "" || l.text+r.text != bg.text {
				continue
			}
			l.text += r.text
			r.text = ""
			l.next = r.next
			if r.next >= 0 {
				syms[r.next].prev = bg.left
			}
			add(l.prev, bg.left)
			add(bg.left, l.next)
		}
		for i := 0; len(syms) > 0 && i != -1; i = syms[i].next {
			s := syms[i].text
			if s == "" {
				continue
			}
			if id, ok := t.ids[s]; ok {
				out = append(out, id)
				continue
			}
			for j := 0; j < len(s); j++ { // fall back to single bytes, as llama.cpp does
				if id, ok := t.ids[s[j:j+1]]; ok {
					out = append(out, id)
				}
			}
		}
	}
	return out
}
