package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/inferno-go/inferno/internal/refdata"
)

// readKLDFile reads a whole base file: header and records.
func readKLDFile(t *testing.T, path string) (*kldHeader, []uint16) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	r := bufio.NewReader(f)
	h, err := readKLDHeader(r, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	recs := make([]uint16, h.NChunk*kldScored(h.NCtx)*kldRecordLen(h.NVocab))
	if err := binary.Read(r, binary.LittleEndian, recs); err != nil {
		t.Fatal(err)
	}
	return h, recs
}

// TestKLDBaseMatchesLlamaPerplexity writes the base file of stories260K over story.txt
// and compares it with llama-perplexity's byte for byte (perplexity computes in
// llama.cpp's batch order, so the F32 model's logits are llama.cpp's to the last bit).
func TestKLDBaseMatchesLlamaPerplexity(t *testing.T) {
	model := refdata.Path(t, "models", "stories260K.gguf")
	story := refdata.Path(t, "reference", "story.txt")
	refPath := refdata.Path(t, "quant-research", "stories260K-story-c128.kld")
	out := filepath.Join(t.TempDir(), "base.kld")
	if msg, err := runCLI(t, "perplexity", "-m", model, "-f", story, "--ctx", "128", "-t", "2", "--kl-divergence-base", out); err != nil {
		t.Fatalf("%v\n%s", err, msg)
	} else if !strings.Contains(msg, "PPL = 3.8481 +/- 0.26188") { // llama-perplexity's (kld-base-story.log)
		t.Errorf("perplexity line: %s", msg)
	}
	got, gotRecs := readKLDFile(t, out)
	ref, refRecs := readKLDFile(t, refPath)
	if got.NCtx != ref.NCtx || got.NVocab != ref.NVocab || got.NChunk != ref.NChunk || !slices.Equal(got.Tokens, ref.Tokens) {
		t.Fatalf("header: %d %d %d, llama-perplexity %d %d %d (tokens equal: %v)", got.NCtx, got.NVocab, got.NChunk,
			ref.NCtx, ref.NVocab, ref.NChunk, slices.Equal(got.Tokens, ref.Tokens))
	}
	nv := kldRecordLen(ref.NVocab)
	var worst, sum float64
	same, cnt := 0, 0
	for r := 0; r < len(refRecs)/nv; r++ {
		a, b := gotRecs[r*nv:(r+1)*nv], refRecs[r*nv:(r+1)*nv]
		if slices.Equal(a, b) {
			same++
		}
		sa, ma := unpackRecord(a)
		sb, mb := unpackRecord(b)
		for i := 0; i < ref.NVocab; i++ {
			la, lb := float64(sa)*float64(a[4+i])+float64(ma), float64(sb)*float64(b[4+i])+float64(mb)
			if la < float64(ma)+1 && lb < float64(mb)+1 {
				continue // both at the floor (max-16): clamped, not compared
			}
			d := math.Abs(la-lb) - float64(sa+sb)/2
			worst = max(worst, d)
			sum += math.Abs(la - lb)
			cnt++
		}
	}
	t.Logf("%d of %d records byte-equal; log-probabilities: mean difference %.3g, worst beyond the quantization steps %.3g", same, len(refRecs)/nv, sum/float64(cnt), worst)
	if same != len(refRecs)/nv {
		t.Errorf("%d of %d records differ from llama-perplexity's (worst log-probability %.3g beyond the quantization steps)", len(refRecs)/nv-same, len(refRecs)/nv, worst)
	}
}

// logStats reads the "name : value" lines of llama-perplexity's final statistics (every
// one it prints: the perplexity, KL-divergence and token-probability sections).
func logStats(text string) map[string]string {
	re := regexp.MustCompile(`(?m)^((?:Mean|Median|Maximum|Minimum|Cor|RMS|Same top p| ?[0-9.]+%)[^:\n]*?)\s*:\s*(.*)$`)
	m := map[string]string{}
	for _, g := range re.FindAllStringSubmatch(text, -1) {
		m[strings.TrimSpace(g[1])] = strings.TrimSpace(g[2])
	}
	return m
}

// numbers parses the numbers of a statistics value ("3.913241 ±   0.269037").
func numbers(s string) []float64 {
	var out []float64
	for _, f := range regexp.MustCompile(`-?[0-9]+\.[0-9]+`).FindAllString(s, -1) {
		v, _ := strconv.ParseFloat(f, 64)
		out = append(out, v)
	}
	return out
}

// TestKLDivergenceAgainstLlamaPerplexity compares stories260K-Q4_K_M-mixed with the
// reference base file: every statistic llama-perplexity prints must agree to its printed
// digits, ± 1 in the last (perplexity computes in llama.cpp's batch order, see
// docs/quantization.md).
func TestKLDivergenceAgainstLlamaPerplexity(t *testing.T) {
	model := refdata.Path(t, "models", "stories260K-Q4_K_M-mixed.gguf")
	base := refdata.Path(t, "quant-research", "stories260K-story-c128.kld")
	logText, err := os.ReadFile(refdata.Path(t, "quant-research", "kld-story-Q4_K_M-mixed.log"))
	if err != nil {
		t.Fatal(err)
	}
	jsonOut := filepath.Join(t.TempDir(), "kld.json")
	stdout, stderr, err := runCLISplit(t, "", "perplexity", "-m", model, "--kl-divergence-base", base, "--kl-divergence", "-t", "2", "--output-json", jsonOut)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	want, got := logStats(string(logText)), logStats(stdout)
	if len(want) != 31 || len(got) != len(want) {
		t.Fatalf("parsed %d statistics from the log, %d from ours:\n%s", len(want), len(got), stdout)
	}
	for name, w := range want {
		wn, gn := numbers(w), numbers(got[name])
		if len(wn) != len(gn) {
			t.Errorf("%s: %q, llama-perplexity %q", name, got[name], w)
			continue
		}
		decimals := regexp.MustCompile(`-?[0-9]+\.([0-9]+)`).FindAllStringSubmatch(w, -1)
		for i := range wn {
			last := math.Pow(10, -float64(len(decimals[i][1])))
			if d := math.Abs(gn[i] - wn[i]); d > last*1.01 {
				t.Errorf("%s: %q, llama-perplexity %q", name, got[name], w)
			}
		}
	}
	t.Logf("ours:\n%s", stdout)
	var j KLDResult
	raw, err := os.ReadFile(jsonOut)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &j); err != nil {
		t.Fatal(err)
	}
	if j.Chunks != 11 || j.Ctx != 128 || j.Scored != 693 || math.Abs(float64(j.PPLBase.Value)-3.848051) > 1e-6 {
		t.Errorf("json: %+v", j)
	}
	if !strings.Contains(stderr, "\n  11 ") {
		t.Errorf("no per-chunk lines on stderr:\n%s", stderr)
	}
}

// TestKLDStatsDirect checks the accumulated statistics against a direct float64
// computation on synthetic logits and base records.
func TestKLDStatsDirect(t *testing.T) {
	const nVocab, n = 37, 150
	nv := kldRecordLen(nVocab)
	rec := make([]uint16, nv)
	k := &kldStats{}
	var sumKLD, sumNLL, sumNLLBase float64
	var klds []float64
	for s := 0; s < n; s++ {
		base, q := make([]float32, nVocab), make([]float32, nVocab)
		for i := range base {
			base[i] = float32(3 * math.Sin(float64(s*nVocab+i)*0.7))
			q[i] = base[i] + float32(0.2*math.Cos(float64(s*13+i)))
		}
		tok := (s * 7) % nVocab
		nll := packLogProbs(base, rec, tok)
		k.add(q, rec, tok)
		// the record decodes to the base log-probabilities within half a step
		lb := logSoftmaxAll(base)
		sc, mn := unpackRecord(rec)
		if math.Abs(float64(nll)+lb[tok]) > 1e-5 {
			t.Fatalf("sample %d: nll %v, direct %v", s, nll, -lb[tok])
		}
		for i := range base {
			if lb[i] > float64(mn)+float64(sc) {
				if d := math.Abs(float64(sc)*float64(rec[4+i]) + float64(mn) - lb[i]); d > float64(sc)/2+1e-5 {
					t.Fatalf("sample %d token %d: decoded %v, direct %v (step %v)", s, i, float64(sc)*float64(rec[4+i])+float64(mn), lb[i], sc)
				}
			}
		}
		// direct: the base distribution as the record decodes it
		scale, minLP := unpackRecord(rec)
		lq := logSoftmaxAll(q)
		var kl float64
		for i := range base {
			lp := float64(scale)*float64(rec[4+i]) + float64(minLP)
			if lp > -16 {
				kl += math.Exp(lp) * (lp - lq[i])
			}
		}
		klds = append(klds, kl)
		sumKLD += kl
		sumNLL -= lq[tok]
		sumNLLBase -= float64(scale)*float64(rec[4+tok]) + float64(minLP)
	}
	r := k.result()
	slices.Sort(klds)
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"mean KLD", float64(r.KLD.Value), sumKLD / n},
		{"PPL(Q)", float64(r.PPL.Value), math.Exp(sumNLL / n)},
		{"PPL(base)", float64(r.PPLBase.Value), math.Exp(sumNLLBase / n)},
		{"max KLD", float64(r.KLDPercentiles["max"]), klds[n-1]},
		{"median KLD", float64(r.KLDPercentiles["median"]), (klds[n/2] + klds[n/2-1]) / 2},
	} {
		if math.Abs(c.got-c.want) > 1e-5*max(1, math.Abs(c.want)) {
			t.Errorf("%s = %.8g, direct %.8g", c.name, c.got, c.want)
		}
	}
}

func logSoftmaxAll(x []float32) []float64 {
	m := float64(slices.Max(x))
	var s float64
	for _, v := range x {
		s += math.Exp(float64(v) - m)
	}
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v) - m - math.Log(s)
	}
	return out
}

func TestKLDErrors(t *testing.T) {
	dir := t.TempDir()
	model := refdata.Path(t, "models", "stories260K.gguf")
	other := refdata.Path(t, "models", "llama-2-tiny-random.gguf") // 32000 tokens
	base := refdata.Path(t, "quant-research", "stories260K-story-c128.kld")
	story := refdata.Path(t, "reference", "story.txt")
	raw, err := os.ReadFile(base)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	magic := write("magic.kld", append([]byte("_logitz_"), raw[8:]...))
	trunc := write("trunc.kld", raw[:len(raw)-100])
	short := write("short.kld", raw[:14])
	bigVocab := append([]byte(nil), raw...)
	binary.LittleEndian.PutUint32(bigVocab[12:], 1<<30)
	big := write("big.kld", bigVocab)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-m", model, "--kl-divergence-base", filepath.Join(dir, "none.kld"), "--kl-divergence"}, "none.kld"},
		{[]string{"-m", model, "--kl-divergence-base", magic, "--kl-divergence"}, "not a llama-perplexity log-probabilities file"},
		{[]string{"-m", model, "--kl-divergence-base", trunc, "--kl-divergence"}, "truncated"},
		{[]string{"-m", model, "--kl-divergence-base", short, "--kl-divergence"}, "unexpected EOF"},
		{[]string{"-m", model, "--kl-divergence-base", big, "--kl-divergence"}, "n_vocab 1073741824 is not valid"},
		{[]string{"-m", other, "--kl-divergence-base", base, "--kl-divergence"}, "vocabulary of 512 tokens, the model has 32000"},
		{[]string{"-m", model, "--kl-divergence-base", base, "--kl-divergence", "--ctx", "256"}, "context of 128"},
		{[]string{"-m", model, "--kl-divergence-base", base, "--kl-divergence", "-f", story}, "-f is not used"},
		{[]string{"-m", model, "--kl-divergence"}, "needs --kl-divergence-base"},
		{[]string{"-m", model, "-f", story, "--ctx", "128", "--kl-divergence-base", story}, "refusing to overwrite an input"},
	} {
		_, err := runCLI(t, append([]string{"perplexity", "-t", "2"}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: error %v, want one line with %q", c.args, err, c.want)
		}
	}
}
