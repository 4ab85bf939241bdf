package proto

import (
	"encoding/json"
	"encoding/xml"
	"os"
	"testing"
)

func FuzzDecode(f *testing.F) {
	for _, file := range stanzaFiles(f) {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`<message><x xmlns="jabber:x:data"><field><value>`))
	f.Add([]byte(`<presence><x xmlns="http://jabber.org/protocol/muc#user"><status code="99999999999999999999"/></x></presence>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		in, err := DecodeBytes(b)
		if err != nil {
			return
		}
		if _, err := json.Marshal(in); err != nil {
			t.Fatalf("decoded value does not marshal: %v", err)
		}
		if in.Presence != nil && in.Name != "presence" || in.Message != nil && in.Name != "message" {
			t.Fatalf("payload does not match stanza name %q", in.Name)
		}
	})
}

// FuzzDecodeReplies feeds the IQ reply decoders.
func FuzzDecodeReplies(f *testing.F) {
	for _, s := range []string{prosodyConfigForm, searchResultForm, prosodyRoomDisco, ejabberdRoomDisco,
		`<pubsub xmlns="http://jabber.org/protocol/pubsub"><items node="n"><item id="a"><report xmlns="urn:xmpp:reporting:0"><spam/></report></item></items></pubsub>`,
		`<query xmlns="http://jabber.org/protocol/muc#admin"><item affiliation="outcast" jid="x"><actor nick="y"/></item></query>`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r := func() xml.TokenReader { return bytesReader(string(b)) }
		if form, err := DecodeForm(r()); err == nil {
			_ = form.Map()
			_ = form.Bool("x")
		}
		if d, err := DecodeDiscoInfo(r()); err == nil {
			_ = RoomFeatures(d)
		}
		_, _ = DecodeItems(r())
		_, _ = DecodeAdminItems(r())
	})
}
