package cpu

import "encoding/binary"

// The AMX tile configuration of the avx512amx kernels (amx_linux_amd64.go), here for
// every build so that its layout and the Go model of the kernels are tested anywhere.

// amxTokens is the tokens an AMX kernel call takes: the 16 rows of a tile.
const amxTokens = 16

// amxTileShape is one tile register's rows and bytes per row.
type amxTileShape struct{ rows, colsb int }

// amxTileConfig is the 64-byte operand of LDTILECFG (Intel SDM, "Tile Configuration"):
// byte 0 the palette (1: eight 1 KiB tiles), byte 1 start_row 0, bytes 16+2i the
// bytes per row of tile i (uint16), byte 48+i its rows; unused tiles and the reserved
// bytes are zero.
func amxTileConfig(tiles ...amxTileShape) [64]byte {
	var c [64]byte
	c[0] = 1
	for i, t := range tiles {
		binary.LittleEndian.PutUint16(c[16+2*i:], uint16(t.colsb))
		c[48+i] = byte(t.rows)
	}
	return c
}

// The tiles of dotQ8_0x8x16AMX (and the Q4_0 kernel): per Q8_0 block, tmm0 (A) is 16
// tokens × 32 quants, tmm1 (B) the q8x8 block as it lies (8 rows of 4 quants of each of
// the 8 weight rows: K/4 rows × N·4 bytes), tmm2 (C) 16 tokens × 8 rows of int32;
// tmm3–5 the same for the next block.
var (
	amxQ8_0Shapes = [6]amxTileShape{{amxTokens, 32}, {8, 32}, {amxTokens, 32}, {amxTokens, 32}, {8, 32}, {amxTokens, 32}}
	amxQ8_0Config = amxTileConfig(amxQ8_0Shapes[:]...)
)

// amxQ8_0Tiles are tmm2 and tmm5 as TILESTORED writes them with a 32-byte stride.
type amxQ8_0Tiles [2][amxTokens][8]int32
