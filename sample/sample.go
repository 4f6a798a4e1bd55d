// Package sample picks the next token from logits: greedy, or llama.cpp's default chain
// — repetition/frequency/presence penalties, top-k, top-p, min-p, temperature, then a
// draw from the distribution with a seeded generator.
package sample

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// Params configure sampling. The zero value is not valid; start from Defaults.
type Params struct {
	Temperature      float32 // 0: greedy
	TopK             int     // <= 0: disabled
	TopP             float32 // 1: disabled
	MinP             float32 // 0: disabled
	RepeatPenalty    float32 // 1: disabled
	FrequencyPenalty float32
	PresencePenalty  float32
	PenaltyLastN     int // tokens of history the penalties look at (0: none, -1: all)
	Seed             uint64
}

// Defaults are llama.cpp's defaults (common_params_sampling).
func Defaults() Params {
	return Params{Temperature: 0.8, TopK: 40, TopP: 0.95, MinP: 0.05, RepeatPenalty: 1, PenaltyLastN: 64, Seed: 0xFFFFFFFF}
}

// Validate rejects values that make no sense instead of clamping them.
func (p Params) Validate() error {
	switch {
	case math.IsNaN(float64(p.Temperature)) || p.Temperature < 0:
		return fmt.Errorf("temperature %v must be >= 0", p.Temperature)
	case !(p.TopP > 0 && p.TopP <= 1):
		return fmt.Errorf("top-p %v must be in (0, 1]", p.TopP)
	case !(p.MinP >= 0 && p.MinP <= 1):
		return fmt.Errorf("min-p %v must be in [0, 1]", p.MinP)
	case !(p.RepeatPenalty > 0):
		return fmt.Errorf("repeat penalty %v must be > 0", p.RepeatPenalty)
	case p.PenaltyLastN < -1:
		return fmt.Errorf("penalty window %d must be >= -1", p.PenaltyLastN)
	case math.IsNaN(float64(p.FrequencyPenalty)) || math.IsNaN(float64(p.PresencePenalty)):
		return fmt.Errorf("penalties must be numbers")
	}
	return nil
}

type candidate struct {
	id    int32
	logit float32
	p     float32
}

// Sampler holds the random state and scratch buffers; one per session.
type Sampler struct {
	p     Params
	rng   *rand.Rand
	cands []candidate
	count map[int32]int
}

// New returns a sampler; the same seed gives the same tokens for the same logits.
func New(p Params) (*Sampler, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &Sampler{p: p, rng: rand.New(rand.NewPCG(p.Seed, 0x9E3779B97F4A7C15)), count: map[int32]int{}}, nil
}

// Argmax returns the index of the largest logit (the first one on ties), as llama.cpp's
// greedy sampler does.
func Argmax(logits []float32) int32 {
	best := 0
	for i, v := range logits {
		if v > logits[best] {
			best = i
		}
	}
	return int32(best)
}

// Greedy reports whether these parameters always pick the largest logit.
func (p Params) Greedy() bool {
	penalize := p.PenaltyLastN != 0 && (p.RepeatPenalty != 1 || p.FrequencyPenalty != 0 || p.PresencePenalty != 0)
	return p.Temperature == 0 && !penalize
}

// Sample picks a token from logits given the recent history (oldest first). logits is
// not modified.
func (s *Sampler) Sample(logits []float32, history []int32) int32 {
	p := s.p
	penalize := p.PenaltyLastN != 0 && (p.RepeatPenalty != 1 || p.FrequencyPenalty != 0 || p.PresencePenalty != 0)
	if p.Temperature == 0 && !penalize {
		return Argmax(logits)
	}
	c := s.cands[:0]
	for i, v := range logits {
		c = append(c, candidate{id: int32(i), logit: v})
	}
	s.cands = c
	if penalize {
		clear(s.count)
		h := history
		if p.PenaltyLastN > 0 && len(h) > p.PenaltyLastN {
			h = h[len(h)-p.PenaltyLastN:]
		}
		for _, t := range h {
			s.count[t]++
		}
		for t, n := range s.count {
			if t < 0 || int(t) >= len(c) {
				continue
			}
			l := &c[t].logit
			if *l <= 0 {
				*l *= p.RepeatPenalty
			} else {
				*l /= p.RepeatPenalty
			}
			*l -= float32(n)*p.FrequencyPenalty + p.PresencePenalty
		}
	}
	if p.Temperature == 0 {
		best := 0
		for i := range c {
			if c[i].logit > c[best].logit {
				best = i
			}
		}
		return c[best].id
	}
	sort.Slice(c, func(i, j int) bool { return c[i].logit > c[j].logit })
	if p.TopK > 0 && p.TopK < len(c) {
		c = c[:p.TopK]
	}
	if p.TopP < 1 {
		softmax(c)
		var cum float32
		for i := range c {
			cum += c[i].p
			if cum >= p.TopP {
				c = c[:i+1]
				break
			}
		}
	}
	if p.MinP > 0 {
		// min-p on the un-tempered distribution: keep p >= min_p * p_max.
		softmax(c)
		thr := p.MinP * c[0].p
		n := 1
		for n < len(c) && c[n].p >= thr {
			n++
		}
		c = c[:n]
	}
	// A temperature so small that the largest logit / T overflows float32 (1e-38, say)
	// is the limit T -> 0: greedy. Dividing would give Inf - Inf = NaN in softmax.
	if math.IsInf(float64(c[0].logit/p.Temperature), 0) {
		return c[0].id
	}
	for i := range c {
		c[i].logit /= p.Temperature
	}
	softmax(c)
	r := s.rng.Float64()
	var cum float64
	for i := range c {
		cum += float64(c[i].p)
		if r < cum {
			return c[i].id
		}
	}
	return c[len(c)-1].id
}

// softmax fills p for candidates sorted by descending logit.
func softmax(c []candidate) {
	maxL := c[0].logit
	var sum float64
	for i := range c {
		e := math.Exp(float64(c[i].logit - maxL))
		c[i].p = float32(e)
		sum += e
	}
	for i := range c {
		c[i].p = float32(float64(c[i].p) / sum)
	}
}
