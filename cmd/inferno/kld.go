package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"

	"github.com/inferno-go/inferno"
)

// llama-perplexity's base log-probabilities file (examples/perplexity/perplexity.cpp of
// c392e50): the magic "_logits_", int32 n_ctx, n_vocab and n_chunk, the n_chunk*n_ctx
// tokens (int32, as tokenized: not with BOS put in), then per chunk, for each of the
// n_ctx-1-n_ctx/2 scored positions, one record of kldRecordLen(n_vocab) uint16: the
// float32 scale and the float32 minimum log-probability, then each token's
// log-probability as round((logit-min_logit)/scale). Little-endian throughout.
const kldMagic = "_logits_"

// kldRecordLen is the record length in uint16, as perplexity.cpp's nv.
func kldRecordLen(nVocab int) int { return 2*((nVocab+1)/2) + 4 }

// kldScored is how many positions of a chunk are scored: n_ctx/2 .. n_ctx-2.
func kldScored(nCtx int) int { return nCtx - 1 - nCtx/2 }

// kldHeader is a base file's header.
type kldHeader struct {
	NCtx, NVocab, NChunk int
	Tokens               []int32
}

// nearestInt is ggml's nearest_int: round to nearest, ties to even, through the float
// addition of 1.5*2^23.
func nearestInt(f float32) int32 {
	v := f + 12582912
	return int32(math.Float32bits(v)&0x007fffff) - 0x00400000
}

func expf(x float32) float32 { return float32(math.Exp(float64(x))) }

// packLogProbs is perplexity.cpp's log_softmax that fills a record: rec gets the scale,
// the minimum and the packed values; the result is the token's negative log-likelihood,
// computed in float32 as there.
func packLogProbs(logits []float32, rec []uint16, tok int) float32 {
	maxL, minL := logits[0], logits[0]
	for _, v := range logits[1:] {
		maxL = max(maxL, v)
		minL = min(minL, v)
	}
	minL = max(minL, maxL-16)
	var sum float64
	for _, v := range logits {
		sum += float64(expf(v - maxL))
	}
	lse := float32(math.Log(sum))
	minLogProb := float32(minL-maxL) - lse
	scale := float32(maxL-minL) / 65535
	rec[0], rec[1] = uint16(math.Float32bits(scale)), uint16(math.Float32bits(scale)>>16)
	rec[2], rec[3] = uint16(math.Float32bits(minLogProb)), uint16(math.Float32bits(minLogProb)>>16)
	vals := rec[4 : 4+len(logits)]
	if scale != 0 {
		inv := 1 / scale
		for i, v := range logits {
			if v > minL {
				vals[i] = uint16(nearestInt(float32(inv * float32(v-minL))))
			} else {
				vals[i] = 0
			}
		}
	} else {
		clear(vals)
	}
	return float32(maxL+lse) - logits[tok]
}

// unpackRecord returns a record's scale and minimum log-probability.
func unpackRecord(rec []uint16) (scale, minLogProb float32) {
	scale = math.Float32frombits(uint32(rec[0]) | uint32(rec[1])<<16)
	minLogProb = math.Float32frombits(uint32(rec[2]) | uint32(rec[3])<<16)
	return
}

// kldChunks evaluates the chunks of toks (n_ctx each, BOS put in place of the first
// token where the vocabulary adds one) and calls scored with each chunk's tokens and the
// logits of its scored positions.
func kldChunks(ctx context.Context, m *inferno.Model, toks []int32, nCtx, nChunk int, scored func(c int, chunk []int32, logits []float32) error) error {
	s, err := m.NewSession()
	if err != nil {
		return err
	}
	defer s.Close()
	bos := m.Tokenizer().BOS
	addBOS := m.Tokenizer().AddBOS && bos >= 0
	nv := m.HParams().NVocab
	first := nCtx / 2
	for c := 0; c < nChunk; c++ {
		chunk := append([]int32(nil), toks[c*nCtx:(c+1)*nCtx]...)
		orig := chunk[0]
		if addBOS {
			chunk[0] = bos
		}
		s.Reset()
		logits, err := s.EvalAll(ctx, chunk)
		if err != nil {
			return err
		}
		chunk[0] = orig // the scored tokens are the text's
		if err := scored(c, chunk, logits[first*nv:(nCtx-1)*nv]); err != nil {
			return err
		}
	}
	return nil
}

// writeKLDBase is llama-perplexity --kl-divergence-base: the text's perplexity, with the
// base file written to w.
func writeKLDBase(ctx context.Context, m *inferno.Model, toks []int32, nCtx int, w io.Writer, progress func(i, n int, ppl float64)) (*PerplexityResult, error) {
	nChunk := len(toks) / nCtx
	if len(toks) < 2*nCtx {
		return nil, fmt.Errorf("the text has %d tokens; --ctx %d needs at least %d", len(toks), nCtx, 2*nCtx)
	}
	nVocab := m.HParams().NVocab
	bw := bufio.NewWriter(w)
	le := binary.LittleEndian
	bw.WriteString(kldMagic)
	_ = binary.Write(bw, le, [3]int32{int32(nCtx), int32(nVocab), int32(nChunk)})
	_ = binary.Write(bw, le, toks[:nChunk*nCtx])
	nv := kldRecordLen(nVocab)
	rec := make([]uint16, nv)
	res := &PerplexityResult{Chunks: nChunk, Ctx: nCtx, Tokens: len(toks)}
	var nll, nll2 float64
	first := nCtx / 2
	err := kldChunks(ctx, m, toks, nCtx, nChunk, func(c int, chunk []int32, logits []float32) error {
		var cnll float64
		for i := 0; i < kldScored(nCtx); i++ {
			v := float64(packLogProbs(logits[i*nVocab:(i+1)*nVocab], rec, int(chunk[first+i+1])))
			nll += v
			nll2 += v * v
			cnll += v
			res.Scored++
			if err := binary.Write(bw, le, rec); err != nil {
				return err
			}
		}
		res.ChunkPPLs = append(res.ChunkPPLs, math.Exp(cnll/float64(kldScored(nCtx))))
		if progress != nil {
			progress(c+1, nChunk, math.Exp(nll/float64(res.Scored)))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := bw.Flush(); err != nil {
		return nil, err
	}
	n := float64(res.Scored)
	mean := nll / n
	res.PPL = math.Exp(mean)
	if v := nll2/n - mean*mean; v > 0 {
		res.StdErr = res.PPL * math.Sqrt(v/(n-1))
	}
	return res, nil
}

// readKLDHeader reads and checks a base file's header against its size (size < 0:
// unknown); every length is checked before anything is allocated from it.
func readKLDHeader(r io.Reader, size int64) (*kldHeader, error) {
	var magic [8]byte
	if _, err := io.ReadFull(r, magic[:]); err != nil {
		return nil, fmt.Errorf("reading the magic: %w", errTruncated(err))
	}
	if string(magic[:]) != kldMagic {
		return nil, fmt.Errorf("magic %q is not %q: not a llama-perplexity log-probabilities file", magic[:], kldMagic)
	}
	var hdr [3]int32
	if err := binary.Read(r, binary.LittleEndian, &hdr); err != nil {
		return nil, fmt.Errorf("reading n_ctx, n_vocab, n_chunk: %w", errTruncated(err))
	}
	h := &kldHeader{NCtx: int(hdr[0]), NVocab: int(hdr[1]), NChunk: int(hdr[2])}
	const maxDim = 1 << 24
	switch {
	case h.NCtx < 4 || h.NCtx > maxDim:
		return nil, fmt.Errorf("n_ctx %d is not valid", h.NCtx)
	case h.NVocab < 1 || h.NVocab > maxDim:
		return nil, fmt.Errorf("n_vocab %d is not valid", h.NVocab)
	case h.NChunk < 1 || h.NChunk > maxDim:
		return nil, fmt.Errorf("n_chunk %d is not valid", h.NChunk)
	}
	want := int64(8+12) + 4*int64(h.NChunk)*int64(h.NCtx) +
		2*int64(h.NChunk)*int64(kldScored(h.NCtx))*int64(kldRecordLen(h.NVocab))
	if size >= 0 && size != want {
		return nil, fmt.Errorf("%d bytes, but n_ctx %d, n_vocab %d and n_chunk %d make %d (truncated or not this format)", size, h.NCtx, h.NVocab, h.NChunk, want)
	}
	if size < 0 && int64(h.NChunk)*int64(h.NCtx) > 1<<28 {
		return nil, fmt.Errorf("%d chunks of %d tokens is too many", h.NChunk, h.NCtx)
	}
	h.Tokens = make([]int32, h.NChunk*h.NCtx)
	if err := binary.Read(r, binary.LittleEndian, h.Tokens); err != nil {
		return nil, fmt.Errorf("reading %d tokens: %w", len(h.Tokens), errTruncated(err))
	}
	for i, t := range h.Tokens {
		if t < 0 || int(t) >= h.NVocab {
			return nil, fmt.Errorf("token %d is %d, outside the vocabulary of %d", i, t, h.NVocab)
		}
	}
	return h, nil
}

func errTruncated(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// kldStats accumulates perplexity.cpp's kl_divergence_result, in its float and double
// types (the sums of float products are float products added to doubles).
type kldStats struct {
	sumNLL, sumNLL2, sumNLLBase, sumNLLBase2, sumNLLNLLBase float64
	sumKLD, sumKLD2, sumPDiff, sumPDiff2, sumPDiff4         float64
	maxPDiff                                                float32
	sameTop, count                                          int
	klds, pDiffs                                            []float32
}

// add is perplexity.cpp's log_softmax against a base record.
func (k *kldStats) add(logits []float32, rec []uint16, tok int) {
	maxL, imax := logits[0], 0
	for i, v := range logits[1:] {
		if v > maxL {
			maxL, imax = v, i+1
		}
	}
	var sumExp float64
	for _, v := range logits {
		sumExp += float64(expf(v - maxL))
	}
	lse := float32(math.Log(sumExp))
	scale, minLogProb := unpackRecord(rec)
	base := rec[4:]
	nll := float32(maxL+lse) - logits[tok]
	k.sumNLL += float64(nll)
	k.sumNLL2 += float64(float32(nll * nll))
	nllBase := -float32(float32(scale*float32(base[tok])) + minLogProb)
	k.sumNLLBase += float64(nllBase)
	k.sumNLLBase2 += float64(float32(nllBase * nllBase))
	k.sumNLLNLLBase += float64(float32(nll * nllBase))
	maxL += lse
	var sum float64
	imaxBase := -1
	var pLogBaseMax float32
	for i := range logits {
		pLogBase := float32(scale*float32(base[i])) + minLogProb
		if i == 0 || pLogBase > pLogBaseMax {
			pLogBaseMax, imaxBase = pLogBase, i
		}
		if pLogBase > -16 {
			pBase := expf(pLogBase)
			sum += float64(float32(pBase * float32(float32(pLogBase-logits[i])+maxL)))
		}
	}
	k.sumKLD += sum
	k.sumKLD2 += sum * sum
	k.count++
	if imax == imaxBase {
		k.sameTop++
	}
	pBase := expf(-nllBase)
	p := expf(-nll)
	pDiff := p - pBase
	k.sumPDiff += float64(pDiff)
	pDiff2 := float64(float32(pDiff * pDiff))
	k.sumPDiff2 += pDiff2
	k.sumPDiff4 += pDiff2 * pDiff2
	k.maxPDiff = max(k.maxPDiff, float32(math.Abs(float64(pDiff))))
	k.klds = append(k.klds, float32(sum))
	k.pDiffs = append(k.pDiffs, pDiff)
}

// meanAndUncertainty is perplexity.cpp's mean_and_uncertainty.
func meanAndUncertainty(sum, sum2 float64, count int) (float64, float64) {
	if count < 1 {
		return 0, 0
	}
	f := sum / float64(count)
	df := sum2/float64(count) - f*f
	if df > 0 && count > 10 {
		df = math.Sqrt(df / float64(count-1))
	} else {
		df = 0
	}
	return f, df
}

func covariance(suma, sumb, sumab float64, count int) float64 {
	if count < 10 {
		return 0
	}
	n := float64(count)
	return (sumab/n - (suma/n)*(sumb/n)) / (n - 1)
}

// ValErr is a value and its uncertainty.
type ValErr struct {
	Value jsonFloat64 `json:"value"`
	Err   jsonFloat64 `json:"uncertainty"`
}

// KLDResult is what llama-perplexity --kl-divergence prints.
type KLDResult struct {
	Chunks           int         `json:"chunks"`
	Ctx              int         `json:"ctx"`
	Scored           int         `json:"scored_tokens"`
	PPL              ValErr      `json:"ppl"`
	PPLBase          ValErr      `json:"ppl_base"`
	LnPPLCorrelation jsonFloat64 `json:"ln_ppl_correlation"`
	LnPPLRatio       ValErr      `json:"ln_ppl_ratio"`
	PPLRatio         ValErr      `json:"ppl_ratio"`
	PPLDiff          ValErr      `json:"ppl_diff"`
	KLD              ValErr      `json:"kld"`
	// KLDPercentiles and DeltaPPercentiles: "max", "99.9", ..., "median", ..., "min".
	KLDPercentiles    map[string]jsonFloat64 `json:"kld_percentiles"`
	DeltaP            ValErr                 `json:"delta_p"` // as fractions, not percent
	DeltaPPercentiles map[string]jsonFloat64 `json:"delta_p_percentiles"`
	RMSDeltaP         ValErr                 `json:"rms_delta_p"`
	SameTop           ValErr                 `json:"same_top_p"`
}

// percentile is perplexity.cpp's, in float32 as there.
func percentile(sorted []float32, fraction float32) float32 {
	if fraction <= 0 {
		return sorted[0]
	}
	if fraction >= 1 {
		return sorted[len(sorted)-1]
	}
	p := fraction * float32(len(sorted)-1)
	ip := int(p)
	p -= float32(ip)
	return float32((1-p)*sorted[ip]) + float32(p*sorted[min(ip+1, len(sorted)-1)])
}

func median(sorted []float32) float32 {
	n := len(sorted)
	if n%2 == 0 {
		return 0.5 * (sorted[n/2] + sorted[n/2-1])
	}
	return sorted[n/2]
}

// chunkLine is the line llama-perplexity prints after each chunk.
func (k *kldStats) chunkLine(c int) string {
	lp, lpErr := meanAndUncertainty(k.sumNLL, k.sumNLL2, k.count)
	lb, lbErr := meanAndUncertainty(k.sumNLLBase, k.sumNLLBase2, k.count)
	cov := covariance(k.sumNLL, k.sumNLLBase, k.sumNLLNLLBase, k.count)
	kl, klErr := meanAndUncertainty(k.sumKLD, k.sumKLD2, k.count)
	mse, mseErr := meanAndUncertainty(k.sumPDiff2, k.sumPDiff4, k.count)
	rms := math.Sqrt(mse)
	top := float64(k.sameTop) / float64(k.count)
	return fmt.Sprintf("%4d    %9.4f ± %9.4f    %10.5f ± %10.5f    %10.5f ± %10.5f    %6.3f ± %6.3f %%    %6.3f ± %6.3f %%",
		c, math.Exp(lp), math.Exp(lp)*lpErr, lp-lb, math.Sqrt(lpErr*lpErr+lbErr*lbErr-2*cov), kl, klErr,
		100*rms, 100*0.5/rms*mseErr, 100*top, 100*math.Sqrt(top*(1-top)/float64(k.count-1)))
}

var kldFractions = []struct {
	name string
	f    float32
}{{"99.9", 0.999}, {"99.0", 0.990}, {"95.0", 0.950}, {"90.0", 0.900}, {"75.0", 0.750},
	{"25.0", 0.250}, {"10.0", 0.100}, {"5.0", 0.050}, {"1.0", 0.010}, {"0.1", 0.001}}

// result computes the final statistics.
func (k *kldStats) result() *KLDResult {
	klds, pd := slices.Clone(k.klds), slices.Clone(k.pDiffs)
	slices.Sort(klds)
	slices.Sort(pd)
	r := &KLDResult{Scored: k.count, KLDPercentiles: map[string]jsonFloat64{}, DeltaPPercentiles: map[string]jsonFloat64{}}
	lp, lpErr := meanAndUncertainty(k.sumNLL, k.sumNLL2, k.count)
	lb, lbErr := meanAndUncertainty(k.sumNLLBase, k.sumNLLBase2, k.count)
	ppl, pplBase := math.Exp(lp), math.Exp(lb)
	r.PPL = ValErr{jsonFloat64(ppl), jsonFloat64(ppl * lpErr)}
	r.PPLBase = ValErr{jsonFloat64(pplBase), jsonFloat64(pplBase * lbErr)}
	cov := covariance(k.sumNLL, k.sumNLLBase, k.sumNLLNLLBase, k.count)
	r.LnPPLCorrelation = jsonFloat64(cov / (lpErr * lbErr))
	ratioErr := math.Sqrt(lpErr*lpErr + lbErr*lbErr - 2*cov)
	r.LnPPLRatio = ValErr{jsonFloat64(lp - lb), jsonFloat64(ratioErr)}
	r.PPLRatio = ValErr{jsonFloat64(math.Exp(lp - lb)), jsonFloat64(math.Exp(lp-lb) * ratioErr)}
	pplCov := ppl * pplBase * cov
	pu, bu := ppl*lpErr, pplBase*lbErr
	r.PPLDiff = ValErr{jsonFloat64(ppl - pplBase), jsonFloat64(math.Sqrt(pu*pu + bu*bu - 2*pplCov))}
	kl, klErr := meanAndUncertainty(k.sumKLD, k.sumKLD2, k.count)
	r.KLD = ValErr{jsonFloat64(kl), jsonFloat64(klErr)}
	r.KLDPercentiles["max"] = jsonFloat64(klds[len(klds)-1])
	r.KLDPercentiles["median"] = jsonFloat64(median(klds))
	r.KLDPercentiles["min"] = jsonFloat64(klds[0])
	r.DeltaPPercentiles["max"] = jsonFloat64(pd[len(pd)-1])
	r.DeltaPPercentiles["median"] = jsonFloat64(median(pd))
	r.DeltaPPercentiles["min"] = jsonFloat64(pd[0])
	for _, f := range kldFractions {
		r.KLDPercentiles[f.name] = jsonFloat64(percentile(klds, f.f))
		r.DeltaPPercentiles[f.name] = jsonFloat64(percentile(pd, f.f))
	}
	d, dErr := meanAndUncertainty(k.sumPDiff, k.sumPDiff2, k.count)
	r.DeltaP = ValErr{jsonFloat64(d), jsonFloat64(dErr)}
	mse, mseErr := meanAndUncertainty(k.sumPDiff2, k.sumPDiff4, k.count)
	rms := math.Sqrt(mse)
	r.RMSDeltaP = ValErr{jsonFloat64(rms), jsonFloat64(0.5 / rms * mseErr)}
	top := float64(k.sameTop) / float64(k.count)
	r.SameTop = ValErr{jsonFloat64(top), jsonFloat64(math.Sqrt(top * (1 - top) / float64(k.count-1)))}
	return r
}

// printKLD prints the statistics as llama-perplexity does.
func printKLD(w io.Writer, r *KLDResult) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	f := func(v jsonFloat64) float64 { return float64(v) }
	p("====== Perplexity statistics ======\n")
	p("Mean PPL(Q)                   : %10.6f ± %10.6f\n", f(r.PPL.Value), f(r.PPL.Err))
	p("Mean PPL(base)                : %10.6f ± %10.6f\n", f(r.PPLBase.Value), f(r.PPLBase.Err))
	p("Cor(ln(PPL(Q)), ln(PPL(base))): %6.2f%%\n", 100*f(r.LnPPLCorrelation))
	p("Mean ln(PPL(Q)/PPL(base))     : %10.6f ± %10.6f\n", f(r.LnPPLRatio.Value), f(r.LnPPLRatio.Err))
	p("Mean PPL(Q)/PPL(base)         : %10.6f ± %10.6f\n", f(r.PPLRatio.Value), f(r.PPLRatio.Err))
	p("Mean PPL(Q)-PPL(base)         : %10.6f ± %10.6f\n", f(r.PPLDiff.Value), f(r.PPLDiff.Err))
	p("\n====== KL divergence statistics ======\n")
	p("Mean    KLD: %10.6f ± %10.6f\n", f(r.KLD.Value), f(r.KLD.Err))
	kp := r.KLDPercentiles
	p("Maximum KLD: %10.6f\n", f(kp["max"]))
	p("99.9%%   KLD: %10.6f\n", f(kp["99.9"]))
	p("99.0%%   KLD: %10.6f\n", f(kp["99.0"]))
	p("Median  KLD: %10.6f\n", f(kp["median"]))
	p("10.0%%   KLD: %10.6f\n", f(kp["10.0"]))
	p(" 5.0%%   KLD: %10.6f\n", f(kp["5.0"]))
	p(" 1.0%%   KLD: %10.6f\n", f(kp["1.0"]))
	p("Minimum KLD: %10.6f\n", f(kp["min"]))
	p("\n====== Token probability statistics ======\n")
	p("Mean    Δp: %6.3f ± %5.3f %%\n", 100*f(r.DeltaP.Value), 100*f(r.DeltaP.Err))
	dp := r.DeltaPPercentiles
	p("Maximum Δp: %6.3f%%\n", 100*f(dp["max"]))
	for _, fr := range kldFractions[:5] {
		p("%-4s%%   Δp: %6.3f%%\n", fr.name, 100*f(dp[fr.name]))
	}
	p("Median  Δp: %6.3f%%\n", 100*f(dp["median"]))
	for _, fr := range kldFractions[5:] {
		p("%4s%%   Δp: %6.3f%%\n", fr.name, 100*f(dp[fr.name]))
	}
	p("Minimum Δp: %6.3f%%\n", 100*f(dp["min"]))
	p("RMS Δp    : %6.3f ± %5.3f %%\n", 100*f(r.RMSDeltaP.Value), 100*f(r.RMSDeltaP.Err))
	p("Same top p: %6.3f ± %5.3f %%\n", 100*f(r.SameTop.Value), 100*f(r.SameTop.Err))
}

// compareKLD is llama-perplexity --kl-divergence: the chunks of the base file's tokens
// run through m and compared, record by record, with the base log-probabilities. The
// base file is read as it goes (one chunk's records at a time).
func compareKLD(ctx context.Context, m *inferno.Model, path string, chunkLine func(string)) (*KLDResult, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	r := bufio.NewReaderSize(f, 1<<20)
	h, err := readKLDHeader(r, st.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if nv := m.HParams().NVocab; nv != h.NVocab {
		return nil, fmt.Errorf("%s: vocabulary of %d tokens, the model has %d", path, h.NVocab, nv)
	}
	if m.ContextSize() != h.NCtx {
		return nil, fmt.Errorf("%s: computed with a context of %d tokens, the model runs with %d (--ctx)", path, h.NCtx, m.ContextSize())
	}
	nv := kldRecordLen(h.NVocab)
	nScored := kldScored(h.NCtx)
	recs := make([]uint16, nScored*nv)
	k := &kldStats{}
	first := h.NCtx / 2
	err = kldChunks(ctx, m, h.Tokens, h.NCtx, h.NChunk, func(c int, chunk []int32, logits []float32) error {
		if err := binary.Read(r, binary.LittleEndian, recs); err != nil {
			return fmt.Errorf("%s: log-probabilities of chunk %d: %w", path, c, errTruncated(err))
		}
		for i := 0; i < nScored; i++ {
			k.add(logits[i*h.NVocab:(i+1)*h.NVocab], recs[i*nv:(i+1)*nv], int(chunk[first+i+1]))
		}
		if chunkLine != nil {
			chunkLine(k.chunkLine(c + 1))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if k.count < 100 {
		return nil, fmt.Errorf("%s: %d scored tokens; llama-perplexity computes no statistics on fewer than 100", path, k.count)
	}
	res := k.result()
	res.Chunks, res.Ctx = h.NChunk, h.NCtx
	return res, nil
}
