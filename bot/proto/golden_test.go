package proto

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mellium.im/xmlstream"
)

var update = flag.Bool("update", false, "rewrite testdata/stanzas/*.golden")

func stanzaFiles(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "stanzas", "*.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no testdata/stanzas/*.xml")
	}
	return files
}

// TestDecodeGolden decodes each recorded stanza and compares a JSON
// rendering of the result with its .golden file (go test -update rewrites).
func TestDecodeGolden(t *testing.T) {
	for _, file := range stanzaFiles(t) {
		name := strings.TrimSuffix(filepath.Base(file), ".xml")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			in, err := DecodeBytes(raw)
			if err != nil {
				t.Fatalf("DecodeBytes: %v", err)
			}
			got, err := json.MarshalIndent(in, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := strings.TrimSuffix(file, ".xml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("decoded %s differs from %s:\ngot:\n%s\nwant:\n%s", file, golden, got, want)
			}
		})
	}
}

// TestDecodeEntryPoints checks that Decode gives the same result whether r
// starts at the stanza's start element (mux handlers), right after it
// (Session.Serve handlers, xmlstream.InnerElement), or without the end
// element (xmlstream.Inner), and that it stops at the stanza's end.
func TestDecodeEntryPoints(t *testing.T) {
	for _, file := range stanzaFiles(t) {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		want, err := DecodeBytes(raw)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		wantJSON, _ := json.Marshal(want)
		// A second stanza follows, which Decode must not consume.
		stream := append(append([]byte{}, raw...), []byte(`<presence id="next"/>`)...)
		for _, mode := range []string{"at-start", "inner-element", "inner"} {
			d := xml.NewDecoder(bytes.NewReader(stream))
			start := nextStart(t, d)
			var r xml.TokenReader
			switch mode {
			case "at-start":
				r = xmlstream.MultiReader(xmlstream.Token(start), xmlstream.InnerElement(d))
			case "inner-element":
				r = xmlstream.InnerElement(d)
			case "inner":
				r = xmlstream.Inner(d)
			}
			got, err := Decode(start, r)
			if err != nil {
				t.Fatalf("%s %s: %v", file, mode, err)
			}
			gotJSON, _ := json.Marshal(got)
			if !bytes.Equal(gotJSON, wantJSON) {
				t.Errorf("%s %s:\ngot  %s\nwant %s", file, mode, gotJSON, wantJSON)
			}
			next, err := DecodeReader(d)
			if err != nil || next.ID != "next" {
				t.Errorf("%s %s: the following stanza = %+v, %v", file, mode, next, err)
			}
		}
	}
}

func nextStart(t *testing.T, d *xml.Decoder) xml.StartElement {
	t.Helper()
	for {
		tok, err := d.Token()
		if err != nil {
			t.Fatal(err)
		}
		if s, ok := tok.(xml.StartElement); ok {
			return s.Copy()
		}
	}
}

func TestDecodeMalformed(t *testing.T) {
	tests := []struct {
		name, xml string
	}{
		{"truncated", `<message type="groupchat"><body>hi`},
		{"mismatched end", `<presence><x xmlns="http://jabber.org/protocol/muc#user"></y></presence>`},
		{"not xml", `hello`},
		{"empty", ``},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if in, err := DecodeBytes([]byte(tc.xml)); err == nil {
				t.Errorf("DecodeBytes(%q) = %+v, want an error", tc.xml, in)
			}
		})
	}
}

func TestDecodeOtherStanza(t *testing.T) {
	in, err := DecodeBytes([]byte(`<iq type="get" id="p1" from="agora@conf/x" to="bot@example/r"><ping xmlns="urn:xmpp:ping"/></iq>`))
	if err != nil {
		t.Fatal(err)
	}
	want := Inbound{Name: "iq", Type: "get", ID: "p1", From: "agora@conf/x", To: "bot@example/r"}
	if in != want {
		t.Errorf("got %+v, want %+v", in, want)
	}
}

// TestDecodeEmptyStanza covers readers that end right after the start
// element, as xmlstream.Inner does for <presence/>.
func TestDecodeEmptyStanza(t *testing.T) {
	start := xml.StartElement{Name: xml.Name{Space: "jabber:client", Local: "presence"},
		Attr: []xml.Attr{{Name: xml.Name{Local: "from"}, Value: "room@conf/nick"}, {Name: xml.Name{Local: "type"}, Value: "unavailable"}}}
	for name, r := range map[string]xml.TokenReader{
		"nothing":     xmlstream.MultiReader(),
		"end only":    xmlstream.Token(start.End()),
		"start alone": xmlstream.Token(start),
	} {
		in, err := Decode(start, r)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if in.Presence == nil || in.Presence.Type != "unavailable" || in.Presence.MUC || in.From != "room@conf/nick" {
			t.Errorf("%s: %+v", name, in)
		}
	}
}
