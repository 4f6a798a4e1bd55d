// runtime.cpp — fiber scheduler and dispatch for the Metal simulator. Compiled into
// every kernel library after the translated kernels (single translation unit).
// The Metal keywords are macros in kernel code; the runtime is plain C++.
#pragma push_macro("thread")
#undef thread
#pragma push_macro("kernel")
#undef kernel
#pragma push_macro("device")
#undef device
#pragma push_macro("constant")
#undef constant
#pragma push_macro("threadgroup")
#undef threadgroup
#include <atomic>
#include <mutex>
#include <thread>
#include <vector>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__APPLE__)
#define MTL_SYM(x) "_" #x
#else
#define MTL_SYM(x) #x
#endif

// mtl_switch(void **save_sp, void *next_sp): save callee-saved registers on the current
// stack, store its pointer, switch to next_sp and restore its registers.
extern "C" void mtl_switch(void **save_sp, void *next_sp);
extern "C" void mtl_fiber_start(void);

#if defined(__x86_64__)
__asm__(".text\n"
        ".globl " MTL_SYM(mtl_switch) "\n" MTL_SYM(mtl_switch) ":\n"
        "  pushq %rbp\n  pushq %rbx\n  pushq %r12\n  pushq %r13\n  pushq %r14\n  pushq %r15\n"
        "  movq %rsp, (%rdi)\n"
        "  movq %rsi, %rsp\n"
        "  popq %r15\n  popq %r14\n  popq %r13\n  popq %r12\n  popq %rbx\n  popq %rbp\n"
        "  ret\n");
#elif defined(__aarch64__)
__asm__(".text\n"
        ".globl " MTL_SYM(mtl_switch) "\n" MTL_SYM(mtl_switch) ":\n"
        "  sub sp, sp, #160\n"
        "  stp x19, x20, [sp, #0]\n  stp x21, x22, [sp, #16]\n  stp x23, x24, [sp, #32]\n"
        "  stp x25, x26, [sp, #48]\n  stp x27, x28, [sp, #64]\n  stp x29, x30, [sp, #80]\n"
        "  stp d8, d9, [sp, #96]\n  stp d10, d11, [sp, #112]\n  stp d12, d13, [sp, #128]\n  stp d14, d15, [sp, #144]\n"
        "  mov x2, sp\n  str x2, [x0]\n"
        "  mov sp, x1\n"
        "  ldp x19, x20, [sp, #0]\n  ldp x21, x22, [sp, #16]\n  ldp x23, x24, [sp, #32]\n"
        "  ldp x25, x26, [sp, #48]\n  ldp x27, x28, [sp, #64]\n  ldp x29, x30, [sp, #80]\n"
        "  ldp d8, d9, [sp, #96]\n  ldp d10, d11, [sp, #112]\n  ldp d12, d13, [sp, #128]\n  ldp d14, d15, [sp, #144]\n"
        "  add sp, sp, #160\n"
        "  ret\n");
#else
#error "the Metal simulator needs amd64 or arm64"
#endif

typedef void (*mtl_thunk)(void **bufs, const mtl_tinfo *t);

struct mtl_kernel_desc {
    const char *name;
    mtl_thunk thunk;
};

struct mtl_fiber {
    void *sp;
    mtl_tinfo ti;
    mtl_wait *wait; // null while runnable
    int done;
};

struct mtl_worker {
    void *sched_sp;
    mtl_fiber *cur;
    std::vector<mtl_fiber> fibers;
    std::vector<char *> stacks;
    std::vector<int> order;
    std::vector<std::vector<char>> tgmem;
    unsigned generation;
    void **bufs;
    mtl_thunk thunk;
    const char *kernel;
    size_t tgBase, tgUsed; // threadgroup memory: dynamic (host-set) and declared in kernels
};

static const size_t mtl_stack_size = 128 * 1024;

// Fiber stacks are reused across dispatches: mapping and unmapping them for every
// kernel launch dominated the simulator's cost.
static std::mutex mtl_stack_mu;
static std::vector<char *> mtl_stack_pool;

static char *mtl_get_stack() {
    {
        std::lock_guard<std::mutex> g(mtl_stack_mu);
        if (!mtl_stack_pool.empty()) {
            char *s = mtl_stack_pool.back();
            mtl_stack_pool.pop_back();
            return s;
        }
    }
    return (char *)mmap(nullptr, mtl_stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

static void mtl_put_stacks(std::vector<char *> &v) {
    std::lock_guard<std::mutex> g(mtl_stack_mu);
    for (auto s : v) mtl_stack_pool.push_back(s);
}
static thread_local mtl_worker *mtl_w;

static std::mutex mtl_diag_mu;
static std::atomic<int> mtl_ndiag;
static char mtl_diag_first[512];
static int mtl_strict;

// Threadgroup (shared) memory per threadgroup: Metal's 32 KiB; the CUDA build sets 48 KiB.
#ifndef MTL_TG_LIMIT
#define MTL_TG_LIMIT 32768
#endif
#define MTL_STR2(x) #x
#define MTL_STR(x) MTL_STR2(x)
#define MTL_TG_OVER "threadgroup memory over " MTL_STR(MTL_TG_LIMIT) " bytes"

extern "C" void mtl_diag(const char *what) {
    int n = mtl_ndiag.fetch_add(1);
    if (n == 0) {
        std::lock_guard<std::mutex> g(mtl_diag_mu);
        const mtl_fiber *f = mtl_w ? mtl_w->cur : nullptr;
        if (f)
            snprintf(mtl_diag_first, sizeof mtl_diag_first, "%s: %s (threadgroup %u,%u,%u thread %u)", mtl_w->kernel, what,
                     f->ti.tgpig.x, f->ti.tgpig.y, f->ti.tgpig.z, f->ti.tiitg);
        else
            snprintf(mtl_diag_first, sizeof mtl_diag_first, "%s", what);
    }
}

extern "C" int mtl_lane_impl(void) { return mtl_w->cur->ti.tiisg; }
extern "C" const mtl_tinfo *mtl_tinfo_cur(void) { return &mtl_w->cur->ti; }

static void mtl_yield(mtl_wait *w) {
    mtl_fiber *f = mtl_w->cur;
    f->wait = w;
    mtl_switch(&f->sp, mtl_w->sched_sp);
}

extern "C" void mtl_barrier_impl(void) {
    mtl_wait w = {1, 0, nullptr, nullptr, nullptr, 0, 0};
    mtl_yield(&w);
}

extern "C" void mtl_collective(mtl_wait *w) { mtl_yield(w); }

extern "C" void *mtl_tg_mem(int index) { return mtl_w->tgmem[index].data(); }

// CUDA's dynamic shared memory (extern __shared__): the dispatch's one allocation.
extern "C" void *mtl_tg_dynamic(void) {
    if (mtl_w->tgmem.empty()) {
        mtl_diag("extern __shared__ array used by a dispatch with no dynamic shared memory");
        return nullptr;
    }
    return mtl_w->tgmem[0].data();
}
extern "C" unsigned mtl_tg_generation(void) { return mtl_w->generation; }

extern "C" void mtl_tg_account(unsigned long bytes) {
    mtl_w->tgUsed += bytes;
    if (mtl_w->tgBase + mtl_w->tgUsed > MTL_TG_LIMIT) mtl_diag(MTL_TG_OVER);
}

struct mtl_fc { void *p; int size; };
static mtl_fc mtl_fcs[64];
extern "C" void mtl_register_fc(int index, void *p, int size) {
    if (index >= 0 && index < 64) mtl_fcs[index] = {p, size};
}

extern "C" void mtl_fiber_start(void) {
    mtl_fiber *f = mtl_w->cur;
    mtl_w->thunk(mtl_w->bufs, &f->ti);
    static mtl_wait done = {3, 0, nullptr, nullptr, nullptr, 0, 0};
    f->done = 1;
    mtl_yield(&done);
    abort(); // never resumed
}

static void mtl_init_stack(mtl_fiber *f, char *stack) {
    uintptr_t top = ((uintptr_t)(stack + mtl_stack_size)) & ~(uintptr_t)15;
#if defined(__x86_64__)
    void **sp = (void **)top;
    *--sp = nullptr;                    // fake return address of mtl_fiber_start
    *--sp = (void *)mtl_fiber_start;    // popped by ret
    for (int i = 0; i < 6; i++) *--sp = nullptr; // rbp rbx r12-r15
    f->sp = sp;
#else
    void **sp = (void **)(top - 160);
    for (int i = 0; i < 20; i++) sp[i] = nullptr;
    sp[11] = (void *)mtl_fiber_start; // x30
    f->sp = sp;
#endif
}

// Run one threadgroup to completion.
static void mtl_run_threadgroup(mtl_worker *w, uint3 tg, uint3 ntg, uint3 ngrid, int nthreads) {
    w->generation++;
    w->tgUsed = 0;
    for (auto &m : w->tgmem) memset(m.data(), 0xFF, m.size());
    const int width = 32;
    for (int i = 0; i < nthreads; i++) {
        mtl_fiber *f = &w->fibers[i];
        f->wait = nullptr;
        f->done = 0;
        uint3 p = {(uint)(i % ntg.x), (uint)((i / ntg.x) % ntg.y), (uint)(i / (ntg.x * ntg.y))};
        f->ti.tpitg = p;
        f->ti.tgpig = tg;
        f->ti.ntg = ntg;
        f->ti.ngrid = ngrid;
        f->ti.tpg = ngrid * ntg;
        f->ti.tpig = tg * ntg + p;
        f->ti.tiitg = i;
        f->ti.tiisg = i % width;
        f->ti.sgitg = i / width;
        f->ti.tpsg = width;
        f->ti.nsg = (nthreads + width - 1) / width;
        mtl_init_stack(f, w->stacks[i]);
    }
    int nsg = (nthreads + width - 1) / width;
    std::vector<mtl_wait *> lanes(width);
    for (;;) {
        bool ran = false;
        for (int k = 0; k < nthreads; k++) {
            mtl_fiber *f = &w->fibers[w->order[k]];
            if (f->done || f->wait) continue;
            w->cur = f;
            mtl_switch(&w->sched_sp, f->sp);
            w->cur = nullptr;
            ran = true;
        }
        if (ran) continue;
        int live = 0, atBarrier = 0, finished = 0;
        for (int i = 0; i < nthreads; i++) {
            mtl_fiber *f = &w->fibers[i];
            if (f->done) { finished++; continue; }
            live++;
            if (f->wait->kind == 1) atBarrier++;
        }
        if (live == 0) break;
        // SIMD-group collectives first: each group resolves its earliest position.
        bool resolved = false;
        for (int g = 0; g < nsg; g++) {
            int best = -1;
            for (int l = 0; l < width && g * width + l < nthreads; l++) {
                mtl_fiber *f = &w->fibers[g * width + l];
                if (!f->done && f->wait->kind == 2 && (best < 0 || f->wait->pos < best)) best = f->wait->pos;
            }
            if (best < 0) continue;
            int members = 0, liveInGroup = 0;
            mtl_resolver res = nullptr;
            for (int l = 0; l < width; l++) {
                lanes[l] = nullptr;
                if (g * width + l >= nthreads) continue;
                mtl_fiber *f = &w->fibers[g * width + l];
                if (f->done) continue;
                liveInGroup++;
                if (f->wait->kind == 2 && f->wait->pos == best) {
                    lanes[l] = f->wait;
                    res = f->wait->resolve;
                    members++;
                }
            }
            if (members != liveInGroup) {
                w->cur = &w->fibers[g * width];
                mtl_diag("SIMD-group collective in divergent control flow");
                w->cur = nullptr;
            }
            res(lanes.data(), width);
            for (int l = 0; l < width; l++)
                if (lanes[l]) w->fibers[g * width + l].wait = nullptr;
            resolved = true;
        }
        if (resolved) continue;
        if (atBarrier == live) {
            if (finished > 0) {
                w->cur = &w->fibers[0];
                mtl_diag("threadgroup barrier reached after some threads returned");
                w->cur = nullptr;
            }
            for (int i = 0; i < nthreads; i++)
                if (!w->fibers[i].done) w->fibers[i].wait = nullptr;
            continue;
        }
        mtl_diag("deadlock: threads wait on each other");
        break;
    }
}

// ---- guard-page fault reporting ------------------------------------------------------

static struct sigaction mtl_old_segv, mtl_old_bus, mtl_old_fpe;

static void mtl_fault(int sig, siginfo_t *si, void *ctx) {
    if (mtl_w && mtl_w->cur) {
        const mtl_fiber *f = mtl_w->cur;
        if (sig == SIGFPE)
            fprintf(stderr, "metal sim: kernel %s: integer division by zero by threadgroup (%u,%u,%u) thread %u\n",
                    mtl_w->kernel, f->ti.tgpig.x, f->ti.tgpig.y, f->ti.tgpig.z, f->ti.tiitg);
        else
            fprintf(stderr, "metal sim: kernel %s: out-of-bounds access at %p by threadgroup (%u,%u,%u) thread %u\n",
                    mtl_w->kernel, si->si_addr, f->ti.tgpig.x, f->ti.tgpig.y, f->ti.tgpig.z, f->ti.tiitg);
        _exit(3);
    }
    struct sigaction *old = sig == SIGSEGV ? &mtl_old_segv : sig == SIGBUS ? &mtl_old_bus : &mtl_old_fpe;
    if (old->sa_flags & SA_SIGINFO) old->sa_sigaction(sig, si, ctx);
    else if (old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN) old->sa_handler(sig);
    else { signal(sig, SIG_DFL); raise(sig); }
}

static void mtl_install_fault_handler() {
    static std::once_flag once;
    std::call_once(once, [] {
        static char altstack[1 << 16];
        (void)altstack;
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = mtl_fault;
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
        sigaction(SIGSEGV, &sa, &mtl_old_segv);
        sigaction(SIGBUS, &sa, &mtl_old_bus);
        sigaction(SIGFPE, &sa, &mtl_old_fpe);
    });
}

// ---- the C ABI called from Go --------------------------------------------------------

extern "C" const mtl_kernel_desc mtl_kernels[];
extern "C" const int mtl_nkernels;

extern "C" int mtl_kernel_count(void) { return mtl_nkernels; }
extern "C" const char *mtl_kernel_name(int i) { return i >= 0 && i < mtl_nkernels ? mtl_kernels[i].name : ""; }

extern "C" int mtl_set_function_constant(int index, const void *value, int size) {
    if (index < 0 || index >= 64 || !mtl_fcs[index].p) return -1;
    if (size != mtl_fcs[index].size) return -2;
    memcpy(mtl_fcs[index].p, value, size);
    return 0;
}

// mtl_dispatch runs kernel k over grid[3] threadgroups of tg[3] threads.
// order: 0 forward, 1 reverse, 2 shuffled (seeded). Returns the number of diagnostics
// (their first message in err), or -1 on a bad request.
extern "C" int mtl_dispatch(int k, void **bufs, const uint32_t *grid, const uint32_t *tg, const uint32_t *tgmem,
                            int ntgmem, int order, uint64_t seed, int workers, char *err, int errlen) {
    if (k < 0 || k >= mtl_nkernels) return -1;
    int nthreads = (int)(tg[0] * tg[1] * tg[2]);
    if (nthreads <= 0 || nthreads > 1024) {
        snprintf(err, errlen, "threadgroup of %d threads (1..1024)", nthreads);
        return -1;
    }
    uint64_t total = (uint64_t)grid[0] * grid[1] * grid[2];
    mtl_install_fault_handler();
    mtl_ndiag = 0;
    mtl_diag_first[0] = 0;
    size_t tgBytes = 0;
    for (int i = 0; i < ntgmem; i++) tgBytes += tgmem[i];
    if (tgBytes > MTL_TG_LIMIT) mtl_diag(MTL_TG_OVER);
    if (tgBytes > MTL_TG_LIMIT) tgBytes = 0; // reported once
    std::atomic<uint64_t> next{0};
    if (workers < 1) workers = 1;
    if ((uint64_t)workers > total) workers = (int)total;
    auto work = [&](int wi) {
        mtl_worker w;
        w.kernel = mtl_kernels[k].name;
        w.thunk = mtl_kernels[k].thunk;
        w.bufs = bufs;
        w.generation = 0;
        w.tgBase = tgBytes;
        w.tgUsed = 0;
        w.fibers.resize(nthreads);
        w.stacks.resize(nthreads);
        for (int i = 0; i < nthreads; i++) w.stacks[i] = mtl_get_stack();
        for (int i = 0; i < ntgmem; i++) w.tgmem.emplace_back(tgmem[i] ? tgmem[i] : 1);
        w.order.resize(nthreads);
        for (int i = 0; i < nthreads; i++) w.order[i] = order == 1 ? nthreads - 1 - i : i;
        if (order == 2) {
            uint64_t s = seed * 0x9E3779B97F4A7C15ull + wi + 1;
            for (int i = nthreads - 1; i > 0; i--) {
                s ^= s << 13; s ^= s >> 7; s ^= s << 17;
                int j = (int)(s % (uint64_t)(i + 1));
                int t = w.order[i]; w.order[i] = w.order[j]; w.order[j] = t;
            }
        }
        mtl_w = &w;
        stack_t ss;
        static thread_local char alt[1 << 16];
        ss.ss_sp = alt; ss.ss_size = sizeof alt; ss.ss_flags = 0;
        sigaltstack(&ss, nullptr);
        uint3 ngrid = {grid[0], grid[1], grid[2]};
        uint3 ntg = {tg[0], tg[1], tg[2]};
        for (;;) {
            uint64_t i = next.fetch_add(1);
            if (i >= total) break;
            uint3 g = {(uint)(i % grid[0]), (uint)((i / grid[0]) % grid[1]), (uint)(i / ((uint64_t)grid[0] * grid[1]))};
            mtl_run_threadgroup(&w, g, ntg, ngrid, nthreads);
        }
        mtl_w = nullptr;
        mtl_put_stacks(w.stacks);
    };
    // Always on fresh threads: the caller may be on a small system stack (purego).
    std::vector<std::thread> ts;
    for (int i = 0; i < workers; i++) ts.emplace_back(work, i);
    for (auto &t : ts) t.join();
    int n = mtl_ndiag.load();
    if (n > 0 && err && errlen > 0) snprintf(err, errlen, "%s", mtl_diag_first);
    return n;
}

#pragma pop_macro("thread")
#pragma pop_macro("kernel")
#pragma pop_macro("device")
#pragma pop_macro("constant")
#pragma pop_macro("threadgroup")
