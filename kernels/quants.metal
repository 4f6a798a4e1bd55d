// quants.metal — block layouts of every weight type and their dequantization, shared
// by get_rows, matvec and matmul (concatenated first into the library).
//
// Work split: none (device functions). blk_<type>::dq16(row, c, n, y) decodes elements
// [16c, 16c+16) of a row of n elements into y; float types zero-fill past n, so rows
// of any length work. <type> is the ggml type name in lower case.
//
// The structs here ARE the list of weight types on Metal: kernels.Sources() instantiates
// every per-type kernel (a `template <typename B> kernel`) once per `struct blk_<type>`,
// as <kernel>_<type>, and the host side takes its type list from them too. Adding a type
// is adding its struct here.
//
// Shared with CUDA (cuda/kernels.cu includes this file after its prelude), as are the
// algorithm functions of the other files; only `kernel` entry points are Metal's own.
#ifndef __CUDA__
#include <metal_stdlib>
using namespace metal;
#endif

constant float kvalues_iq4nl[16] = {-127.f, -104.f, -83.f, -65.f, -49.f, -35.f, -22.f, -10.f, 1.f, 13.f, 25.f, 38.f, 53.f, 69.f, 89.f, 113.f};

inline float ld_f16(device const uchar * p) {
    return float(as_type<half>(ushort(ushort(p[0]) | (ushort(p[1]) << 8))));
}

inline uint ld_u32(device const uchar * p) {
    return uint(p[0]) | (uint(p[1]) << 8) | (uint(p[2]) << 16) | (uint(p[3]) << 24);
}

struct blk_f32 {
    enum { QK = 1, BYTES = 4 };
    static inline void dq16(device const uchar * row, int c, int n, thread float * y) {
        device const float * x = (device const float *) row;
        for (int l = 0; l < 16; l++) {
            int e = 16 * c + l;
            y[l] = e < n ? x[e] : 0.0f;
        }
    }
};

struct blk_f16 {
    enum { QK = 1, BYTES = 2 };
    static inline void dq16(device const uchar * row, int c, int n, thread float * y) {
        device const half * x = (device const half *) row;
        for (int l = 0; l < 16; l++) {
            int e = 16 * c + l;
            y[l] = e < n ? float(x[e]) : 0.0f;
        }
    }
};

struct blk_bf16 {
    enum { QK = 1, BYTES = 2 };
    static inline void dq16(device const uchar * row, int c, int n, thread float * y) {
        device const ushort * x = (device const ushort *) row;
        for (int l = 0; l < 16; l++) {
            int e = 16 * c + l;
            y[l] = e < n ? as_type<float>(uint(x[e]) << 16) : 0.0f;   // bfloat16 is float's top half
        }
    }
};

struct blk_q4_0 {
    enum { QK = 32, BYTES = 18 };
    static inline void dq16(device const uchar * row, int c, int n, thread float * y) {
        device const uchar * b = row + (c / 2) * BYTES;
        float d = ld_f16(b);
        int sh = (c % 2) * 4;
        for (int l = 0; l < 16; l++) y[l] = d * float(int((b[2 + l] >> sh) & 15) - 8);
    }
};

struct blk_iq4_nl {
    enum { QK = 32, BYTES = 18 };
    static inline void dq16(device const uchar * row, int c, int n, thread float * y) {
        device const uchar * b = row + (c / 2) * BYTES;
        float d = ld_f16(b);
        int sh = (c % 2) * 4;
        for (int l = 0; l < 16; l++) y[l] = d * kvalues_iq4nl[(b[2 + l] >> sh) & 15];
    }
};

struct blk_q4_1 {
    enum { QK = 32, BYTES = 20 };
    static inline void dq16(device const uchar * row, int c, int n, thread float * y) {
        device const uchar * b = row + (c / 2) * BYTES;
        float d = ld_f16(b), m = ld_f16(b + 2);
        int sh = (c % 2) * 4;
        for (int l = 0; l < 16; l++) y[l] = d * float((b[4 + l] >> sh) & 15) + m;
    }
};

struct blk_q5_0 {
    enum { QK = 32, BYTES = 22 };
    static inline void dq16(device const uchar * row, int c, int n, thread float * y) {
        device const uchar * b = row + (c / 2) * BYTES;
        float d = ld_f16(b);
        uint qh = ld_u32(b + 2);
        int h = c % 2;
        for (int l = 0; l < 16; l++) {
            int q = ((b[6 + l] >> (4 * h)) & 15) | (((qh >> (l + 16 * h)) & 1) << 4);
            y[l] = d * float(q - 16);
        }
    }
};

struct blk_q5_1 {
    enum { QK = 32, BYTES = 24 };
    static inline void dq16(device const uchar * row, int c, int n, thread float * y) {
        device const uchar * b = row + (c / 2) * BYTES;
        float d = ld_f16(b), m = ld_f16(b + 2);
        uint qh = ld_u32(b + 4);
        int h = c % 2;
        for (int l = 0; l < 16; l++) {
            int q = ((b[8 + l] >> (4 * h)) & 15) | (((qh >> (l + 16 * h)) & 1) << 4);
            y[l] = d * float(q) + m;
        }
    }
};

struct blk_q8_0 {
    enum { QK = 32, BYTES = 34 };
    static inline void dq16(device const uchar * row, int c, int n, thread float * y) {
        device const uchar * b = row + (c / 2) * BYTES;
        float d = ld_f16(b);
        device const char * q = (device const char *) (b + 2 + 16 * (c % 2));
        for (int l = 0; l < 16; l++) y[l] = d * float(q[l]);
    }
};

struct blk_q2_k {
    enum { QK = 256, BYTES = 84 };
    static inline void dq16(device const uchar * row, int c, int n, thread float * y) {
        device const uchar * b = row + (c / 16) * BYTES;
        int g = c % 16;                       // group of 16 = scale index
        int nn = g / 8, j = (g % 8) / 2, h = g % 2;
        uchar sc = b[g];
        float dl = ld_f16(b + 80) * float(sc & 15), ml = ld_f16(b + 82) * float(sc >> 4);
        device const uchar * q = b + 16 + 32 * nn + 16 * h;
        for (int l = 0; l < 16; l++) y[l] = dl * float((q[l] >> (2 * j)) & 3) - ml;
    }
};

inline int q3k_scale(device const uchar * s, int k) {
    int lo = k < 8 ? (s[k] & 15) : (s[k - 8] >> 4);
    int hi = (s[8 + k % 4] >> (2 * (k / 4))) & 3;
    return (lo | (hi << 4)) - 32;
}

struct blk_q3_k {
    enum { QK = 256, BYTES = 110 };
    static inline void dq16(device const uchar * row, int c, int n, thread float * y) {
        device const uchar * b = row + (c / 16) * BYTES;
        int g = c % 16;
        int nn = g / 8, j = (g % 8) / 2, h = g % 2;
        float dl = ld_f16(b + 108) * float(q3k_scale(b + 96, g));
        uchar m = uchar(1 << (4 * nn + j));
        #pragma clang loop unroll(full)   // y[] in registers on CUDA too
        for (int l = 0; l < 16; l++) {
            int idx = 16 * h + l;
            int q = (b[32 + 32 * nn + idx] >> (2 * j)) & 3;
            if ((b[idx] & m) == 0) q -= 4;
            y[l] = dl * float(q);
        }
    }
};

inline void scale_min_k4(int j, device const uchar * q, thread int & d, thread int & m) {
    if (j < 4) {
        d = q[j] & 63;
        m = q[j + 4] & 63;
    } else {
        d = (q[j + 4] & 15) | ((q[j - 4] >> 6) << 4);
        m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

struct blk_q4_k {
    enum { QK = 256, BYTES = 144 };
    static inline void dq16(device const uchar * row, int c, int n, thread float * y) {
        device const uchar * b = row + (c / 16) * BYTES;
        int e = 16 * (c % 16);                // first element within the block
        int s = e / 32, j64 = e / 64, hi = (e % 64) >= 32;
        int sc, mn;
        scale_min_k4(s, b + 4, sc, mn);
        float d = ld_f16(b) * float(sc), m = ld_f16(b + 2) * float(mn);
        device const uchar * q = b + 16 + 32 * j64 + (e % 32);
        for (int l = 0; l < 16; l++) y[l] = d * float((q[l] >> (4 * hi)) & 15) - m;
    }
};

struct blk_q5_k {
    enum { QK = 256, BYTES = 176 };
    static inline void dq16(device const uchar * row, int c, int n, thread float * y) {
        device const uchar * b = row + (c / 16) * BYTES;
        int e = 16 * (c % 16);
        int s = e / 32, j64 = e / 64, hi = (e % 64) >= 32;
        int sc, mn;
        scale_min_k4(s, b + 4, sc, mn);
        float d = ld_f16(b) * float(sc), m = ld_f16(b + 2) * float(mn);
        device const uchar * qh = b + 16 + (e % 32);
        device const uchar * q = b + 48 + 32 * j64 + (e % 32);
        int bit = 2 * j64 + hi;
        for (int l = 0; l < 16; l++) {
            int v = ((q[l] >> (4 * hi)) & 15) | (((qh[l] >> bit) & 1) << 4);
            y[l] = d * float(v) - m;
        }
    }
};

struct blk_q6_k {
    enum { QK = 256, BYTES = 210 };
    static inline void dq16(device const uchar * row, int c, int n, thread float * y) {
        device const uchar * b = row + (c / 16) * BYTES;
        int e = 16 * (c % 16);
        int nn = e / 128, r = e % 128, quarter = r / 32, l0 = r % 32;
        float d = ld_f16(b + 208) * float(((device const char *) (b + 192))[8 * nn + l0 / 16 + 2 * quarter]);
        device const uchar * ql = b + 64 * nn + l0 + (quarter % 2) * 32;
        device const uchar * qh = b + 128 + 32 * nn + l0;
        int shl = (quarter / 2) * 4, shh = 2 * quarter;
        for (int l = 0; l < 16; l++) {
            int q = ((ql[l] >> shl) & 15) | (((qh[l] >> shh) & 3) << 4);
            y[l] = d * float(q - 32);
        }
    }
};

struct blk_iq4_xs {
    enum { QK = 256, BYTES = 136 };
    static inline void dq16(device const uchar * row, int c, int n, thread float * y) {
        device const uchar * b = row + (c / 16) * BYTES;
        int g = c % 16, ib = g / 2, h = g % 2;
        int sh = int(b[2]) | (int(b[3]) << 8);
        int ls = ((b[4 + ib / 2] >> (4 * (ib % 2))) & 15) | (((sh >> (2 * ib)) & 3) << 4);
        float dl = ld_f16(b) * float(ls - 32);
        device const uchar * q = b + 8 + 16 * ib;
        for (int l = 0; l < 16; l++) y[l] = dl * kvalues_iq4nl[(q[l] >> (4 * h)) & 15];
    }
};

// TQ1_0: trit t (from the top) of a byte holding ⌈c·256/243⌉ of five (or four, shifted
// up one) base-3 digits c.
constant uchar pow3_tq1[5] = {1, 3, 9, 27, 81};

inline int tq1_trit(uchar b, int t) {
    uchar q = uchar(b * pow3_tq1[t]);
    return int((ushort(q) * 3) >> 8);
}

struct blk_tq1_0 {
    enum { QK = 256, BYTES = 54 };
    static inline void dq16(device const uchar * row, int c, int n, thread float * y) {
        device const uchar * b = row + (c / 16) * BYTES;
        int g = c % 16;
        float d = ld_f16(b + 52);
        for (int l = 0; l < 16; l++) {
            int at, t;
            if (g < 10) {           // elements 32t + m: trit t of qs[m], m < 32
                at = 16 * (g % 2) + l;
                t = g / 2;
            } else if (g < 15) {    // 160 + 16t + m: trit t of qs[32 + m]
                at = 32 + l;
                t = g - 10;
            } else {                // 240 + 4t + j: trit t of qh[j]
                at = 48 + l % 4;
                t = l / 4;
            }
            y[l] = float(tq1_trit(b[at], t) - 1) * d;
        }
    }
};

struct blk_tq2_0 {
    enum { QK = 256, BYTES = 66 };
    static inline void dq16(device const uchar * row, int c, int n, thread float * y) {
        device const uchar * b = row + (c / 16) * BYTES;
        int e = 16 * (c % 16), sh = 2 * ((e % 128) / 32);   // elements 128h + 32l + m: bits 2l of qs[32h + m]
        float d = ld_f16(b + 64);
        device const uchar * q = b + 32 * (e / 128) + e % 32;
        for (int l = 0; l < 16; l++) y[l] = float(int((q[l] >> sh) & 3) - 1) * d;
    }
};

// Bytes of one row of n elements.
template <typename B> inline int row_bytes(int n) {
    return (n / B::QK) * B::BYTES;
}
