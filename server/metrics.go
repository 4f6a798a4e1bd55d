package server

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// stats counts completed generations for /inferno/status and /metrics.
type stats struct {
	mu                    sync.Mutex
	requests              int64
	promptTokens          int64
	generatedTokens       int64
	promptTPS, genTPS     float64 // of the last completed request
	promptTotal, genTotal *prometheus.CounterVec
	promptRate, genRate   *prometheus.GaugeVec
}

func (st *stats) record(model string, prompt, generated int, promptT, genT time.Duration) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.requests++
	st.promptTokens += int64(prompt)
	st.generatedTokens += int64(generated)
	st.promptTPS, st.genTPS = rate(prompt, promptT), rate(generated, genT)
	st.promptTotal.WithLabelValues(model).Add(float64(prompt))
	st.genTotal.WithLabelValues(model).Add(float64(generated))
	st.promptRate.WithLabelValues(model).Set(st.promptTPS)
	st.genRate.WithLabelValues(model).Set(st.genTPS)
}

func rate(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// metrics is the server's private Prometheus registry (never the global one, so two
// servers in one process, as in the tests, do not collide).
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
}

func newMetrics(s *Server) *metrics {
	reg := prometheus.NewRegistry()
	m := &metrics{reg: reg, requests: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "inferno_http_requests_total", Help: "HTTP requests by route and status code.",
	}, []string{"route", "code"})}
	s.stats.promptTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "inferno_prompt_tokens_total", Help: "Prompt tokens evaluated (cached prefix tokens excluded).",
	}, []string{"model"})
	s.stats.genTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "inferno_generated_tokens_total", Help: "Tokens generated.",
	}, []string{"model"})
	s.stats.promptRate = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "inferno_prompt_tokens_per_second", Help: "Prompt tokens per second of the last completed request.",
	}, []string{"model"})
	s.stats.genRate = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "inferno_generation_tokens_per_second", Help: "Generated tokens per second of the last completed request.",
	}, []string{"model"})
	reg.MustRegister(m.requests, s.stats.promptTotal, s.stats.genTotal, s.stats.promptRate, s.stats.genRate, engineCollector{s})
	return m
}

// engineCollector reads queue depth, busy slots and KV cache use at scrape time.
type engineCollector struct{ s *Server }

var (
	descQueue  = prometheus.NewDesc("inferno_queue_depth", "Requests waiting for a slot.", []string{"model"}, nil)
	descBusy   = prometheus.NewDesc("inferno_slots_busy", "Slots running a request.", []string{"model"}, nil)
	descSlots  = prometheus.NewDesc("inferno_slots", "Slots (--parallel).", []string{"model"}, nil)
	descKVUsed = prometheus.NewDesc("inferno_kv_cache_used_tokens", "Tokens in a slot's KV cache.", []string{"model", "slot"}, nil)
	descKVSize = prometheus.NewDesc("inferno_kv_cache_size_tokens", "A slot's KV cache capacity in tokens.", []string{"model", "slot"}, nil)
)

func (c engineCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descQueue, descBusy, descSlots, descKVUsed, descKVSize} {
		ch <- d
	}
}

func (c engineCollector) Collect(ch chan<- prometheus.Metric) {
	for _, e := range c.s.engines {
		ch <- prometheus.MustNewConstMetric(descQueue, prometheus.GaugeValue, float64(len(e.queue)), e.name)
		busy := 0
		for _, si := range e.slotsInfo() {
			if si.Busy {
				busy++
			}
			id := strconv.Itoa(si.ID)
			ch <- prometheus.MustNewConstMetric(descKVUsed, prometheus.GaugeValue, float64(si.KVUsed), e.name, id)
			ch <- prometheus.MustNewConstMetric(descKVSize, prometheus.GaugeValue, float64(si.KVSize), e.name, id)
		}
		ch <- prometheus.MustNewConstMetric(descBusy, prometheus.GaugeValue, float64(busy), e.name)
		ch <- prometheus.MustNewConstMetric(descSlots, prometheus.GaugeValue, float64(len(e.slots)), e.name)
	}
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// statusRecorder keeps the status code a handler wrote, for the request counter.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (read deadlines).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Flush lets streaming handlers flush through the recorder.
func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
