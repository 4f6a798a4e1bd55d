package llama

// llama is the base graph (llama.cpp build_llama): RMSNorm, q/k/v, NORM RoPE, causal
// attention scaled by 1/√head_dim, SwiGLU FFN; GQA and tied embeddings by the file.
// Llama 3.x adds rope_freqs.weight, one divisor per rotated pair for every layer.
func init() {
	register(&Arch{Name: "llama", RopeFreqs: true})
}
