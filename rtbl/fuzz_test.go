package rtbl

import (
	"encoding/hex"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func FuzzParseItemID(f *testing.F) {
	for _, s := range []string{hashSpammer, strings.ToUpper(hashEvil), "", "zz", hashExample + "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		k, err := ParseItemID(id)
		if err != nil {
			return
		}
		if got := hex.EncodeToString(k[:]); got != id {
			t.Fatalf("ParseItemID(%q) decoded to %s", id, got)
		}
	})
}

func FuzzHash(f *testing.F) {
	for _, s := range []string{"spammer@example.com", "EXAMPLE.com", "a@b/c", "ärger@x", strings.Repeat("x", 300)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h := Hash(s)
		k, err := ParseItemID(h)
		if err != nil {
			t.Fatalf("Hash(%q) = %q is not a valid item id", s, h)
		}
		if k != key(s) {
			t.Fatalf("Hash and key disagree for %q", s)
		}
		if Hash(strings.ToLower(s)) != h {
			t.Fatalf("Hash(%q) depends on case", s)
		}
		jk, _, _ := keys(s)
		if jk != k {
			t.Fatalf("keys(%q) disagrees with Hash", s)
		}
	})
}

func FuzzParseReport(f *testing.F) {
	f.Add([]byte(`<report xmlns="urn:xmpp:reporting:1" reason="urn:xmpp:reporting:spam"><text>x</text></report>`), "spam text")
	f.Add([]byte(`<report xmlns="urn:xmpp:reporting:0"><abuse/></report>`), "")
	f.Add([]byte(`<a><b><c>`), "<&>")
	f.Fuzz(func(t *testing.T, payload []byte, text string) {
		_, _, _ = ParseReport(payload) // remote input: must not panic

		// What Steward publishes, it reads back.
		text = strings.TrimSpace(text)
		if len(text) > maxText || !utf8.ValidString(text) || strings.ContainsFunc(text, func(r rune) bool { return !unicode.IsPrint(r) && r != ' ' }) {
			return
		}
		e := Entry{Reason: ReasonAbuse, Text: text}
		reason, got, err := ParseReport(e.Report())
		if err != nil || reason != ReasonAbuse || got != text {
			t.Fatalf("round trip of %q: (%q, %q, %v)", text, reason, got, err)
		}
	})
}
