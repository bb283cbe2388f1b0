package outbound

import (
	"testing"
	"unicode/utf8"
)

// nfkcToASCIISeparators lists every character outside ASCII, but the
// full-width forms U+FF01 to U+FF5E, whose NFKC normalisation holds ".",
// "/", "\" or "%", with that normalisation. It was derived from the
// Unicode 14 data (Python's unicodedata.normalize("NFKC", c) over every
// code point from U+0080; golang.org/x/text/unicode/norm.NFKC gives the
// same), independently of compatForms.
var nfkcToASCIISeparators = map[rune]string{
	0x2024:  ".",    // ONE DOT LEADER
	0x2025:  "..",   // TWO DOT LEADER
	0x2026:  "...",  // HORIZONTAL ELLIPSIS
	0x2100:  "a/c",  // ACCOUNT OF
	0x2101:  "a/s",  // ADDRESSED TO THE SUBJECT
	0x2105:  "c/o",  // CARE OF
	0x2106:  "c/u",  // CADA UNA
	0x2488:  "1.",   // DIGIT ONE FULL STOP
	0x2489:  "2.",   // DIGIT TWO FULL STOP
	0x248A:  "3.",   // DIGIT THREE FULL STOP
	0x248B:  "4.",   // DIGIT FOUR FULL STOP
	0x248C:  "5.",   // DIGIT FIVE FULL STOP
	0x248D:  "6.",   // DIGIT SIX FULL STOP
	0x248E:  "7.",   // DIGIT SEVEN FULL STOP
	0x248F:  "8.",   // DIGIT EIGHT FULL STOP
	0x2490:  "9.",   // DIGIT NINE FULL STOP
	0x2491:  "10.",  // NUMBER TEN FULL STOP
	0x2492:  "11.",  // NUMBER ELEVEN FULL STOP
	0x2493:  "12.",  // NUMBER TWELVE FULL STOP
	0x2494:  "13.",  // NUMBER THIRTEEN FULL STOP
	0x2495:  "14.",  // NUMBER FOURTEEN FULL STOP
	0x2496:  "15.",  // NUMBER FIFTEEN FULL STOP
	0x2497:  "16.",  // NUMBER SIXTEEN FULL STOP
	0x2498:  "17.",  // NUMBER SEVENTEEN FULL STOP
	0x2499:  "18.",  // NUMBER EIGHTEEN FULL STOP
	0x249A:  "19.",  // NUMBER NINETEEN FULL STOP
	0x249B:  "20.",  // NUMBER TWENTY FULL STOP
	0x33C2:  "a.m.", // SQUARE AM
	0x33C7:  "Co.",  // SQUARE CO
	0x33D8:  "p.m.", // SQUARE PM
	0xFE19:  "...",  // PRESENTATION FORM FOR VERTICAL HORIZONTAL ELLIPSIS
	0xFE30:  "..",   // PRESENTATION FORM FOR VERTICAL TWO DOT LEADER
	0xFE52:  ".",    // SMALL FULL STOP
	0xFE68:  "\\",   // SMALL REVERSE SOLIDUS
	0xFE6A:  "%",    // SMALL PERCENT SIGN
	0x1F100: "0.",   // DIGIT ZERO FULL STOP
}

// bestFit lists the characters that Windows best-fit mapping turns into
// "/" or "\" and NFKC leaves alone.
var bestFit = map[rune]string{
	0x2044: "/", 0x2215: "/", 0x29F8: "/",
	0x2216: `\`, 0x29F5: `\`, 0x29F9: `\`, 0x00A5: `\`, 0x20A9: `\`,
}

// TestCompatForms: foldCompat reads each character NFKC maps to a string
// holding ".", "/", "\" or "%", the full-width forms and the best-fit
// ones as those, and changes no other character.
func TestCompatForms(t *testing.T) {
	for r := rune(0x80); r <= utf8.MaxRune; r++ {
		if !utf8.ValidRune(r) {
			continue
		}
		want, ok := nfkcToASCIISeparators[r]
		if !ok {
			want, ok = bestFit[r]
		}
		if !ok && 0xFF01 <= r && r <= 0xFF5E {
			want = string(r - 0xFF01 + '!')
		} else if !ok {
			want = string(r)
		}
		if got := foldCompat("/a" + string(r) + "b"); got != "/a"+want+"b" {
			t.Errorf("U+%04X: %q, want %q", r, got, "/a"+want+"b")
		}
	}
	if got := foldCompat("/\xff\uFF0E\xfe"); got != "/\xff.\xfe" {
		t.Errorf("bytes that are not UTF-8 changed: %q", got)
	}
	if got := foldCompat("/caf\u00e9/x"); got != "/caf\u00e9/x" {
		t.Errorf("a path without compatibility forms changed: %q", got)
	}
}
