// llama-dump: every graph node of llama.cpp's forward pass over one chunk of a
// llama-perplexity KL-divergence base file, as float32, for op-by-op comparison with
// inferno (cpu/llamadump_test.go). Build and use: scripts/llama-dump/README.md.
#include "llama.h"
#include "ggml.h"
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>
#include <string>
static FILE *idx, *bin; static long off = 0;
static float getf(const ggml_tensor *t, int64_t i0, int64_t i1, int64_t i2, int64_t i3) {
    const char *p = (const char *)t->data + i0*t->nb[0] + i1*t->nb[1] + i2*t->nb[2] + i3*t->nb[3];
    if (t->type == GGML_TYPE_F32) return *(const float *)p;
    return ggml_fp16_to_fp32(*(const ggml_fp16_t *)p);
}
static bool cb(struct ggml_tensor *t, bool ask, void *) {
    if (ask) return true;
    if (t->type != GGML_TYPE_F32 && t->type != GGML_TYPE_F16) { fprintf(idx, "%s %s %s skip\n", t->name, ggml_op_desc(t), ggml_type_name(t->type)); return true; }
    fprintf(idx, "%s %s %s %ld %ld %ld %ld %ld\n", t->name, ggml_op_desc(t), ggml_type_name(t->type), (long)t->ne[0], (long)t->ne[1], (long)t->ne[2], (long)t->ne[3], off);
    for (int64_t i3 = 0; i3 < t->ne[3]; i3++) for (int64_t i2 = 0; i2 < t->ne[2]; i2++)
    for (int64_t i1 = 0; i1 < t->ne[1]; i1++) for (int64_t i0 = 0; i0 < t->ne[0]; i0++) {
        float v = getf(t, i0, i1, i2, i3); fwrite(&v, 4, 1, bin); off++; }
    return true;
}
int main(int argc, char **argv) {
    // dump MODEL KLD CHUNK OUTPREFIX [nbatch]
    if (argc < 5) { fprintf(stderr, "usage: %s MODEL KLD-BASE-FILE CHUNK OUTPREFIX [N_BATCH]\n", argv[0]); return 2; }
    const char *model = argv[1], *kld = argv[2]; int chunk = atoi(argv[3]); std::string out = argv[4];
    FILE *f = fopen(kld, "rb"); char magic[8];
    if (!f || fread(magic, 8, 1, f) != 1 || memcmp(magic, "_logits_", 8) != 0) { fprintf(stderr, "%s: not a llama-perplexity logits file\n", kld); return 1; }
    int n_ctx; fread(&n_ctx, 4, 1, f); int n_vocab, n_chunk; fread(&n_vocab, 4, 1, f); fread(&n_chunk, 4, 1, f);
    if (chunk < 0 || chunk >= n_chunk) { fprintf(stderr, "chunk %d: the file has %d\n", chunk, n_chunk); return 1; }
    std::vector<llama_token> toks(n_ctx*n_chunk);
    if (fread(toks.data(), 4, toks.size(), f) != toks.size()) { fprintf(stderr, "%s: short token list\n", kld); return 1; }
    fclose(f);
    int nb = argc > 5 ? atoi(argv[5]) : n_ctx;
    llama_backend_init();
    auto mp = llama_model_default_params(); mp.n_gpu_layers = 0;
    llama_model *m = llama_model_load_from_file(model, mp);
    auto cp = llama_context_default_params(); cp.n_ctx = n_ctx; cp.n_batch = nb; cp.n_ubatch = nb; cp.n_threads = 2; cp.n_threads_batch = 2;
    cp.cb_eval = cb; cp.cb_eval_user_data = nullptr;
    llama_context *ctx = llama_init_from_model(m, cp);
    idx = fopen((out + ".idx").c_str(), "w"); bin = fopen((out + ".bin").c_str(), "wb");
    FILE *lg = fopen((out + ".logits").c_str(), "wb");
    std::vector<llama_token> t(toks.begin() + chunk*n_ctx, toks.begin() + (chunk+1)*n_ctx); t[0] = 1;
    llama_batch b = llama_batch_init(n_ctx, 0, 1);
    for (int s = 0; s < n_ctx; s += nb) {
        b.n_tokens = 0;
        for (int i = s; i < s + nb && i < n_ctx; i++) { b.token[b.n_tokens] = t[i]; b.pos[b.n_tokens] = i; b.n_seq_id[b.n_tokens] = 1; b.seq_id[b.n_tokens][0] = 0; b.logits[b.n_tokens] = 1; b.n_tokens++; }
        fprintf(idx, "=== batch %d\n", s);
        if (llama_decode(ctx, b)) { fprintf(stderr, "decode failed\n"); return 1; }
        for (int i = 0; i < b.n_tokens; i++) fwrite(llama_get_logits_ith(ctx, i), 4, n_vocab, lg);
    }
    fclose(idx); fclose(bin); fclose(lg);
    return 0;
}
