package tokenizer

import "unicode"

// Codepoint category flags as llama.cpp's unicode tables define them.
type cptFlags uint16

const (
	flagUndefined   cptFlags = 0x0001
	flagNumber      cptFlags = 0x0002 // \p{N}
	flagLetter      cptFlags = 0x0004 // \p{L}
	flagSeparator   cptFlags = 0x0008 // \p{Z}
	flagAccentMark  cptFlags = 0x0010 // \p{M}
	flagPunctuation cptFlags = 0x0020 // \p{P}
	flagSymbol      cptFlags = 0x0040 // \p{S}
	flagControl     cptFlags = 0x0080 // \p{C}
	maskCategories  cptFlags = 0x00ff
	flagWhitespace  cptFlags = 0x0100 // \s
)

func (f cptFlags) has(g cptFlags) bool { return f&g != 0 }

// whitespace is llama.cpp's unicode_set_whitespace.
var whitespace = map[rune]bool{
	0x09: true, 0x0a: true, 0x0b: true, 0x0c: true, 0x0d: true, 0x20: true, 0x85: true, 0xa0: true,
	0x1680: true, 0x2000: true, 0x2001: true, 0x2002: true, 0x2003: true, 0x2004: true, 0x2005: true,
	0x2006: true, 0x2007: true, 0x2008: true, 0x2009: true, 0x200a: true, 0x2028: true, 0x2029: true,
	0x202f: true, 0x205f: true, 0x3000: true,
}

// flagsOf classifies a codepoint by its Unicode general category.
func flagsOf(r rune) cptFlags {
	var f cptFlags
	switch {
	case r < 0 || r > unicode.MaxRune:
		return 0
	case unicode.IsLetter(r):
		f = flagLetter
	case unicode.IsNumber(r):
		f = flagNumber
	case unicode.IsMark(r):
		f = flagAccentMark
	case unicode.IsPunct(r):
		f = flagPunctuation
	case unicode.IsSymbol(r):
		f = flagSymbol
	case unicode.In(r, unicode.Zs, unicode.Zl, unicode.Zp):
		f = flagSeparator
	case unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs):
		f = flagControl
	default:
		f = flagUndefined
	}
	if whitespace[r] {
		f |= flagWhitespace
	}
	return f
}

// byteToRune is GPT-2's byte-level alphabet (bytes_to_unicode): printable bytes map to
// themselves, the others to 256+n.
var byteToRune, runeToByte = func() ([256]rune, map[rune]byte) {
	var b2r [256]rune
	r2b := map[rune]byte{}
	printable := func(c int) bool {
		return (c >= 0x21 && c <= 0x7e) || (c >= 0xa1 && c <= 0xac) || (c >= 0xae && c <= 0xff)
	}
	n := 0
	for c := 0; c < 256; c++ {
		if printable(c) {
			b2r[c] = rune(c)
		} else {
			b2r[c] = rune(256 + n)
			n++
		}
		r2b[b2r[c]] = byte(c)
	}
	return b2r, r2b
}()
