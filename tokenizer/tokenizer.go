// Package tokenizer turns text into token ids and back, exactly as llama.cpp does for
// GGUF vocabularies: SentencePiece-style ("llama": scores, byte fallback, leading
// space) and GPT-2 byte-level BPE ("gpt2": merges and the pre-tokenizer regexes chosen
// by tokenizer.ggml.pre), with special tokens written in text parsed as tokens.
package tokenizer

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/inferno-go/inferno/gguf"
)

// Kind is the vocabulary type.
type Kind int

const (
	SPM Kind = iota // tokenizer.ggml.model = "llama"
	BPE             // tokenizer.ggml.model = "gpt2"
)

// Token types (tokenizer.ggml.token_type).
const (
	TypeUndefined   = 0
	TypeNormal      = 1
	TypeUnknown     = 2
	TypeControl     = 3
	TypeUserDefined = 4
	TypeUnused      = 5
	TypeByte        = 6
)

// None marks an absent special token.
const None = -1

// Tokenizer holds a vocabulary. It is immutable and safe for concurrent use.
type Tokenizer struct {
	Kind   Kind
	Pre    string
	tokens []string
	scores []float32
	types  []int32
	ids    map[string]int32

	BOS, EOS, EOT, EOM, UNK, PAD int32
	AddBOS, AddEOS               bool
	addSpacePrefix               bool
	ignoreMerges                 bool
	eog                          map[int32]bool

	special []int32        // control, user-defined and unknown tokens, longest text first
	rstrip  map[int32]bool // strip whitespace after the token when partitioning (Phi-3)
	ranks   map[[2]string]int
	pretok  *preTokenizer
	byteTok [256]int32
}

// FromGGUF reads the vocabulary of f.
func FromGGUF(f *gguf.File) (*Tokenizer, error) {
	model, err := f.String("tokenizer.ggml.model")
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	t := &Tokenizer{ids: map[string]int32{}, eog: map[int32]bool{},
		EOT: None, EOM: None, PAD: None}
	switch model {
	case "llama":
		t.Kind = SPM
		t.BOS, t.EOS, t.UNK = 1, 2, 0
		t.addSpacePrefix, t.AddBOS = true, true
	case "gpt2":
		t.Kind = BPE
		t.BOS, t.EOS, t.UNK = 11, 11, None
		t.Pre, err = f.StringOr("tokenizer.ggml.pre", "default")
		if err != nil {
			return nil, fmt.Errorf("tokenizer: %w", err)
		}
		switch t.Pre {
		case "llama3", "llama-v3", "llama-bpe", "falcon3", "tekken", "chameleon":
			t.ignoreMerges = t.Pre != "chameleon"
			t.AddBOS = true
		}
		if t.pretok, err = newPreTokenizer(t.Pre); err != nil {
			return nil, fmt.Errorf("tokenizer: %w", err)
		}
	default:
		return nil, fmt.Errorf("tokenizer: tokenizer.ggml.model %q is not supported (supported: llama, gpt2)", model)
	}
	if t.tokens, err = f.Strings("tokenizer.ggml.tokens"); err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	n := len(t.tokens)
	if n == 0 {
		return nil, fmt.Errorf("tokenizer: empty token list")
	}
	if f.Has("tokenizer.ggml.scores") {
		if t.scores, err = f.Float32s("tokenizer.ggml.scores"); err != nil {
			return nil, fmt.Errorf("tokenizer: %w", err)
		}
		if len(t.scores) != n {
			return nil, fmt.Errorf("tokenizer: tokenizer.ggml.scores: %d scores for %d tokens", len(t.scores), n)
		}
	}
	t.types = make([]int32, n)
	for i := range t.types {
		t.types[i] = TypeNormal
	}
	if f.Has("tokenizer.ggml.token_type") {
		tt, err := f.Int32s("tokenizer.ggml.token_type")
		if err != nil {
			return nil, fmt.Errorf("tokenizer: %w", err)
		}
		if len(tt) != n {
			return nil, fmt.Errorf("tokenizer: tokenizer.ggml.token_type: %d types for %d tokens", len(tt), n)
		}
		for i, ty := range tt {
			if ty < TypeUndefined || ty > TypeByte {
				return nil, fmt.Errorf("tokenizer: tokenizer.ggml.token_type[%d] = %d (token %q) is not a token type (%d..%d)", i, ty, t.tokens[i], TypeUndefined, TypeByte)
			}
		}
		t.types = tt
	}
	for i, s := range t.tokens {
		if s == "" {
			s = "[EMPTY_" + strconv.Itoa(i) + "]"
			t.tokens[i] = s
		}
		t.ids[s] = int32(i)
	}
	if t.Kind == BPE {
		merges, err := f.Strings("tokenizer.ggml.merges")
		if err != nil {
			return nil, fmt.Errorf("tokenizer: gpt2 vocabulary without merges: %w", err)
		}
		t.ranks = make(map[[2]string]int, len(merges))
		for i, m := range merges {
			if p := strings.IndexByte(m[min(1, len(m)):], ' '); p >= 0 {
				p++
				t.ranks[[2]string{m[:p], m[p+1:]}] = i
			}
		}
	}
	if v, err := f.BoolOr("tokenizer.ggml.add_space_prefix", t.addSpacePrefix); err == nil {
		t.addSpacePrefix = v
	}
	for _, s := range []struct {
		key string
		id  *int32
	}{{"bos", &t.BOS}, {"eos", &t.EOS}, {"eot", &t.EOT}, {"eom", &t.EOM}, {"unknown", &t.UNK}, {"padding", &t.PAD}} {
		v, err := f.IntOr("tokenizer.ggml."+s.key+"_token_id", -2)
		if err != nil {
			return nil, fmt.Errorf("tokenizer: %w", err)
		}
		if v == -2 {
			continue
		}
		if v >= 0 && v < int64(n) {
			*s.id = int32(v)
		} // out of range (e.g. 4294967295 = none): keep the default, as llama.cpp does
	}
	if v, err := f.BoolOr("tokenizer.ggml.add_bos_token", t.AddBOS); err == nil {
		t.AddBOS = v
	} else {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	if v, err := f.BoolOr("tokenizer.ggml.add_eos_token", t.AddEOS); err == nil {
		t.AddEOS = v
	} else {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	t.finish()
	// llama.cpp sets per-token strip attributes by model name (Phi-3 only, here).
	if name, _ := f.StringOr("general.name", ""); strings.Contains(strings.ToLower(name), "phi-3") || strings.Contains(strings.ToLower(name), "phi3") {
		t.rstrip = map[int32]bool{}
		for _, id := range t.special {
			t.rstrip[id] = true
		}
		if id, ok := t.ids["</s>"]; ok {
			t.rstrip[id] = true
		}
		for _, s := range []string{"<unk>", "<s>", "<|endoftext|>"} {
			if id, ok := t.ids[s]; ok {
				delete(t.rstrip, id)
			}
		}
	}
	return t, nil
}

var eotTexts = []string{"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<EOT>", "<｜end▁of▁sentence｜>"}
var eogTexts = []string{"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>", "<EOT>"}

// finish derives end-of-generation tokens, the special-token list and byte tokens.
func (t *Tokenizer) finish() {
	if t.EOT == None {
		for _, s := range eotTexts {
			if id, ok := t.ids[s]; ok {
				t.EOT = id
				t.types[id] = TypeControl
				break
			}
		}
	}
	if id, ok := t.ids["<|eom_id|>"]; ok && t.EOM == None {
		t.EOM = id
		t.types[id] = TypeControl
	}
	for _, s := range eogTexts {
		if id, ok := t.ids[s]; ok {
			t.eog[id] = true
			t.types[id] = TypeControl
		}
	}
	for _, id := range []int32{t.EOS, t.EOT, t.EOM} {
		if id != None {
			t.eog[id] = true
		}
	}
	for id, ty := range t.types {
		if ty == TypeControl || ty == TypeUserDefined || ty == TypeUnknown {
			t.special = append(t.special, int32(id))
		}
	}
	sort.SliceStable(t.special, func(a, b int) bool {
		return len(t.tokens[t.special[a]]) > len(t.tokens[t.special[b]])
	})
	for b := 0; b < 256; b++ {
		t.byteTok[b] = None
		if t.Kind == SPM {
			if id, ok := t.ids[fmt.Sprintf("<0x%02X>", b)]; ok {
				t.byteTok[b] = id
			} else if id, ok := t.ids[string([]byte{byte(b)})]; ok {
				t.byteTok[b] = id
			}
		} else if id, ok := t.ids[string(byteToRune[b])]; ok {
			t.byteTok[b] = id
		}
	}
}

// Len is the vocabulary size.
func (t *Tokenizer) Len() int { return len(t.tokens) }

// Text is a token's raw vocabulary text.
func (t *Tokenizer) Text(id int32) string { return t.tokens[id] }

// IsEOG reports whether id ends generation (EOS, EOT, EOM and the like).
func (t *Tokenizer) IsEOG(id int32) bool { return t.eog[id] }

// Lookup returns the id of a token's exact text.
func (t *Tokenizer) Lookup(text string) (int32, bool) { id, ok := t.ids[text]; return id, ok }

// fragment is raw text or an already-recognized special token.
type fragment struct {
	text  string
	token int32 // None for text
}

// partition splits text at special tokens (tokenizer_st_partition). When parseSpecial
// is false, control and unknown tokens are left as text (user-defined ones still split).
func (t *Tokenizer) partition(text string, parseSpecial bool) []fragment {
	frags := []fragment{{text: text, token: None}}
	for _, id := range t.special {
		ty := t.types[id]
		if !parseSpecial && (ty == TypeControl || ty == TypeUnknown) {
			continue
		}
		st := t.tokens[id]
		var out []fragment
		for _, fr := range frags {
			if fr.token != None {
				out = append(out, fr)
				continue
			}
			rest := fr.text
			for {
				i := strings.Index(rest, st)
				if i < 0 {
					break
				}
				if i > 0 {
					out = append(out, fragment{text: rest[:i], token: None})
				}
				out = append(out, fragment{token: id})
				rest = rest[i+len(st):]
				if t.rstrip[id] {
					rest = strings.TrimLeft(rest, " \t\n\v\f\r")
				}
			}
			if rest != "" {
				out = append(out, fragment{text: rest, token: None})
			}
		}
		frags = out
	}
	return frags
}

// Encode tokenizes text. addSpecial adds BOS/EOS as the vocabulary asks; parseSpecial
// turns special-token texts such as "<s>" into their ids.
func (t *Tokenizer) Encode(text string, addSpecial, parseSpecial bool) []int32 {
	var out []int32
	var frags []fragment
	if text != "" {
		frags = t.partition(text, parseSpecial)
	}
	if addSpecial && t.AddBOS && t.BOS != None {
		out = append(out, t.BOS)
	}
	prevSpecial := true
	for _, fr := range frags {
		if fr.token != None {
			out = append(out, fr.token)
			prevSpecial = true
			continue
		}
		if t.Kind == SPM {
			s := fr.text
			if t.addSpacePrefix && prevSpecial {
				s = " " + s
			}
			out = t.spm(strings.ReplaceAll(s, " ", "\u2581"), out)
		} else {
			out = t.bpe(fr.text, out)
		}
		prevSpecial = false
	}
	if addSpecial && t.AddEOS && t.EOS != None {
		out = append(out, t.EOS)
	}
	return out
}

// Piece is the text of one token as llama.cpp's token_to_piece renders it: "▁" becomes
// a space (SPM), byte tokens become their byte, GPT-2 byte characters become bytes.
// Control and unknown tokens render their text only when special is true.
func (t *Tokenizer) Piece(id int32, special bool) []byte {
	if id < 0 || int(id) >= len(t.tokens) {
		return nil
	}
	ty := t.types[id]
	text := t.tokens[id]
	if ty == TypeControl || ty == TypeUnknown {
		if special {
			return []byte(text)
		}
		return nil
	}
	if ty == TypeUserDefined {
		return []byte(text)
	}
	if t.Kind == SPM {
		switch ty {
		case TypeNormal:
			return []byte(strings.ReplaceAll(text, "\u2581", " "))
		case TypeByte:
			if len(text) == 6 {
				if b, err := strconv.ParseUint(text[3:5], 16, 8); err == nil {
					return []byte{byte(b)}
				}
			}
		}
		return nil
	}
	if ty != TypeNormal {
		return nil
	}
	out := make([]byte, 0, len(text))
	for _, r := range text {
		if b, ok := runeToByte[r]; ok {
			out = append(out, b)
		} else {
			out = append(out, fmt.Sprintf("[UNK_BYTE_0x%x]", string(r))...)
		}
	}
	return out
}

// Decode renders ids as text (special tokens omitted).
func (t *Tokenizer) Decode(ids []int32) string {
	var b []byte
	for _, id := range ids {
		b = append(b, t.Piece(id, false)...)
	}
	return string(b)
}

// StreamDecoder turns a token stream into text, holding back an incomplete UTF-8
// sequence until the tokens that complete it arrive.
type StreamDecoder struct {
	t       *Tokenizer
	pending []byte
	Special bool // render control tokens
}

// NewStreamDecoder returns a decoder for t.
func (t *Tokenizer) NewStreamDecoder() *StreamDecoder { return &StreamDecoder{t: t} }

// Next returns the text that became complete with token id.
func (d *StreamDecoder) Next(id int32) string {
	d.pending = append(d.pending, d.t.Piece(id, d.Special)...)
	n := completeUTF8Prefix(d.pending)
	out := string(d.pending[:n])
	d.pending = append(d.pending[:0], d.pending[n:]...)
	return out
}

// Flush returns whatever is held back (possibly invalid UTF-8).
func (d *StreamDecoder) Flush() string {
	out := string(d.pending)
	d.pending = d.pending[:0]
	return out
}

// completeUTF8Prefix is the length of b without a trailing incomplete sequence. Invalid
// bytes that can never complete are passed through.
func completeUTF8Prefix(b []byte) int {
	for back := 1; back <= 3 && back <= len(b); back++ {
		c := b[len(b)-back]
		if c < 0x80 {
			return len(b)
		}
		if c >= 0xc0 { // a lead byte
			need := 2
			if c >= 0xe0 {
				need = 3
			}
			if c >= 0xf0 {
				need = 4
			}
			if back < need && utf8.FullRune(b[len(b)-back:]) == false {
				return len(b) - back
			}
			return len(b)
		}
	}
	return len(b)
}
