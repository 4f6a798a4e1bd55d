package sample

import (
	"math"
	"testing"
)

func TestValidate(t *testing.T) {
	bad := []func(*Params){
		func(p *Params) { p.Temperature = -1 },
		func(p *Params) { p.TopP = 0 },
		func(p *Params) { p.TopP = 1.5 },
		func(p *Params) { p.MinP = -0.1 },
		func(p *Params) { p.RepeatPenalty = 0 },
		func(p *Params) { p.PenaltyLastN = -2 },
	}
	for i, f := range bad {
		p := Defaults()
		f(&p)
		if _, err := New(p); err == nil {
			t.Errorf("case %d: invalid params accepted: %+v", i, p)
		}
	}
	if _, err := New(Defaults()); err != nil {
		t.Fatal(err)
	}
}

func TestGreedy(t *testing.T) {
	p := Defaults()
	p.Temperature = 0
	s, _ := New(p)
	if got := s.Sample([]float32{1, 3, 3, 2}, nil); got != 1 {
		t.Errorf("greedy picked %d, want the first max 1", got)
	}
}

func TestSeedReproducible(t *testing.T) {
	logits := make([]float32, 100)
	for i := range logits {
		logits[i] = float32(math.Sin(float64(i)))
	}
	run := func(seed uint64) []int32 {
		p := Defaults()
		p.Seed = seed
		s, _ := New(p)
		var out []int32
		for i := 0; i < 50; i++ {
			out = append(out, s.Sample(logits, out))
		}
		return out
	}
	a, b, c := run(7), run(7), run(8)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same seed, different tokens at %d", i)
		}
	}
	same := true
	for i := range a {
		same = same && a[i] == c[i]
	}
	if same {
		t.Error("different seeds gave identical sequences")
	}
}

func TestTopKAndMinP(t *testing.T) {
	logits := []float32{10, 9, 0, -5, -10}
	p := Defaults()
	p.TopK, p.TopP, p.MinP, p.Temperature = 2, 1, 0, 1
	s, _ := New(p)
	for i := 0; i < 200; i++ {
		if id := s.Sample(logits, nil); id > 1 {
			t.Fatalf("top-k 2 sampled %d", id)
		}
	}
	p = Defaults()
	p.TopK, p.TopP, p.MinP, p.Temperature = 0, 1, 0.5, 1
	s, _ = New(p)
	for i := 0; i < 200; i++ {
		if id := s.Sample(logits, nil); id != 0 { // p1/p0 = e^-1 < 0.5
			t.Fatalf("min-p 0.5 sampled %d", id)
		}
	}
}

func TestTopP(t *testing.T) {
	logits := []float32{2, 1.9, -20, -20}
	p := Defaults()
	p.TopK, p.TopP, p.MinP, p.Temperature = 0, 0.5, 0, 1
	s, _ := New(p)
	for i := 0; i < 200; i++ {
		if id := s.Sample(logits, nil); id != 0 {
			t.Fatalf("top-p 0.5 sampled %d", id)
		}
	}
}

func TestRepeatPenalty(t *testing.T) {
	p := Defaults()
	p.Temperature, p.RepeatPenalty = 0, 2
	s, _ := New(p)
	// 4 > 3 but 4/2 < 3: the penalized token loses.
	if got := s.Sample([]float32{4, 3}, []int32{0}); got != 1 {
		t.Errorf("repeat penalty: got %d", got)
	}
	p.RepeatPenalty, p.PresencePenalty = 1, 2
	s, _ = New(p)
	if got := s.Sample([]float32{4, 3}, []int32{0}); got != 1 {
		t.Errorf("presence penalty: got %d", got)
	}
}

// TestTinyTemperatureIsGreedy: a temperature so small that logit/T overflows float32
// (1e-38, a denormal 1e-45) picks the largest logit, like the limit T -> 0, instead of
// a NaN distribution that falls through to the last candidate.
func TestTinyTemperatureIsGreedy(t *testing.T) {
	logits := []float32{1, 5, 4.9, 3, -2}
	for _, temp := range []float32{1e-30, 1e-38, 1e-45} {
		for seed := uint64(0); seed < 20; seed++ {
			p := Params{Temperature: temp, TopP: 1, RepeatPenalty: 1, Seed: seed}
			s, err := New(p)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Sample(logits, nil); got != 1 {
				t.Fatalf("temperature %g, seed %d: picked %d, want the largest logit 1", temp, seed, got)
			}
		}
	}
}
