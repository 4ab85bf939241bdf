package rtbl

import (
	"strings"
	"testing"
)

// Vectors computed with `printf %s <text> | sha256sum`.
const (
	hashSpammer = "c261875210bf9202969bf86c81b78b4006a6bd9cfbaa16b52042892de027f1bf" // spammer@example.com
	hashExample = "a379a6f6eeafb9a55e378c118034e2751e682fab9f2d30ab13d2125586ce1947" // example.com
	hashEvil    = "9c180de0cd699ee78897c47cfdb3e7ee1d75906e31b7746a4747dea536909837" // evil.example
)

func TestHash(t *testing.T) {
	tests := []struct{ in, want string }{
		{"spammer@example.com", hashSpammer},
		{"example.com", hashExample},
		{"evil.example", hashEvil},
		{"Spammer@Example.COM", hashSpammer},       // Prosody hashes the case-folded JID
		{"spammer@example.com/phone", hashSpammer}, // resources are cut
	}
	for _, tc := range tests {
		if got := Hash(tc.in); got != tc.want {
			t.Errorf("Hash(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
	// Non-ASCII takes the Unicode lowercasing path.
	if Hash("ÄRGER@example.com") != Hash("ärger@example.com") {
		t.Error("Hash does not fold non-ASCII case")
	}
}

func TestParseItemID(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{hashSpammer, true},
		{strings.ToUpper(hashSpammer), false},
		{hashSpammer[:63], false},
		{hashSpammer + "0", false},
		{"", false},
		{strings.Repeat("g", 64), false},
		{"spammer@example.com", false},
	}
	for _, tc := range tests {
		k, err := ParseItemID(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("ParseItemID(%q) error = %v, want ok=%v", tc.in, err, tc.ok)
			continue
		}
		if tc.ok && k != key("spammer@example.com") {
			t.Errorf("ParseItemID(%q) decoded to the wrong key", tc.in)
		}
	}
}

func TestParseReport(t *testing.T) {
	tests := []struct {
		name, in, reason, text string
		err                    bool
	}{
		{name: "empty"},
		{name: "v1 with text", in: `<report xmlns="urn:xmpp:reporting:1" reason="urn:xmpp:reporting:spam"><text xml:lang="en">MUC spam wave</text></report>`,
			reason: ReasonSpam, text: "MUC spam wave"},
		{name: "v1 reason only", in: `<report xmlns='urn:xmpp:reporting:1' reason='urn:xmpp:reporting:abuse'/>`, reason: ReasonAbuse},
		{name: "v0 child reason", in: `<report xmlns="urn:xmpp:reporting:0"><spam/><text>bot</text></report>`, reason: ReasonSpam, text: "bot"},
		{name: "foreign payload", in: `<entry xmlns="urn:example:other"><text>x</text></entry>`},
		{name: "text outside report", in: `<x xmlns="urn:example"/><text>loose</text>`},
		{name: "broken xml", in: `<report xmlns="urn:xmpp:reporting:1"`, err: true},
		{name: "long text cut", in: `<report xmlns="urn:xmpp:reporting:1"><text>` + strings.Repeat("é", 400) + `</text></report>`,
			text: strings.Repeat("é", maxText/2)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reason, text, err := ParseReport([]byte(tc.in))
			if (err != nil) != tc.err {
				t.Fatalf("err = %v, want error %v", err, tc.err)
			}
			if reason != tc.reason || text != tc.text {
				t.Errorf("got (%q, %q), want (%q, %q)", reason, text, tc.reason, tc.text)
			}
		})
	}
}

func TestReportRoundTrip(t *testing.T) {
	tests := []Entry{
		{Reason: ReasonSpam, Text: `spam in <rooms> & "quotes"`},
		{Reason: ReasonAbuse},
		{Text: "only text"}, // published with the spam reason
	}
	for _, e := range tests {
		reason, text, err := ParseReport(e.Report())
		if err != nil {
			t.Fatalf("ParseReport(%s): %v", e.Report(), err)
		}
		wantReason := e.Reason
		if wantReason == "" {
			wantReason = ReasonSpam
		}
		if reason != wantReason || text != e.Text {
			t.Errorf("round trip of %+v = (%q, %q)", e, reason, text)
		}
	}
	if (Entry{}).Report() != nil {
		t.Error("an entry without a report must publish no payload")
	}
}

func TestDescribe(t *testing.T) {
	tests := []struct {
		e    Entry
		want string
	}{
		{Entry{}, "no reason given"},
		{Entry{Reason: ReasonSpam}, "spam"},
		{Entry{Text: "flood"}, "flood"},
		{Entry{Reason: ReasonAbuse, Text: "threats"}, "abuse: threats"},
		{Entry{Reason: "urn:example:x"}, "urn:example:x"},
	}
	for _, tc := range tests {
		if got := tc.e.Describe(); got != tc.want {
			t.Errorf("%+v.Describe() = %q, want %q", tc.e, got, tc.want)
		}
	}
}
