//go:build !noasm

package cpu

// useRepackAsm selects transposeX8 for the repacks of whole groups of eight rows.
var useRepackAsm = useAVX2

// transposeX8 moves n chunks of eight rows × 32 bytes into the interleaved layout: chunk
// i of row r is the 32 bytes at src + r·srcStride + i·srcStep, and its 4-byte unit v
// goes to out + i·outStep + 32v + 4r (an 8 × 8 transpose of 4-byte units per chunk):
//
//	for i := range n { for r := range 8 { for v := range 8 { copy(out[i*outStep+32*v+4*r:][:4], src[r*srcStride+i*srcStep+4*v:][:4]) } } }
//
//go:noescape
func transposeX8(out *byte, outStep int, src *byte, srcStride, srcStep, n int)

// transposeX8Half is transposeX8 for chunks of eight rows × 16 bytes (four units v).
//
//go:noescape
func transposeX8Half(out *byte, outStep int, src *byte, srcStride, srcStep, n int)
