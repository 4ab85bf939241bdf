package vetting

import (
	"fmt"
	"strconv"
	"unicode"
	"unicode/utf8"
)

//go:generate python3 testdata/gen_unicode32.py

// cpKind is what Prosody's nick check (resourceprep: stringprep over
// Unicode 3.2) does with a code point.
type cpKind uint8

const (
	cpUnassigned cpKind = iota // not in Unicode 3.2: the nick is refused
	cpOK                       // kept as is
	cpRewritten                // removed or replaced by its NFKC form
	cpProhibited               // control, private use, non-character…: refused
	cpRTL                      // right-to-left: refused next to Latin letters
)

type cpRange struct {
	lo, hi rune
	kind   cpKind
}

func nickKind(r rune) cpKind {
	lo, hi := 0, len(unicode32)
	for lo < hi {
		m := (lo + hi) / 2
		switch {
		case r < unicode32[m].lo:
			hi = m
		case r > unicode32[m].hi:
			lo = m + 1
		default:
			return unicode32[m].kind
		}
	}
	return cpUnassigned
}

// maxMarkerRunes bounds a marker: it is a prefix, not a nick.
const maxMarkerRunes = 8

// CheckMarker reports why a nick marker would be refused or silently changed
// by a server that checks nicks with Unicode 3.2 stringprep (Prosody), or nil
// if it passes. Every code point must be assigned in Unicode 3.2 and survive
// resourceprep unchanged.
func CheckMarker(m string) error {
	if !utf8.ValidString(m) {
		return fmt.Errorf("is not valid UTF-8; use %s", markerHint)
	}
	if n := utf8.RuneCountInString(m); n > maxMarkerRunes {
		return fmt.Errorf("is %d characters long, at most %d make sense at the start of a nick; use %s", n, maxMarkerRunes, markerHint)
	}
	if r, _ := utf8.DecodeRuneInString(m); unicode.IsSpace(r) {
		return fmt.Errorf("starts with a space, which clients trim from nicks; use %s", markerHint)
	}
	for _, r := range m {
		var why string
		switch nickKind(r) {
		case cpOK:
			continue
		case cpUnassigned:
			why = "was added to Unicode after version 3.2, and Prosody refuses nicks containing it (most emoji are like this)"
		case cpRewritten:
			why = "is removed or replaced by the server's nick normalisation, so nicks would never start with the marker as written"
		case cpProhibited:
			why = "is a control, private-use, invisible or formatting character that the server refuses in nicks"
		case cpRTL:
			why = "is a right-to-left character, and the server refuses nicks that mix it with left-to-right letters"
		}
		return fmt.Errorf("%s %s; use %s", describeRune(r), why, markerHint)
	}
	return nil
}

const markerHint = `a symbol from Unicode 3.2 such as "?" or "☝" (U+261D)`

func describeRune(r rune) string {
	visible := !unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Cc, unicode.Co, unicode.Z)
	if visible && strconv.QuoteRune(r) == "'"+string(r)+"'" {
		return fmt.Sprintf("%q (U+%04X)", string(r), r)
	}
	return fmt.Sprintf("U+%04X", r)
}
