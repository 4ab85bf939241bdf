package rtbl

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// XEP-0377 namespaces and reasons found in RTBL item payloads.
const (
	// NSReporting is XEP-0377 v0.3+: the reason is an attribute.
	NSReporting = "urn:xmpp:reporting:1"
	// NSReportingLegacy is XEP-0377 v0.2: the reason is a child element.
	NSReportingLegacy = "urn:xmpp:reporting:0"
	// ReasonSpam and ReasonAbuse are the XEP-0377 reasons.
	ReasonSpam  = "urn:xmpp:reporting:spam"
	ReasonAbuse = "urn:xmpp:reporting:abuse"
)

// maxText bounds the report text kept per entry: lists are remote input
// and 100,000 entries of unbounded text would be a memory attack.
const maxText = 500

// Entry is one item of a block list: the hash of a bare JID or a domain
// (its item id) and the optional XEP-0377 report that came with it.
type Entry struct {
	// ID is the item id: 64 lowercase hex digits.
	ID string `json:"-"`
	// Reason is the report's reason URI (ReasonSpam, ReasonAbuse, …),
	// "" without a report.
	Reason string `json:"reason,omitempty"`
	// Text is the report's free text, "" without one.
	Text string `json:"text,omitempty"`
}

// Describe is the entry's reason for people: the report text, else the
// short reason ("spam"), else "no reason given".
func (e Entry) Describe() string {
	switch {
	case e.Text != "" && e.Reason != "":
		return ShortReason(e.Reason) + ": " + e.Text
	case e.Text != "":
		return e.Text
	case e.Reason != "":
		return ShortReason(e.Reason)
	}
	return "no reason given"
}

// ShortReason turns "urn:xmpp:reporting:spam" into "spam"; other values are
// returned as they are.
func ShortReason(r string) string {
	if s, ok := strings.CutPrefix(r, "urn:xmpp:reporting:"); ok && s != "" {
		return s
	}
	return r
}

// Hash returns the item id for a bare JID or a domain exactly as
// mod_muc_rtbl computes it: the lowercase hex SHA-256 of the JID's text.
// Prosody hashes the stringprepped bare JID, whose localpart and domain are
// case-folded, so Hash lowercases s first. A resource, if any, is cut off.
func Hash(s string) string {
	k := key(s)
	return hex.EncodeToString(k[:])
}

// key is Hash without the hex encoding. It does not allocate for ASCII
// input of up to 256 bytes (the hot path: every join is hashed twice).
func key(s string) [32]byte {
	if i := strings.IndexByte(s, '/'); i >= 0 {
		s = s[:i]
	}
	var buf [256]byte
	b := buf[:0]
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			// Non-ASCII: Unicode lowercasing, which may allocate.
			return sha256.Sum256([]byte(strings.ToLower(s)))
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return sha256.Sum256(b)
}

// ErrItemID is returned by ParseItemID for an id that is not a SHA-256 hash.
var ErrItemID = errors.New("rtbl: item id is not 64 lowercase hex digits")

// ParseItemID decodes an item id. Only 64 lowercase hex digits are valid:
// mod_muc_rtbl compares ids as strings, so an uppercase id never matches
// anything on the servers either.
func ParseItemID(id string) ([32]byte, error) {
	var k [32]byte
	if len(id) != 64 {
		return k, ErrItemID
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return k, ErrItemID
		}
	}
	if _, err := hex.Decode(k[:], []byte(id)); err != nil {
		return k, ErrItemID
	}
	return k, nil
}

// ParseReport reads an item's payload: the XML of the element inside
// <item>, possibly empty. A XEP-0377 report (either namespace) gives the
// reason and text; any other payload, or none, gives empty strings. Only
// XML that does not parse is an error.
func ParseReport(payload []byte) (reason, text string, err error) {
	if len(bytes.TrimSpace(payload)) == 0 {
		return "", "", nil
	}
	d := xml.NewDecoder(bytes.NewReader(payload))
	// A report is small; refuse to walk deep or huge payloads.
	depth := 0
	inReport, inText := false, false
	var tb strings.Builder
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", "", fmt.Errorf("rtbl: item payload: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth > 16 {
				return "", "", errors.New("rtbl: item payload: nested too deep")
			}
			switch {
			case depth == 1 && t.Name.Local == "report" && (t.Name.Space == NSReporting || t.Name.Space == NSReportingLegacy):
				inReport = true
				for _, a := range t.Attr {
					if a.Name.Local == "reason" && a.Name.Space == "" {
						reason = a.Value
					}
				}
			case inReport && depth == 2 && t.Name.Local == "text":
				inText = true
			case inReport && depth == 2 && t.Name.Space == NSReportingLegacy && reason == "" &&
				(t.Name.Local == "spam" || t.Name.Local == "abuse"):
				reason = "urn:xmpp:reporting:" + t.Name.Local
			}
		case xml.EndElement:
			depth--
			if depth == 1 {
				inText = false
			}
		case xml.CharData:
			if inText && tb.Len() < 4*maxText {
				tb.Write(t)
			}
		}
	}
	return truncate(strings.TrimSpace(reason), 200), truncate(strings.TrimSpace(tb.String()), maxText), nil
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Report returns the XEP-0377 (urn:xmpp:reporting:1) payload for e, or nil
// when e has neither reason nor text. It is what Steward publishes.
func (e Entry) Report() []byte {
	if e.Reason == "" && e.Text == "" {
		return nil
	}
	reason := e.Reason
	if reason == "" {
		reason = ReasonSpam
	}
	var b bytes.Buffer
	b.WriteString(`<report xmlns="` + NSReporting + `" reason="`)
	_ = xml.EscapeText(&b, []byte(reason))
	b.WriteString(`">`)
	if e.Text != "" {
		b.WriteString(`<text>`)
		_ = xml.EscapeText(&b, []byte(e.Text))
		b.WriteString(`</text>`)
	}
	b.WriteString(`</report>`)
	return b.Bytes()
}
