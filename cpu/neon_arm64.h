// Encodings of the NEON instructions Go's arm64 assembler has no mnemonic for
// (checked against GNU as -march=armv8.2-a+dotprod). Arguments are register numbers:
// SDOTE(18, 0, 16, 2) is sdot v18.4s, v0.16b, v16.4b[2].

// SDOTE: vd.4s += per 32-bit lane, the dot of vn's four signed bytes with vm's byte lane i (dot product extension).
#define SDOTE(vd, vn, vm, i) WORD $(0x4F80E000 | ((i&1)<<21) | (vm<<16) | ((i>>1)<<11) | (vn<<5) | vd)
// SCVTF4S: vd.4s = float32(vn.4s as int32).
#define SCVTF4S(vd, vn) WORD $(0x4E21D800 | (vn<<5) | vd)
// FCVTL4S / FCVTL24S: vd.4s = float32 of vn's lower / upper four fp16 lanes.
#define FCVTL4S(vd, vn) WORD $(0x0E217800 | (vn<<5) | vd)
#define FCVTL24S(vd, vn) WORD $(0x4E217800 | (vn<<5) | vd)
// FMUL4S: vd.4s = vn.4s * vm.4s.
#define FMUL4S(vd, vn, vm) WORD $(0x6E20DC00 | (vm<<16) | (vn<<5) | vd)
// MLA4S: vd.4s += vn.4s * vm.4s (int32).
#define MLA4S(vd, vn, vm) WORD $(0x4EA09400 | (vm<<16) | (vn<<5) | vd)
// SMLAL4S / SMLAL24S: vd.4s += vn.4h * vm.4h, lower / upper four int16 lanes, widened.
#define SMLAL4S(vd, vn, vm) WORD $(0x0E608000 | (vm<<16) | (vn<<5) | vd)
#define SMLAL24S(vd, vn, vm) WORD $(0x4E608000 | (vm<<16) | (vn<<5) | vd)
// ADDP4S: vd.4s = (vn0+vn1, vn2+vn3, vm0+vm1, vm2+vm3).
#define ADDP4S(vd, vn, vm) WORD $(0x4EA0BC00 | (vm<<16) | (vn<<5) | vd)
// SSHR8H8: vd.8h = vn.8h >> 8, arithmetic.
#define SSHR8H8(vd, vn) WORD $(0x4F180400 | (vn<<5) | vd)
// SXTL4S / SXTL24S: vd.4s = int32 of vn's lower / upper four int16 lanes.
#define SXTL4S(vd, vn) WORD $(0x0F10A400 | (vn<<5) | vd)
#define SXTL24S(vd, vn) WORD $(0x4F10A400 | (vn<<5) | vd)
// USHL16B: vd.16b = vn.16b shifted by vm.16b's signed byte counts (negative: right).
#define USHL16B(vd, vn, vm) WORD $(0x6E204400 | (vm<<16) | (vn<<5) | vd)
// FADD4S: vd.4s = vn.4s + vm.4s. FADDP4S: pairwise, (vn0+vn1, vn2+vn3, vm0+vm1, vm2+vm3).
#define FADD4S(vd, vn, vm) WORD $(0x4E20D400 | (vm<<16) | (vn<<5) | vd)
#define FADDP4S(vd, vn, vm) WORD $(0x6E20D400 | (vm<<16) | (vn<<5) | vd)
// FADDP2S: scalar sd = vn0 + vn1.
#define FADDP2S(vd, vn) WORD $(0x7E30D800 | (vn<<5) | vd)
// SXTL8H: vd.8h = int16 of vn's lower eight int8 lanes.
#define SXTL8H(vd, vn) WORD $(0x0F08A400 | (vn<<5) | vd)
