package proto

import (
	"strings"
	"testing"
)

func TestSplitJID(t *testing.T) {
	tests := []struct {
		raw, local, domain, resource, bare string
	}{
		{"Alice@Example.ORG/Phone", "Alice", "Example.ORG", "Phone", "alice@example.org"},
		{"room@conf.example/nick/with/slashes", "room", "conf.example", "nick/with/slashes", "room@conf.example"},
		{"room@conf.example/a@b", "room", "conf.example", "a@b", "room@conf.example"},
		{"example.org", "", "example.org", "", "example.org"},
		{"example.org/res", "", "example.org", "res", "example.org"},
		{"room@conf/\u3164", "room", "conf", "\u3164", "room@conf"},
		{"a@b@c", "a", "b@c", "", "a@b@c"},
		{"", "", "", "", ""},
		{"/", "", "", "", ""},
		{"@", "", "", "", "@"},
	}
	for _, tc := range tests {
		l, d, r := SplitJID(tc.raw)
		if l != tc.local || d != tc.domain || r != tc.resource {
			t.Errorf("SplitJID(%q) = %q, %q, %q; want %q, %q, %q", tc.raw, l, d, r, tc.local, tc.domain, tc.resource)
		}
		if got := BareOf(tc.raw); got != tc.bare {
			t.Errorf("BareOf(%q) = %q, want %q", tc.raw, got, tc.bare)
		}
		if got := ResourceOf(tc.raw); got != tc.resource {
			t.Errorf("ResourceOf(%q) = %q, want %q", tc.raw, got, tc.resource)
		}
	}
}

func FuzzSplitJID(f *testing.F) {
	for _, s := range []string{"a@b/c", "b", "@/", "room@conf/\u3164", "A@B@C/D/E", "\xff@\xfe/\xfd"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		l, d, r := SplitJID(raw)
		if strings.Contains(l, "@") || strings.Contains(l, "/") || strings.Contains(d, "/") {
			t.Fatalf("SplitJID(%q) = %q, %q, %q: separator inside a part", raw, l, d, r)
		}
		bare := d
		if l != "" || strings.HasPrefix(raw, "@") {
			bare = l + "@" + d
		}
		if strings.Contains(raw, "/") {
			if bare+"/"+r != raw {
				t.Fatalf("SplitJID(%q) = %q, %q, %q: does not rebuild the input", raw, l, d, r)
			}
		} else if bare != raw || r != "" {
			t.Fatalf("SplitJID(%q) = %q, %q, %q: does not rebuild the input", raw, l, d, r)
		}
		if b := BareOf(raw); BareOf(b) != b {
			t.Fatalf("BareOf not idempotent on %q: %q then %q", raw, b, BareOf(b))
		}
	})
}
