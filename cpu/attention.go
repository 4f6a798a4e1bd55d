package cpu

import (
	"math"

	"github.com/inferno-go/inferno/backend"
	"github.com/inferno-go/inferno/tensor"
)

// KVCache stores K and V rows per layer and position. With f16 (llama.cpp's default)
// every value is rounded to float16 on the way in and kept as the float32 of that
// half, so the numbers are exactly llama.cpp's while the kernels read plain floats.
type KVCache struct {
	nLayer, nCtx, kvDim int
	f16                 bool
	k32, v32            []float32
}

func (c *KVCache) Len() int { return c.nCtx }

// FreeKVCache drops the cache's data; the garbage collector reclaims it.
func (b *Backend) FreeKVCache(c backend.KVCache) {
	kv := c.(*KVCache)
	kv.k32, kv.v32 = nil, nil
}

func (b *Backend) NewKVCache(nLayer, nCtx, kvDim int, f16 bool) backend.KVCache {
	c := &KVCache{nLayer: nLayer, nCtx: nCtx, kvDim: kvDim, f16: f16}
	n := nLayer * nCtx * kvDim
	c.k32, c.v32 = make([]float32, n), make([]float32, n)
	return c
}

func (c *KVCache) store(layer, pos int, k, v []float32) {
	off := (layer*c.nCtx + pos) * c.kvDim
	copy(c.k32[off:], k)
	copy(c.v32[off:], v)
	if c.f16 {
		for i := range k {
			c.k32[off+i] = roundF16(k[i])
			c.v32[off+i] = roundF16(v[i])
		}
	}
}

func roundF16(x float32) float32 { return tensor.FP16ToFP32(tensor.FP32ToFP16(x)) }

// attnOp holds one Attention call's operands for attentionJob.
type attnOp struct {
	d, q  *Tensor
	c     *KVCache
	pos   []int32
	p     backend.AttentionParams
	kvDim int
	base  int
}

// Attention mirrors llama.cpp's non-flash path for a batch (llamafile's tinyBLAS on its
// AVX2 build): with an F16 cache the query is rounded to F16 for KQ, whose products
// accumulate in eight lanes (element e in lane e%8, by FMA) added by hsum8; softmax runs
// in F32 on kq*scale (soft-capped when asked) with the causal (and sliding-window) mask,
// summing groups of eight exps into a float64; the probabilities are rounded to F16 for
// KQV, whose products accumulate in eight lanes by key (key j in lane j%8), then hsum8.
func (b *Backend) Attention(dst, q, k, v backend.Tensor, cache backend.KVCache, pos []int32, p backend.AttentionParams) {
	ks, vs := k.(*Tensor), v.(*Tensor)
	c := cache.(*KVCache)
	kvDim := p.NKVHead * p.HeadDim
	for i := 0; i < ks.rows; i++ {
		c.store(p.Layer, int(pos[i]), ks.f32[i*kvDim:(i+1)*kvDim], vs.f32[i*kvDim:(i+1)*kvDim])
	}
	a := &b.att
	a.d, a.q, a.c, a.pos, a.p, a.kvDim = dst.(*Tensor), q.(*Tensor), c, pos, p, kvDim
	a.base = p.Layer * c.nCtx * kvDim
	need := (c.nCtx+31)/32*32 + 9*p.HeadDim
	for w := range b.attScratch {
		if len(b.attScratch[w]) < need {
			b.attScratch[w] = make([]float32, need)
		}
	}
	b.pool.For(a.q.rows*p.NHead, 1, b.attFn)
}

// dotLanes8 is Σ x[e]·y[e] accumulated by FMA in eight lanes (e%8), then hsum8.
func dotLanes8(x, y []float32) float32 {
	var lanes [8]float32
	for e := range x {
		lanes[e%8] = fma32(x[e], y[e], lanes[e%8])
	}
	return hsum8(&lanes)
}

func (b *Backend) attentionJob(w, lo, hi int) {
	a := &b.att
	p, c, kvDim := a.p, a.c, a.kvDim
	group := p.NHead / p.NKVHead
	hd := p.HeadDim
	tab := b.fp16tab
	scratch := b.attScratch[w]
	npad := (c.nCtx + 31) / 32 * 32
	scores, qh, lanes := scratch[:npad], scratch[npad:npad+hd], scratch[npad+hd:npad+9*hd]
	base := a.base
	qs, d := a.q, a.d
	// The AVX2 path does four keys per pass for the scores (the same lanes and sums).
	fast := useAVX2 && !b.noAsm && hd%8 == 0
	for job := lo; job < hi; job++ {
		i, h := job/p.NHead, job%p.NHead
		kvh := h / group
		n := int(a.pos[i]) + 1
		qrow := qs.f32[i*qs.cols+h*hd : i*qs.cols+(h+1)*hd]
		maxS := float32(math.Inf(-1))
		if fast {
			copy(qh, qrow)
			if c.f16 {
				scaleRoundF16AVX2(&qh[0], hd, 1)
			}
			attnScoresAVX2(&qh[0], &c.k32[base+kvh*hd], kvDim, n, hd, p.Scale, &scores[0])
		} else {
			for e := range qh {
				if c.f16 {
					qh[e] = tab[tensor.FP32ToFP16(qrow[e])]
				} else {
					qh[e] = qrow[e]
				}
			}
			for j := 0; j < n; j++ {
				off := base + j*kvDim + kvh*hd
				scores[j] = dotLanes8(c.k32[off:off+hd], qh) * p.Scale
			}
		}
		if p.SoftCap != 0 {
			softCap(scores[:n], p.SoftCap)
		}
		// Keys before lo are outside the sliding window: masked (-inf in ggml, so they
		// take no part in the max and their probability is 0).
		lo := 0
		if p.Window > 0 {
			lo = max(0, n-p.Window)
		}
		for _, s := range scores[lo:n] {
			maxS = max(maxS, s)
		}
		// ggml's softmax runs over n_kv padded to 32 (masked entries give 0), with the
		// vectorized exp and a float32 sum per group of 8 added into a float64.
		padded := (n + 31) / 32 * 32
		for j := n; j < padded; j++ {
			scores[j] = 0
		}
		for j := range scores[:lo] {
			scores[j] = maxS // keeps exp finite; zeroed below
		}
		b.expSub(scores[:n], maxS)
		for j := range scores[:lo] {
			scores[j] = 0
		}
		var sum float64
		for j := 0; j < padded; j += 8 {
			sum += float64(hsum8((*[8]float32)(scores[j : j+8])))
		}
		inv := float32(1 / sum)
		if fast {
			if c.f16 {
				scaleRoundF16AVX2(&scores[0], padded, inv) // the padding is 0 and stays so
			} else {
				for j := range scores[:n] {
					scores[j] *= inv
				}
			}
			attnValuesAVX2(&scores[0], &c.v32[base+kvh*hd], kvDim, n, hd, &d.f32[i*d.cols+h*hd])
			continue
		}
		for e := range lanes {
			lanes[e] = 0
		}
		for j := 0; j < n; j++ {
			pj := scores[j] * inv
			if c.f16 {
				pj = tab[tensor.FP32ToFP16(pj)]
			}
			off := base + j*kvDim + kvh*hd
			b.fmaAxpy(pj, c.v32[off:off+hd], lanes[j%8*hd:(j%8+1)*hd])
		}
		out := d.f32[i*d.cols+h*hd : i*d.cols+(h+1)*hd]
		// hsum8 of the eight lanes, element by element
		l0, l1, l2, l3 := lanes[:hd], lanes[hd:2*hd], lanes[2*hd:3*hd], lanes[3*hd:4*hd]
		l4, l5, l6, l7 := lanes[4*hd:5*hd], lanes[5*hd:6*hd], lanes[6*hd:7*hd], lanes[7*hd:8*hd]
		for e := range out {
			out[e] = ((l0[e] + l4[e]) + (l2[e] + l6[e])) + ((l1[e] + l5[e]) + (l3[e] + l7[e]))
		}
	}
}
