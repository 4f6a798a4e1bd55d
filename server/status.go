package server

import (
	"net/http"
	"runtime"
)

// The /inferno/status shape the dashboard reads.
type statusJSON struct {
	Version    string      `json:"version"`
	System     systemJSON  `json:"system"`
	Models     []modelJSON `json:"models"`
	Slots      []slotJSON  `json:"slots"`
	QueueDepth int         `json:"queue_depth"`
	Stats      statsJSON   `json:"stats"`
}

type systemJSON struct {
	CPU      string   `json:"cpu"`
	Features []string `json:"features"`
	Threads  int      `json:"threads"`
	GPU      *gpuJSON `json:"gpu"`
}

type gpuJSON struct {
	Name        string `json:"name"`
	MemoryUsed  int64  `json:"memory_used"`
	MemoryTotal int64  `json:"memory_total"`
	Unified     bool   `json:"unified"`
}

type modelJSON struct {
	Name         string         `json:"name"`
	Path         string         `json:"path"`
	Architecture string         `json:"architecture"`
	Parameters   int64          `json:"parameters"`
	TypeMix      map[string]int `json:"type_mix"`
	Context      int            `json:"context"`
	Backend      string         `json:"backend"`
	Layers       int            `json:"layers"`
	LayersGPU    int            `json:"layers_gpu"`
}

type slotJSON struct {
	ID     int    `json:"id"`
	Model  string `json:"model"`
	Busy   bool   `json:"busy"`
	KVUsed int    `json:"kv_used"`
	KVSize int    `json:"kv_size"`
}

type statsJSON struct {
	Requests                  int64   `json:"requests"`
	PromptTokens              int64   `json:"prompt_tokens"`
	GeneratedTokens           int64   `json:"generated_tokens"`
	PromptTokensPerSecond     float64 `json:"prompt_tokens_per_second"`
	GenerationTokensPerSecond float64 `json:"generation_tokens_per_second"`
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	st := statusJSON{Version: s.cfg.Version, Models: []modelJSON{}, Slots: []slotJSON{},
		System: systemJSON{CPU: s.cfg.System.CPU, Features: s.cfg.System.Features, Threads: runtime.NumCPU()}}
	if st.System.Features == nil {
		st.System.Features = []string{}
	}
	for _, e := range s.engines {
		m := s.models[e.name]
		f := facts(m)
		gpuLayers, layers := m.Model.Layers()
		st.Models = append(st.Models, modelJSON{Name: e.name, Path: m.Model.Path(), Architecture: f.arch, Parameters: f.parameters,
			TypeMix: f.typeMix, Context: m.Model.ContextSize(), Backend: m.Model.BackendName(), Layers: layers, LayersGPU: gpuLayers})
		st.System.Threads = m.Model.Threads()
		if info, ok := m.Model.DeviceInfo(); ok {
			if st.System.GPU == nil {
				st.System.GPU = &gpuJSON{Name: info.Name, MemoryTotal: info.MaxWorkingSet, Unified: info.UnifiedMemory}
			}
			mem := m.Model.GPUMemory()
			st.System.GPU.MemoryUsed += mem.Weights + mem.KVCache + mem.Compute
		}
		for _, si := range e.slotsInfo() {
			st.Slots = append(st.Slots, slotJSON{ID: si.ID, Model: e.name, Busy: si.Busy, KVUsed: si.KVUsed, KVSize: si.KVSize})
		}
		st.QueueDepth += len(e.queue)
	}
	s.stats.mu.Lock()
	st.Stats = statsJSON{Requests: s.stats.requests, PromptTokens: s.stats.promptTokens, GeneratedTokens: s.stats.generatedTokens,
		PromptTokensPerSecond: s.stats.promptTPS, GenerationTokensPerSecond: s.stats.genTPS}
	s.stats.mu.Unlock()
	writeJSON(w, st)
}
