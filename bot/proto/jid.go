package proto

import "strings"

// SplitJID splits a raw address into its parts the way RFC 7622 §3.1 does
// (resource after the first '/', local part before the first '@' ahead of
// it) without any validation or normalisation, so that addresses PRECIS
// rejects can still be handled. A missing part is "".
func SplitJID(raw string) (local, domain, resource string) {
	local, domain, resource, _ = split(raw)
	return local, domain, resource
}

func split(raw string) (local, domain, resource string, hasAt bool) {
	bare := raw
	if i := strings.IndexByte(raw, '/'); i >= 0 {
		bare, resource = raw[:i], raw[i+1:]
	}
	if i := strings.IndexByte(bare, '@'); i >= 0 {
		return bare[:i], bare[i+1:], resource, true
	}
	return "", bare, resource, false
}

// BareOf returns the lowercased local@domain of a raw address (just the
// domain when it has no '@'). It is a comparison key, not a
// validated JID: case-folding is strings.ToLower, not PRECIS.
func BareOf(raw string) string {
	local, domain, _, hasAt := split(raw)
	if !hasAt {
		return strings.ToLower(domain)
	}
	return strings.ToLower(local) + "@" + strings.ToLower(domain)
}

// ResourceOf returns the resource part of a raw address (a MUC nick when the
// address is an occupant JID), or "".
func ResourceOf(raw string) string {
	_, _, res := SplitJID(raw)
	return res
}
