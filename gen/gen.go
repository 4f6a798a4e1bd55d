// Package gen writes models of real models' exact shapes with random weights, so speed
// can be measured without downloading weights (`inferno gen`). Deterministic for a seed.
package gen

import (
	"context"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/inferno-go/inferno/gguf"
	"github.com/inferno-go/inferno/quant"
	"github.com/inferno-go/inferno/tensor"
)

// Preset is a model shape.
type Preset struct {
	Name      string
	NLayer    int
	NEmbd     int
	NHead     int
	NKVHead   int
	NFF       int
	NVocab    int
	NCtx      int
	RopeBase  float32
	RMSEps    float32
	TiedEmbed bool
}

// Presets are the shapes of common models.
var Presets = []Preset{
	{"tinyllama-1.1b", 22, 2048, 32, 4, 5632, 32000, 2048, 10000, 1e-5, false},
	{"llama-2-7b", 32, 4096, 32, 32, 11008, 32000, 4096, 10000, 1e-5, false},
	{"llama-3.2-1b", 16, 2048, 32, 8, 8192, 128256, 8192, 500000, 1e-5, true},
	{"mistral-7b", 32, 4096, 32, 8, 14336, 32000, 32768, 1000000, 1e-5, false},
	{"stories-260k", 5, 64, 8, 4, 172, 512, 2048, 10000, 1e-5, false},
}

// FindPreset looks a preset up by name.
func FindPreset(name string) (Preset, error) {
	var names []string
	for _, p := range Presets {
		if p.Name == name {
			return p, nil
		}
		names = append(names, p.Name)
	}
	return Preset{}, fmt.Errorf("unknown preset %q (available: %s)", name, strings.Join(names, ", "))
}

type spec struct {
	name string
	dims []uint64
	norm bool
}

func (p Preset) tensors() []spec {
	kvDim := uint64(p.NKVHead * (p.NEmbd / p.NHead))
	e, ff, v := uint64(p.NEmbd), uint64(p.NFF), uint64(p.NVocab)
	ts := []spec{{"token_embd.weight", []uint64{e, v}, false}}
	for i := 0; i < p.NLayer; i++ {
		b := fmt.Sprintf("blk.%d.", i)
		ts = append(ts,
			spec{b + "attn_norm.weight", []uint64{e}, true},
			spec{b + "attn_q.weight", []uint64{e, e}, false},
			spec{b + "attn_k.weight", []uint64{e, kvDim}, false},
			spec{b + "attn_v.weight", []uint64{e, kvDim}, false},
			spec{b + "attn_output.weight", []uint64{e, e}, false},
			spec{b + "ffn_norm.weight", []uint64{e}, true},
			spec{b + "ffn_gate.weight", []uint64{e, ff}, false},
			spec{b + "ffn_up.weight", []uint64{e, ff}, false},
			spec{b + "ffn_down.weight", []uint64{ff, e}, false})
	}
	ts = append(ts, spec{"output_norm.weight", []uint64{e}, true})
	if !p.TiedEmbed {
		ts = append(ts, spec{"output.weight", []uint64{e, v}, false})
	}
	return ts
}

// Options for Write.
type Options struct {
	Context  context.Context // when done, generation stops within a chunk of rows (nil: never)
	Seed     uint64
	Vocab    *gguf.File // tokenizer.* keys are copied from it (nil: a synthetic SPM vocabulary)
	Threads  int
	Progress func(done, total int, name string)
}

// splitmix64 → normal(0, 1) by Box–Muller: cheap, deterministic, good enough for speed tests.
type rng struct{ s uint64 }

func (r *rng) next() uint64 {
	r.s += 0x9E3779B97F4A7C15
	z := r.s
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

func (r *rng) normal() float64 {
	u1 := (float64(r.next()>>11) + 0.5) * (1.0 / (1 << 53))
	u2 := float64(r.next()>>11) * (1.0 / (1 << 53))
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
}

// Write generates the model as type (a weight type or llama.cpp mix) into w.
func Write(p Preset, ft quant.FType, w io.Writer, opt Options) error {
	specs := p.tensors()
	names := make([]string, len(specs))
	byName := map[string]spec{}
	for i, s := range specs {
		names[i] = s.name
		byName[s.name] = s
	}
	quant.Order(names)
	ts := make([]quant.Tensor, len(names))
	orig := map[string]tensor.DType{}
	for i, n := range names {
		ts[i] = quant.Tensor{Name: n, Dims: byName[n].dims}
		orig[n] = tensor.F32
	}
	types, err := quant.Types(ts, ft, quant.Model{NLayer: p.NLayer, NHead: p.NHead, NKVHead: p.NKVHead}, orig)
	if err != nil {
		return err
	}
	out := gguf.NewWriter()
	set := func(k string, v any) { out.SetAny(k, v) }
	set("general.architecture", "llama")
	set("general.name", p.Name+"-random")
	set("general.description", fmt.Sprintf("%s-shaped llama with random N(0,0.02) weights (norms 1.0), seed %d, written by inferno gen", p.Name, opt.Seed))
	set("llama.context_length", uint32(p.NCtx))
	set("llama.embedding_length", uint32(p.NEmbd))
	set("llama.block_count", uint32(p.NLayer))
	set("llama.feed_forward_length", uint32(p.NFF))
	set("llama.attention.head_count", uint32(p.NHead))
	set("llama.attention.head_count_kv", uint32(p.NKVHead))
	set("llama.rope.dimension_count", uint32(p.NEmbd/p.NHead))
	set("llama.rope.freq_base", p.RopeBase)
	set("llama.attention.layer_norm_rms_epsilon", p.RMSEps)
	set("llama.vocab_size", uint32(p.NVocab))
	if err := writeVocab(out, p, opt.Vocab); err != nil {
		return err
	}
	set("general.quantization_version", uint32(2))
	set("general.file_type", ft.ID)
	threads := max(1, opt.Threads)
	ctx := opt.Context
	if ctx == nil {
		ctx = context.Background()
	}
	for idx, n := range names {
		s := byName[n]
		dt := types[n]
		seed := opt.Seed*1000003 + uint64(idx)
		done := idx + 1
		err := out.AddTensorFunc(n, dt, s.dims, func(w io.Writer) error {
			b, err := makeTensor(ctx, s, dt, seed, threads)
			if err != nil {
				return err
			}
			if opt.Progress != nil {
				opt.Progress(done, len(names), n)
			}
			_, err = w.Write(b)
			return err
		})
		if err != nil {
			return err
		}
	}
	_, err = out.WriteTo(w)
	return err
}

// makeTensor draws the tensor row by row (each row from its own stream, so the result
// does not depend on the thread count) and encodes it as dt.
func makeTensor(ctx context.Context, s spec, dt tensor.DType, seed uint64, threads int) ([]byte, error) {
	rowLen := int(s.dims[0])
	rows := 1
	for _, d := range s.dims[1:] {
		rows *= int(d)
	}
	rb, err := dt.RowSize(rowLen)
	if err != nil {
		return nil, err
	}
	out := make([]byte, rows*rb)
	err = quant.ForRows(ctx, rows, threads, func(lo, hi int) error {
		buf := make([]float32, rowLen)
		for r := lo; r < hi; r++ {
			g := rng{s: seed*0x100000001B3 + uint64(r)}
			for i := range buf {
				if s.norm {
					buf[i] = 1
				} else {
					buf[i] = float32(g.normal() * 0.02)
				}
			}
			if err := tensor.Quantize(dt, buf, out[r*rb:(r+1)*rb]); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// writeVocab copies tokenizer.* from vocab, or makes an SPM vocabulary: <unk> <s> </s>,
// the 256 byte tokens, then "▁t<N>" pieces.
func writeVocab(out *gguf.Writer, p Preset, vocab *gguf.File) error {
	if vocab != nil {
		toks, err := vocab.Strings("tokenizer.ggml.tokens")
		if err != nil {
			return fmt.Errorf("--vocab-from: %w", err)
		}
		if len(toks) != p.NVocab {
			return fmt.Errorf("--vocab-from has %d tokens, preset %s needs %d", len(toks), p.Name, p.NVocab)
		}
		for _, kv := range vocab.KVs {
			if strings.HasPrefix(kv.Key, "tokenizer.") {
				out.Set(kv.Key, kv.Value)
			}
		}
		return nil
	}
	toks := make([]string, p.NVocab)
	scores := make([]float32, p.NVocab)
	types := make([]int32, p.NVocab)
	toks[0], toks[1], toks[2] = "<unk>", "<s>", "</s>"
	types[0], types[1], types[2] = 2, 3, 3
	for b := 0; b < 256 && 3+b < p.NVocab; b++ {
		toks[3+b] = fmt.Sprintf("<0x%02X>", b)
		types[3+b] = 6
	}
	for i := 259; i < p.NVocab; i++ {
		toks[i] = fmt.Sprintf("\u2581t%d", i)
		scores[i] = -float32(i)
		types[i] = 1
	}
	out.SetAny("tokenizer.ggml.model", "llama")
	out.SetAny("tokenizer.ggml.tokens", toks)
	out.SetAny("tokenizer.ggml.scores", scores)
	out.SetAny("tokenizer.ggml.token_type", types)
	out.SetAny("tokenizer.ggml.bos_token_id", uint32(1))
	out.SetAny("tokenizer.ggml.eos_token_id", uint32(2))
	out.SetAny("tokenizer.ggml.unknown_token_id", uint32(0))
	return nil
}
