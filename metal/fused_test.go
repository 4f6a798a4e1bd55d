package metal_test

import (
	"context"
	"github.com/inferno-go/inferno/backend"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inferno-go/inferno/cpu"
	"github.com/inferno-go/inferno/internal/refdata"
	"github.com/inferno-go/inferno/metal"
	"github.com/inferno-go/inferno/model/llama"
)

// targetRecorder is a stepRecorder whose device reports target.
type targetRecorder struct {
	stepRecorder
	target metal.Target
}

func (d *targetRecorder) Info() metal.Info {
	i := d.SimDevice.Info()
	i.Target = d.target
	return i
}

// TestDecodeStepDispatchCount: a decode step of stories260K on the CUDA target is
// get_rows, 5 kernels a layer (q/k/v with their RMSNorm, RoPE and the KV store;
// attn_decode; o with the residual; gate/up with RMSNorm and SwiGLU; down with the
// residual), the output projection with its RMSNorm, and argmax. On Metal the step keeps
// one kernel per op (17 a layer, attention's two among them); on CUDA with
// INFERNO_CUDA_FUSE=0 too, with attention in one (16). Consecutive steps record the same
// dispatches.
func TestDecodeStepDispatchCount(t *testing.T) {
	for _, c := range []struct {
		target   metal.Target
		fuse     string // INFERNO_CUDA_FUSE
		perLayer int
		fixed    int
	}{{metal.TargetCUDA, "", 5, 3}, {metal.TargetMetal, "", 17, 4}, {metal.TargetCUDA, "0", 16, 4}} {
		t.Setenv("INFERNO_CUDA_FUSE", c.fuse)
		d := &targetRecorder{stepRecorder: stepRecorder{SimDevice: simBackend(t).Device().(*metal.SimDevice)}, target: c.target}
		m, err := llama.Load(metal.NewBackend(d), open(t, refdata.Path(t, "models", "stories260K.gguf")))
		if err != nil {
			t.Fatal(err)
		}
		st, err := m.NewState(64, 16, false)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		_, tok, err := st.Forward(ctx, []int32{1, 200, 300}, []int32{0, 1, 2}, llama.Argmax)
		if err != nil {
			t.Fatal(err)
		}
		d.syncs = nil
		if _, _, err = st.Forward(ctx, []int32{tok}, []int32{3}, llama.Argmax); err != nil {
			t.Fatal(err)
		}
		if len(d.syncs) != 1 {
			t.Fatalf("target %d: a decode step is %d syncs, want 1", c.target, len(d.syncs))
		}
		got, want := len(d.syncs[0]), c.perLayer*m.NLayer+c.fixed
		t.Logf("target %d, INFERNO_CUDA_FUSE=%q: %d dispatches for %d layers", c.target, c.fuse, got, m.NLayer)
		if got != want {
			var names []string
			for _, x := range d.syncs[0] {
				names = append(names, x.Kernel)
			}
			t.Errorf("target %d: %d dispatches a decode step, want %d (%d a layer + %d): %v", c.target, got, want, c.perLayer, c.fixed, names)
		}
		// the next step records the same dispatches (one CUDA graph replays them)
		first := d.syncs[0]
		d.syncs = nil
		if _, _, err = st.Forward(ctx, []int32{tok}, []int32{4}, llama.Argmax); err != nil {
			t.Fatal(err)
		}
		if len(d.syncs) != 1 || len(d.syncs[0]) != len(first) {
			t.Fatalf("target %d: the next decode step is %d syncs", c.target, len(d.syncs))
		}
		for j := range first {
			if diff := sameDispatch(first[j], d.syncs[0][j]); diff != "" {
				t.Errorf("target %d: decode steps at 3 and 4, dispatch %d: %s", c.target, j, diff)
			}
		}
	}
}

// TestFusedDecodeLogits: decode steps through the fused kernels (the CUDA target on the
// simulator) give logits within NMSE 2e-3 of the CPU backend's, for every qmini file
// (every weight type, and the mixes whose projections differ in type: Q4_K_M's attn_v
// is Q6_K; and one file with NeoX RoPE, whose steps run rope_kv); the same tokens are
// fed to both, and the steps dispatch matvec_fused, never the separate RMSNorm, matvec,
// add, RoPE or KV store.
func TestFusedDecodeLogits(t *testing.T) {
	sd := simBackend(t).Device().(*metal.SimDevice)
	c := cpu.New(2)
	defer c.Close()
	files, _ := filepath.Glob(filepath.Join(refdata.Path(t, "models", "qmini"), "qmini-*.gguf"))
	if len(files) == 0 {
		t.Fatal("no qmini files")
	}
	ctx := context.Background()
	// and one file once more as if its RoPE were NeoX's (CUDA: rope_kv after the products)
	files = append(files, filepath.Join(refdata.Path(t, "models", "qmini"), "qmini-Q8_0.gguf#neox"))
	for _, path := range files {
		path, neox := strings.CutSuffix(path, "#neox")
		name := strings.TrimSuffix(filepath.Base(path), ".gguf")
		f := open(t, path)
		mc, err := llama.Load(c, f)
		if err != nil {
			t.Fatal(err)
		}
		d := &recordingDevice{SimDevice: sd, kernels: map[string]bool{}, target: metal.TargetCUDA}
		mg, err := llama.Load(metal.NewBackend(d), f)
		if err != nil {
			t.Fatal(err)
		}
		if neox {
			name += " (NeoX RoPE)"
			spec := *mc.ArchSpec // a copy: the registry's entry is shared
			spec.NeoX = true
			mc.ArchSpec, mg.ArchSpec = &spec, &spec
		}
		var states [2]*llama.State
		for i, m := range []*llama.Model{mc, mg} {
			if states[i], err = m.NewState(16, 8, false); err != nil {
				t.Fatal(err)
			}
			if _, _, err := states[i].Forward(ctx, []int32{1, 200, 300}, []int32{0, 1, 2}, llama.LastLogits); err != nil {
				t.Fatal(err)
			}
		}
		clear(d.kernels)
		worst := 0.0
		for p, tok := range []int32{7, 80, 9} {
			var logits [2][]float32
			for i, st := range states {
				l, _, err := st.Forward(ctx, []int32{tok}, []int32{int32(3 + p)}, llama.LastLogits)
				if err != nil {
					t.Fatal(err)
				}
				logits[i] = append([]float32(nil), l...)
			}
			worst = max(worst, nmse(logits[1], logits[0]))
		}
		t.Logf("%s: decode logits NMSE %.3g", name, worst)
		if worst > 2e-3 {
			t.Errorf("%s: decode logits NMSE %.3g > 2e-3", name, worst)
		}
		fused := 0
		for k := range d.kernels {
			if strings.HasPrefix(k, "matvec_fused_") {
				fused++
			}
			if strings.HasPrefix(k, "matvec_wide_") || k == "rms_norm_wide" || k == "add" || k == "rope" || k == "kv_store" {
				t.Errorf("%s: a decode step dispatched %s", name, k)
			}
		}
		if fused == 0 || d.kernels["rope_kv"] != neox {
			t.Errorf("%s: matvec_fused not dispatched, or rope_kv where RoPE is not NeoX's or not where it is: %v", name, d.kernels)
		}
	}
}

// TestAttentionHeadDimRefused: a head dim past the kernels' limit is an error naming it,
// from the plain and the fused decode path alike, never a wrong result.
func TestAttentionHeadDimRefused(t *testing.T) {
	for _, target := range []metal.Target{metal.TargetMetal, metal.TargetCUDA} {
		d := &targetRecorder{stepRecorder: stepRecorder{SimDevice: simBackend(t).Device().(*metal.SimDevice)}, target: target}
		b := metal.NewBackend(d)
		hd := metal.AttnMaxHeadDim * 2
		q, k, v, o := b.Activation(1, hd), b.Activation(1, hd), b.Activation(1, hd), b.Activation(1, hd)
		c := b.NewKVCache(1, 8, hd, true)
		b.Attention(o, q, k, v, c, []int32{0}, backend.AttentionParams{NHead: 1, NKVHead: 1, HeadDim: hd, Scale: 1})
		err := b.Err()
		if err == nil || !strings.Contains(err.Error(), "head dim 512") {
			t.Errorf("target %d: head dim %d: err %v, want one naming it", target, hd, err)
		}
	}
}
