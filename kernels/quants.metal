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

// IQ3_XXS and IQ3_S: points of four magnitudes a byte, ggml-common.h's iq3xxs_grid and
// iq3s_grid (as tensor/iq3xxsgrid.go and tensor/iq3sgrid.go).
constant uint iq3xxs_grid[256] = {
    0x04040404, 0x04040414, 0x04040424, 0x04040c0c, 0x04040c1c, 0x04040c3e, 0x04041404, 0x04041414,
    0x04041c0c, 0x04042414, 0x04043e1c, 0x04043e2c, 0x040c040c, 0x040c041c, 0x040c0c04, 0x040c0c14,
    0x040c140c, 0x040c142c, 0x040c1c04, 0x040c1c14, 0x040c240c, 0x040c2c24, 0x040c3e04, 0x04140404,
    0x04140414, 0x04140424, 0x04140c0c, 0x04141404, 0x04141414, 0x04141c0c, 0x04141c1c, 0x04141c3e,
    0x04142c0c, 0x04142c3e, 0x04143e2c, 0x041c040c, 0x041c043e, 0x041c0c04, 0x041c0c14, 0x041c142c,
    0x041c3e04, 0x04240c1c, 0x04241c3e, 0x04242424, 0x04242c3e, 0x04243e1c, 0x04243e2c, 0x042c040c,
    0x042c043e, 0x042c1c14, 0x042c2c14, 0x04341c2c, 0x04343424, 0x043e0c04, 0x043e0c24, 0x043e0c34,
    0x043e241c, 0x043e340c, 0x0c04040c, 0x0c04041c, 0x0c040c04, 0x0c040c14, 0x0c04140c, 0x0c04141c,
    0x0c041c04, 0x0c041c14, 0x0c041c24, 0x0c04243e, 0x0c042c04, 0x0c0c0404, 0x0c0c0414, 0x0c0c0c0c,
    0x0c0c1404, 0x0c0c1414, 0x0c14040c, 0x0c14041c, 0x0c140c04, 0x0c140c14, 0x0c14140c, 0x0c141c04,
    0x0c143e14, 0x0c1c0404, 0x0c1c0414, 0x0c1c1404, 0x0c1c1c0c, 0x0c1c2434, 0x0c1c3434, 0x0c24040c,
    0x0c24042c, 0x0c242c04, 0x0c2c1404, 0x0c2c1424, 0x0c2c2434, 0x0c2c3e0c, 0x0c34042c, 0x0c3e1414,
    0x0c3e2404, 0x14040404, 0x14040414, 0x14040c0c, 0x14040c1c, 0x14041404, 0x14041414, 0x14041434,
    0x14041c0c, 0x14042414, 0x140c040c, 0x140c041c, 0x140c042c, 0x140c0c04, 0x140c0c14, 0x140c140c,
    0x140c1c04, 0x140c341c, 0x140c343e, 0x140c3e04, 0x14140404, 0x14140414, 0x14140c0c, 0x14140c3e,
    0x14141404, 0x14141414, 0x14141c3e, 0x14142404, 0x14142c2c, 0x141c040c, 0x141c0c04, 0x141c0c24,
    0x141c3e04, 0x141c3e24, 0x14241c2c, 0x14242c1c, 0x142c041c, 0x142c143e, 0x142c240c, 0x142c3e24,
    0x143e040c, 0x143e041c, 0x143e0c34, 0x143e242c, 0x1c04040c, 0x1c040c04, 0x1c040c14, 0x1c04140c,
    0x1c04141c, 0x1c042c04, 0x1c04342c, 0x1c043e14, 0x1c0c0404, 0x1c0c0414, 0x1c0c1404, 0x1c0c1c0c,
    0x1c0c2424, 0x1c0c2434, 0x1c14040c, 0x1c14041c, 0x1c140c04, 0x1c14142c, 0x1c142c14, 0x1c143e14,
    0x1c1c0c0c, 0x1c1c1c1c, 0x1c241c04, 0x1c24243e, 0x1c243e14, 0x1c2c0404, 0x1c2c0434, 0x1c2c1414,
    0x1c2c2c2c, 0x1c340c24, 0x1c341c34, 0x1c34341c, 0x1c3e1c1c, 0x1c3e3404, 0x24040424, 0x24040c3e,
    0x24041c2c, 0x24041c3e, 0x24042c1c, 0x24042c3e, 0x240c3e24, 0x24141404, 0x24141c3e, 0x24142404,
    0x24143404, 0x24143434, 0x241c043e, 0x241c242c, 0x24240424, 0x24242c0c, 0x24243424, 0x242c142c,
    0x242c241c, 0x242c3e04, 0x243e042c, 0x243e0c04, 0x243e0c14, 0x243e1c04, 0x2c040c14, 0x2c04240c,
    0x2c043e04, 0x2c0c0404, 0x2c0c0434, 0x2c0c1434, 0x2c0c2c2c, 0x2c140c24, 0x2c141c14, 0x2c143e14,
    0x2c1c0414, 0x2c1c2c1c, 0x2c240c04, 0x2c24141c, 0x2c24143e, 0x2c243e14, 0x2c2c0414, 0x2c2c1c0c,
    0x2c342c04, 0x2c3e1424, 0x2c3e2414, 0x34041424, 0x34042424, 0x34042434, 0x34043424, 0x340c140c,
    0x340c340c, 0x34140c3e, 0x34143424, 0x341c1c04, 0x341c1c34, 0x34242424, 0x342c042c, 0x342c2c14,
    0x34341c1c, 0x343e041c, 0x343e140c, 0x3e04041c, 0x3e04042c, 0x3e04043e, 0x3e040c04, 0x3e041c14,
    0x3e042c14, 0x3e0c1434, 0x3e0c2404, 0x3e140c14, 0x3e14242c, 0x3e142c14, 0x3e1c0404, 0x3e1c0c2c,
    0x3e1c1c1c, 0x3e1c3404, 0x3e24140c, 0x3e24240c, 0x3e2c0404, 0x3e2c0414, 0x3e2c1424, 0x3e341c04,
};

constant uint iq3s_grid[512] = {
    0x01010101, 0x01010103, 0x01010105, 0x0101010b, 0x0101010f, 0x01010301, 0x01010303, 0x01010305,
    0x01010309, 0x0101030d, 0x01010501, 0x01010503, 0x0101050b, 0x01010707, 0x01010901, 0x01010905,
    0x0101090b, 0x0101090f, 0x01010b03, 0x01010b07, 0x01010d01, 0x01010d05, 0x01010f03, 0x01010f09,
    0x01010f0f, 0x01030101, 0x01030103, 0x01030105, 0x01030109, 0x01030301, 0x01030303, 0x0103030b,
    0x01030501, 0x01030507, 0x0103050f, 0x01030703, 0x0103070b, 0x01030909, 0x01030d03, 0x01030d0b,
    0x01030f05, 0x01050101, 0x01050103, 0x0105010b, 0x0105010f, 0x01050301, 0x01050307, 0x0105030d,
    0x01050503, 0x0105050b, 0x01050701, 0x01050709, 0x01050905, 0x0105090b, 0x0105090f, 0x01050b03,
    0x01050b07, 0x01050f01, 0x01050f07, 0x01070107, 0x01070303, 0x0107030b, 0x01070501, 0x01070505,
    0x01070703, 0x01070707, 0x0107070d, 0x01070909, 0x01070b01, 0x01070b05, 0x01070d0f, 0x01070f03,
    0x01070f0b, 0x01090101, 0x01090307, 0x0109030f, 0x01090503, 0x01090509, 0x01090705, 0x01090901,
    0x01090907, 0x01090b03, 0x01090f01, 0x010b0105, 0x010b0109, 0x010b0501, 0x010b0505, 0x010b050d,
    0x010b0707, 0x010b0903, 0x010b090b, 0x010b090f, 0x010b0d0d, 0x010b0f07, 0x010d010d, 0x010d0303,
    0x010d0307, 0x010d0703, 0x010d0b05, 0x010d0f03, 0x010f0101, 0x010f0105, 0x010f0109, 0x010f0501,
    0x010f0505, 0x010f050d, 0x010f0707, 0x010f0b01, 0x010f0b09, 0x03010101, 0x03010103, 0x03010105,
    0x03010109, 0x03010301, 0x03010303, 0x03010307, 0x0301030b, 0x0301030f, 0x03010501, 0x03010505,
    0x03010703, 0x03010709, 0x0301070d, 0x03010b09, 0x03010b0d, 0x03010d03, 0x03010f05, 0x03030101,
    0x03030103, 0x03030107, 0x0303010d, 0x03030301, 0x03030309, 0x03030503, 0x03030701, 0x03030707,
    0x03030903, 0x03030b01, 0x03030b05, 0x03030f01, 0x03030f0d, 0x03050101, 0x03050305, 0x0305030b,
    0x0305030f, 0x03050501, 0x03050509, 0x03050705, 0x03050901, 0x03050907, 0x03050b0b, 0x03050d01,
    0x03050f05, 0x03070103, 0x03070109, 0x0307010f, 0x03070301, 0x03070307, 0x03070503, 0x0307050f,
    0x03070701, 0x03070709, 0x03070903, 0x03070d05, 0x03070f01, 0x03090107, 0x0309010b, 0x03090305,
    0x03090309, 0x03090703, 0x03090707, 0x03090905, 0x0309090d, 0x03090b01, 0x03090b09, 0x030b0103,
    0x030b0301, 0x030b0307, 0x030b0503, 0x030b0701, 0x030b0705, 0x030b0b03, 0x030d0501, 0x030d0509,
    0x030d050f, 0x030d0909, 0x030d090d, 0x030f0103, 0x030f0107, 0x030f0301, 0x030f0305, 0x030f0503,
    0x030f070b, 0x030f0903, 0x030f0d05, 0x030f0f01, 0x05010101, 0x05010103, 0x05010107, 0x0501010b,
    0x0501010f, 0x05010301, 0x05010305, 0x05010309, 0x0501030d, 0x05010503, 0x05010507, 0x0501050f,
    0x05010701, 0x05010705, 0x05010903, 0x05010907, 0x0501090b, 0x05010b01, 0x05010b05, 0x05010d0f,
    0x05010f01, 0x05010f07, 0x05010f0b, 0x05030101, 0x05030105, 0x05030301, 0x05030307, 0x0503030f,
    0x05030505, 0x0503050b, 0x05030703, 0x05030709, 0x05030905, 0x05030b03, 0x05050103, 0x05050109,
    0x0505010f, 0x05050503, 0x05050507, 0x05050701, 0x0505070f, 0x05050903, 0x05050b07, 0x05050b0f,
    0x05050f03, 0x05050f09, 0x05070101, 0x05070105, 0x0507010b, 0x05070303, 0x05070505, 0x05070509,
    0x05070703, 0x05070707, 0x05070905, 0x05070b01, 0x05070d0d, 0x05090103, 0x0509010f, 0x05090501,
    0x05090507, 0x05090705, 0x0509070b, 0x05090903, 0x05090f05, 0x05090f0b, 0x050b0109, 0x050b0303,
    0x050b0505, 0x050b070f, 0x050b0901, 0x050b0b07, 0x050b0f01, 0x050d0101, 0x050d0105, 0x050d010f,
    0x050d0503, 0x050d0b0b, 0x050d0d03, 0x050f010b, 0x050f0303, 0x050f050d, 0x050f0701, 0x050f0907,
    0x050f0b01, 0x07010105, 0x07010303, 0x07010307, 0x0701030b, 0x0701030f, 0x07010505, 0x07010703,
    0x07010707, 0x0701070b, 0x07010905, 0x07010909, 0x0701090f, 0x07010b03, 0x07010d07, 0x07010f03,
    0x07030103, 0x07030107, 0x0703010b, 0x07030309, 0x07030503, 0x07030507, 0x07030901, 0x07030d01,
    0x07030f05, 0x07030f0d, 0x07050101, 0x07050305, 0x07050501, 0x07050705, 0x07050709, 0x07050b01,
    0x07070103, 0x07070301, 0x07070309, 0x07070503, 0x07070507, 0x0707050f, 0x07070701, 0x07070903,
    0x07070907, 0x0707090f, 0x07070b0b, 0x07070f07, 0x07090107, 0x07090303, 0x0709030d, 0x07090505,
    0x07090703, 0x07090b05, 0x07090d01, 0x07090d09, 0x070b0103, 0x070b0301, 0x070b0305, 0x070b050b,
    0x070b0705, 0x070b0909, 0x070b0b0d, 0x070b0f07, 0x070d030d, 0x070d0903, 0x070f0103, 0x070f0107,
    0x070f0501, 0x070f0505, 0x070f070b, 0x09010101, 0x09010109, 0x09010305, 0x09010501, 0x09010509,
    0x0901050f, 0x09010705, 0x09010903, 0x09010b01, 0x09010f01, 0x09030105, 0x0903010f, 0x09030303,
    0x09030307, 0x09030505, 0x09030701, 0x0903070b, 0x09030907, 0x09030b03, 0x09030b0b, 0x09050103,
    0x09050107, 0x09050301, 0x0905030b, 0x09050503, 0x09050707, 0x09050901, 0x09050b0f, 0x09050d05,
    0x09050f01, 0x09070109, 0x09070303, 0x09070307, 0x09070501, 0x09070505, 0x09070703, 0x0907070b,
    0x09090101, 0x09090105, 0x09090509, 0x0909070f, 0x09090901, 0x09090f03, 0x090b010b, 0x090b010f,
    0x090b0503, 0x090b0d05, 0x090d0307, 0x090d0709, 0x090d0d01, 0x090f0301, 0x090f030b, 0x090f0701,
    0x090f0907, 0x090f0b03, 0x0b010105, 0x0b010301, 0x0b010309, 0x0b010505, 0x0b010901, 0x0b010909,
    0x0b01090f, 0x0b010b05, 0x0b010d0d, 0x0b010f09, 0x0b030103, 0x0b030107, 0x0b03010b, 0x0b030305,
    0x0b030503, 0x0b030705, 0x0b030f05, 0x0b050101, 0x0b050303, 0x0b050507, 0x0b050701, 0x0b05070d,
    0x0b050b07, 0x0b070105, 0x0b07010f, 0x0b070301, 0x0b07050f, 0x0b070909, 0x0b070b03, 0x0b070d0b,
    0x0b070f07, 0x0b090103, 0x0b090109, 0x0b090501, 0x0b090705, 0x0b09090d, 0x0b0b0305, 0x0b0b050d,
    0x0b0b0b03, 0x0b0b0b07, 0x0b0d0905, 0x0b0f0105, 0x0b0f0109, 0x0b0f0505, 0x0d010303, 0x0d010307,
    0x0d01030b, 0x0d010703, 0x0d010707, 0x0d010d01, 0x0d030101, 0x0d030501, 0x0d03050f, 0x0d030d09,
    0x0d050305, 0x0d050709, 0x0d050905, 0x0d050b0b, 0x0d050d05, 0x0d050f01, 0x0d070101, 0x0d070309,
    0x0d070503, 0x0d070901, 0x0d09050b, 0x0d090907, 0x0d090d05, 0x0d0b0101, 0x0d0b0107, 0x0d0b0709,
    0x0d0b0d01, 0x0d0d010b, 0x0d0d0901, 0x0d0f0303, 0x0d0f0307, 0x0f010101, 0x0f010109, 0x0f01010f,
    0x0f010501, 0x0f010505, 0x0f01070d, 0x0f010901, 0x0f010b09, 0x0f010d05, 0x0f030105, 0x0f030303,
    0x0f030509, 0x0f030907, 0x0f03090b, 0x0f050103, 0x0f050109, 0x0f050301, 0x0f05030d, 0x0f050503,
    0x0f050701, 0x0f050b03, 0x0f070105, 0x0f070705, 0x0f07070b, 0x0f070b07, 0x0f090103, 0x0f09010b,
    0x0f090307, 0x0f090501, 0x0f090b01, 0x0f0b0505, 0x0f0b0905, 0x0f0d0105, 0x0f0d0703, 0x0f0f0101,
};

struct blk_iq3_xxs {
    enum { QK = 256, BYTES = 98 };
    static inline void dq16(device const uchar * row, int c, int n, thread float * y) {
        device const uchar * b = row + (c / 16) * BYTES;
        int g = c % 16, ib = g / 2, h = g % 2;           // elements 16h.. of sub-block ib
        uint aux = ld_u32(b + 66 + 4 * ib);
        float db = ld_f16(b) * (0.5f + float(aux >> 28)) * 0.5f;
        for (int half = 0; half < 2; half++) {
            int l = 2 * h + half;                        // 8 elements: 7 stored signs + parity
            int s = (aux >> (7 * l)) & 127, p = s ^ (s >> 4);
            p ^= p >> 2;
            p ^= p >> 1;
            s |= (p & 1) << 7;
            for (int q = 0; q < 2; q++) {
                uint pt = iq3xxs_grid[b[2 + 8 * ib + 2 * l + q]];
                for (int j = 0; j < 4; j++) {
                    float v = db * float((pt >> (8 * j)) & 255);
                    y[8 * half + 4 * q + j] = (s >> (4 * q + j)) & 1 ? -v : v;
                }
            }
        }
    }
};

struct blk_iq3_s {
    enum { QK = 256, BYTES = 110 };
    static inline void dq16(device const uchar * row, int c, int n, thread float * y) {
        device const uchar * b = row + (c / 16) * BYTES;
        int g = c % 16, ib = g / 2, h = g % 2;           // grid points 4h.. of sub-block ib
        float db = ld_f16(b) * float(1 + 2 * ((b[106 + ib / 2] >> (4 * (ib % 2))) & 15));
        for (int k = 4 * h; k < 4 * h + 4; k++) {
            uint pt = iq3s_grid[int(b[2 + 8 * ib + k]) | (((b[66 + ib] >> k) & 1) << 8)];
            int s = b[74 + 4 * ib + k / 2] >> (4 * (k % 2));
            for (int j = 0; j < 4; j++) {
                float v = db * float((pt >> (8 * j)) & 255);
                y[4 * (k - 4 * h) + j] = (s >> j) & 1 ? -v : v;
            }
        }
    }
};

// Bytes of one row of n elements.
template <typename B> inline int row_bytes(int n) {
    return (n / B::QK) * B::BYTES;
}
