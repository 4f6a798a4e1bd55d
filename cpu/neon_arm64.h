// Encodings of the NEON instructions Go's arm64 assembler has no mnemonic for
// (checked against GNU as -march=armv8.2-a+dotprod). Arguments are register numbers:
// SDOTE(18, 0, 16, 2) is sdot v18.4s, v0.16b, v16.4b[2].

// SDOTE: vd.4s += per 32-bit lane, the dot of vn's four signed bytes with vm's byte lane i (dot product extension).
#define SDOTE(vd, vn, vm, i) WORD $(0x4F80E000 | (((i)&1)<<21) | ((vm)<<16) | (((i)>>1)<<11) | ((vn)<<5) | (vd))
// SDOTV: vd.4s += per 32-bit lane, the dot of vn's four signed bytes with vm's four.
#define SDOTV(vd, vn, vm) WORD $(0x4E809400 | ((vm)<<16) | ((vn)<<5) | (vd))
// SCVTF4S: vd.4s = float32(vn.4s as int32).
#define SCVTF4S(vd, vn) WORD $(0x4E21D800 | ((vn)<<5) | (vd))
// FCVTL4S / FCVTL24S: vd.4s = float32 of vn's lower / upper four fp16 lanes.
#define FCVTL4S(vd, vn) WORD $(0x0E217800 | ((vn)<<5) | (vd))
#define FCVTL24S(vd, vn) WORD $(0x4E217800 | ((vn)<<5) | (vd))
// FMUL4S: vd.4s = vn.4s * vm.4s.
#define FMUL4S(vd, vn, vm) WORD $(0x6E20DC00 | ((vm)<<16) | ((vn)<<5) | (vd))
// MLA4S: vd.4s += vn.4s * vm.4s (int32).
#define MLA4S(vd, vn, vm) WORD $(0x4EA09400 | ((vm)<<16) | ((vn)<<5) | (vd))
// SMLAL4S / SMLAL24S: vd.4s += vn.4h * vm.4h, lower / upper four int16 lanes, widened.
#define SMLAL4S(vd, vn, vm) WORD $(0x0E608000 | ((vm)<<16) | ((vn)<<5) | (vd))
#define SMLAL24S(vd, vn, vm) WORD $(0x4E608000 | ((vm)<<16) | ((vn)<<5) | (vd))
// ADDP4S: vd.4s = (vn0+vn1, vn2+vn3, vm0+vm1, vm2+vm3).
#define ADDP4S(vd, vn, vm) WORD $(0x4EA0BC00 | ((vm)<<16) | ((vn)<<5) | (vd))
// SSHR8H8: vd.8h = vn.8h >> 8, arithmetic.
#define SSHR8H8(vd, vn) WORD $(0x4F180400 | ((vn)<<5) | (vd))
// SXTL4S / SXTL24S: vd.4s = int32 of vn's lower / upper four int16 lanes.
#define SXTL4S(vd, vn) WORD $(0x0F10A400 | ((vn)<<5) | (vd))
#define SXTL24S(vd, vn) WORD $(0x4F10A400 | ((vn)<<5) | (vd))
// USHL16B: vd.16b = vn.16b shifted by vm.16b's signed byte counts (negative: right).
#define USHL16B(vd, vn, vm) WORD $(0x6E204400 | ((vm)<<16) | ((vn)<<5) | (vd))
// FADD4S: vd.4s = vn.4s + vm.4s. FADDP4S: pairwise, (vn0+vn1, vn2+vn3, vm0+vm1, vm2+vm3).
#define FADD4S(vd, vn, vm) WORD $(0x4E20D400 | ((vm)<<16) | ((vn)<<5) | (vd))
#define FADDP4S(vd, vn, vm) WORD $(0x6E20D400 | ((vm)<<16) | ((vn)<<5) | (vd))
// FADDP2S: scalar sd = vn0 + vn1.
#define FADDP2S(vd, vn) WORD $(0x7E30D800 | ((vn)<<5) | (vd))
// SXTL8H: vd.8h = int16 of vn's lower eight int8 lanes.
#define SXTL8H(vd, vn) WORD $(0x0F08A400 | ((vn)<<5) | (vd))
// FMLA4S: vd.4s += vn.4s * vm.4s. SUB4S: vd.4s = vn.4s − vm.4s (int32).
#define FMLA4S(vd, vn, vm) WORD $(0x4E20CC00 | ((vm)<<16) | ((vn)<<5) | (vd))
#define SUB4S(vd, vn, vm) WORD $(0x6EA08400 | ((vm)<<16) | ((vn)<<5) | (vd))
// ZERO16B: vd = 0 (eor vd, vd, vd), for register numbers that are macro arguments.
#define ZERO16B(vd) WORD $(0x6E201C00 | ((vd)<<16) | ((vd)<<5) | (vd))
// DUP4S: vd.4s = vn's 32-bit lane i in every lane.
#define DUP4S(vd, vn, i) WORD $(0x4E000400 | (((i)<<3 | 4)<<16) | ((vn)<<5) | (vd))

// HSUM0: the sum of the float lanes of V0..V3 into F0 (V0's lane 0).
#define HSUM0 \
	FADD4S(0, 0, 1) \
	FADD4S(2, 2, 3) \
	FADD4S(0, 0, 2) \
	FADDP4S(0, 0, 0) \
	FADDP2S(0, 0)

// The q4x8 block kernels (Q4_0, IQ4_NL, IQ4_XS, Q5_0, Q4_1, Q5_1): a block's four
// nibble vectors in V0..V7 (vector v: V(2v) rows 0-3, V(2v+1) rows 4-7), its
// activations' quants 0-15 in V16 and 16-31 in V17.

// NIBBLES8: the low nibbles of V0..V7 into V8..V15, their high nibbles in place (V28:
// 0x0F in every byte).
#define NIBBLES8 \
	VAND V28.B16, V0.B16, V8.B16 \
	VUSHR $4, V0.B16, V0.B16 \
	VAND V28.B16, V1.B16, V9.B16 \
	VUSHR $4, V1.B16, V1.B16 \
	VAND V28.B16, V2.B16, V10.B16 \
	VUSHR $4, V2.B16, V2.B16 \
	VAND V28.B16, V3.B16, V11.B16 \
	VUSHR $4, V3.B16, V3.B16 \
	VAND V28.B16, V4.B16, V12.B16 \
	VUSHR $4, V4.B16, V4.B16 \
	VAND V28.B16, V5.B16, V13.B16 \
	VUSHR $4, V5.B16, V5.B16 \
	VAND V28.B16, V6.B16, V14.B16 \
	VUSHR $4, V6.B16, V6.B16 \
	VAND V28.B16, V7.B16, V15.B16 \
	VUSHR $4, V7.B16, V7.B16

// LEVELS8: V0..V15 (nibbles) replaced by the IQ4 levels they index in the table V30.
#define LEVELS8 \
	VTBL V0.B16, [V30.B16], V0.B16 \
	VTBL V1.B16, [V30.B16], V1.B16 \
	VTBL V2.B16, [V30.B16], V2.B16 \
	VTBL V3.B16, [V30.B16], V3.B16 \
	VTBL V4.B16, [V30.B16], V4.B16 \
	VTBL V5.B16, [V30.B16], V5.B16 \
	VTBL V6.B16, [V30.B16], V6.B16 \
	VTBL V7.B16, [V30.B16], V7.B16 \
	VTBL V8.B16, [V30.B16], V8.B16 \
	VTBL V9.B16, [V30.B16], V9.B16 \
	VTBL V10.B16, [V30.B16], V10.B16 \
	VTBL V11.B16, [V30.B16], V11.B16 \
	VTBL V12.B16, [V30.B16], V12.B16 \
	VTBL V13.B16, [V30.B16], V13.B16 \
	VTBL V14.B16, [V30.B16], V14.B16 \
	VTBL V15.B16, [V30.B16], V15.B16

// DOTQ4X8: the block's int32 sums into V18 (rows 0-3) and V19 (rows 4-7): low values
// V8..V15 against lanes of V16, high values V0..V7 against lanes of V17.
#define DOTQ4X8 \
	VEOR V18.B16, V18.B16, V18.B16 \
	VEOR V19.B16, V19.B16, V19.B16 \
	SDOTE(18, 8, 16, 0) \
	SDOTE(19, 9, 16, 0) \
	SDOTE(18, 0, 17, 0) \
	SDOTE(19, 1, 17, 0) \
	SDOTE(18, 10, 16, 1) \
	SDOTE(19, 11, 16, 1) \
	SDOTE(18, 2, 17, 1) \
	SDOTE(19, 3, 17, 1) \
	SDOTE(18, 12, 16, 2) \
	SDOTE(19, 13, 16, 2) \
	SDOTE(18, 4, 17, 2) \
	SDOTE(19, 5, 17, 2) \
	SDOTE(18, 14, 16, 3) \
	SDOTE(19, 15, 16, 3) \
	SDOTE(18, 6, 17, 3) \
	SDOTE(19, 7, 17, 3)

// SCALEACC8: V26, V27 += float(V18, V19) × the rows' fp16 scales in V20 × the block's
// activation scale broadcast in V23 (clobbers V10, V11).
#define SCALEACC8 \
	SCVTF4S(18, 18) \
	SCVTF4S(19, 19) \
	FCVTL4S(10, 20) \
	FCVTL24S(11, 20) \
	FMUL4S(10, 10, 23) \
	FMUL4S(11, 11, 23) \
	FMLA4S(26, 18, 10) \
	FMLA4S(27, 19, 11)

// X4SDOT(r0, r1, i): the four-token kernels' weight vector (V(r0) rows 0-3, V(r1) rows
// 4-7) against lane i of the tokens' quants V8..V11, token t into V(16+2t), V(17+2t).
#define X4SDOT(r0, r1, i) \
	SDOTE(16, r0, 8, i) \
	SDOTE(17, r1, 8, i) \
	SDOTE(18, r0, 9, i) \
	SDOTE(19, r1, 9, i) \
	SDOTE(20, r0, 10, i) \
	SDOTE(21, r1, 10, i) \
	SDOTE(22, r0, 11, i) \
	SDOTE(23, r1, 11, i)

// X4SCALE(sp, t): token t's int32 sums V(16+2t), V(17+2t) as floats × the rows' scales
// (V12, V13) × the token's block scale at sp (advanced) into V(24+2t), V(25+2t);
// X4FMA(t) is the same with that scale already broadcast in V0.
#define X4SCALE(sp, t) \
	VLD1R.P 4(sp), [V0.S4] \
	X4FMA(t)

#define X4FMA(t) \
	SCVTF4S(16+2*t, 16+2*t) \
	SCVTF4S(17+2*t, 17+2*t) \
	FMUL4S(2, 12, 0) \
	FMUL4S(3, 13, 0) \
	FMLA4S(24+2*t, 16+2*t, 2) \
	FMLA4S(25+2*t, 17+2*t, 3)

// X4LESS(sp, t): token t's int32 sums less the broadcast int32 at sp (advanced).
#define X4LESS(sp, t) \
	VLD1R.P 4(sp), [V1.S4] \
	SUB4S(16+2*t, 16+2*t, 1) \
	SUB4S(17+2*t, 17+2*t, 1)

// KSCALES: a q4kx8/q5kx8 pair jp's int32 sums (V20, V21: sub-block 2jp rows 0-3, 4-7;
// V22, V23: 2jp+1) times the rows' scales (R5, advanced) into V24, V25. Clobbers V8, V9,
// V12..V14.
#define KSCALES \
	VLD1.P 16(R5), [V12.B16] \
	VUXTL V12.B8, V13.H8 \
	VUXTL2 V12.B16, V14.H8 \
	VUXTL V13.H4, V8.S4 \
	VUXTL2 V13.H8, V9.S4 \
	MLA4S(24, 20, 8) \
	MLA4S(25, 21, 9) \
	VUXTL V14.H4, V8.S4 \
	VUXTL2 V14.H8, V9.S4 \
	MLA4S(24, 22, 8) \
	MLA4S(25, 23, 9)

// UXTL8H / UXTL28H: vd.8h = uint16 of vn's lower / upper eight bytes.
#define UXTL8H(vd, vn) WORD $(0x2F08A400 | ((vn)<<5) | (vd))
#define UXTL28H(vd, vn) WORD $(0x6F08A400 | ((vn)<<5) | (vd))

// KMINACC(t0, t1, bs, jp, t2, a): the q4kx8 mins of pair jp widened in V(t0) (rows 0-3,
// each row's two side by side) and V(t1) (rows 4-7) times that pair's activation sums,
// lane jp of V(bs), into the int32 pairs V(a)..V(a+3) (ADDP sums them per row).
#define KMINACC(t0, t1, bs, jp, t2, a) \
	DUP4S(t2, bs, jp) \
	SMLAL4S(a, t0, t2) \
	SMLAL24S(a+1, t0, t2) \
	SMLAL4S(a+2, t1, t2) \
	SMLAL24S(a+3, t1, t2)

// KMINS: the end of a one-token q4kx8/q5kx8 super-block (R1 the group's super-block, R5
// its mins, R3 the Q8_K block, R9 its bs, advanced; V24, V25 Σ_j sc·Σ q·a per row):
// V26, V27 += d_a·(d·V24 − dmin·Σ_j m_j·bs_j). Clobbers V0..V15.
#define KMINS \
	VLD1 (R5), [V0.B16, V1.B16, V2.B16, V3.B16] \
	VLD1.P 16(R9), [V4.B16] \
	VEOR V8.B16, V8.B16, V8.B16 \
	VEOR V9.B16, V9.B16, V9.B16 \
	VEOR V10.B16, V10.B16, V10.B16 \
	VEOR V11.B16, V11.B16, V11.B16 \
	UXTL8H(12, 0) \
	UXTL28H(13, 0) \
	KMINACC(12, 13, 4, 0, 14, 8) \
	UXTL8H(12, 1) \
	UXTL28H(13, 1) \
	KMINACC(12, 13, 4, 1, 14, 8) \
	UXTL8H(12, 2) \
	UXTL28H(13, 2) \
	KMINACC(12, 13, 4, 2, 14, 8) \
	UXTL8H(12, 3) \
	UXTL28H(13, 3) \
	KMINACC(12, 13, 4, 3, 14, 8) \
	ADDP4S(8, 8, 9) \
	ADDP4S(10, 10, 11) \
	SCVTF4S(24, 24) \
	SCVTF4S(25, 25) \
	SCVTF4S(8, 8) \
	SCVTF4S(10, 10) \
	VLD1 (R1), [V12.S4, V13.S4, V14.S4, V15.S4] \
	FMUL4S(24, 24, 12) \
	FMUL4S(25, 25, 13) \
	VFMLS V8.S4, V14.S4, V24.S4 \
	VFMLS V10.S4, V15.S4, V25.S4 \
	VLD1R (R3), [V12.S4] \
	FMLA4S(26, 24, 12) \
	FMLA4S(27, 25, 12)

// For the activation quantizers (quant_arm64.s).
#define FABS4S(vd, vn) WORD $(0x4EA0F800 | ((vn)<<5) | (vd))
#define FMAX4S(vd, vn, vm) WORD $(0x4E20F400 | ((vm)<<16) | ((vn)<<5) | (vd))
// FMAXV4S: scalar sd = the largest of vn's four lanes.
#define FMAXV4S(vd, vn) WORD $(0x6E30F800 | ((vn)<<5) | (vd))
// FCVTNS4S: vd.4s = int32(vn.4s), rounded to nearest, ties to even.
#define FCVTNS4S(vd, vn) WORD $(0x4E21A800 | ((vn)<<5) | (vd))
// SQXTN4H / SQXTN28H: vd's lower / upper four int16 = vn.4s narrowed with saturation;
// SQXTN8B / SQXTN216B the same from int16 to int8.
#define SQXTN4H(vd, vn) WORD $(0x0E614800 | ((vn)<<5) | (vd))
#define SQXTN28H(vd, vn) WORD $(0x4E614800 | ((vn)<<5) | (vd))
#define SQXTN8B(vd, vn) WORD $(0x0E214800 | ((vn)<<5) | (vd))
#define SQXTN216B(vd, vn) WORD $(0x4E214800 | ((vn)<<5) | (vd))
// ADDV4S: scalar sd = the sum of vn's four int32 lanes. ADD4S: vd.4s = vn.4s + vm.4s.
#define ADDV4S(vd, vn) WORD $(0x4EB1B800 | ((vn)<<5) | (vd))
#define ADD4S(vd, vn, vm) WORD $(0x4EA08400 | ((vm)<<16) | ((vn)<<5) | (vd))
// FCMEQ4S: vd.4s = all ones where vn.4s == vm.4s. UMAXV4S: scalar sd = the largest lane.
#define FCMEQ4S(vd, vn, vm) WORD $(0x4E20E400 | ((vm)<<16) | ((vn)<<5) | (vd))
#define UMAXV4S(vd, vn) WORD $(0x6EB0A800 | ((vn)<<5) | (vd))
// SMIN4S: vd.4s = min(vn.4s, vm.4s), signed.
#define SMIN4S(vd, vn, vm) WORD $(0x4EA06C00 | ((vm)<<16) | ((vn)<<5) | (vd))
