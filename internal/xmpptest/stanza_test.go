package xmpptest

import (
	"encoding/xml"
	"reflect"
	"strings"
	"testing"
)

// TestParse decodes recorded Prosody stanzas into the parsed view.
func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Stanza // Raw is checked separately
	}{
		{
			name: "kick self-presence",
			in: `<presence xmlns="jabber:client" type="unavailable" from="r@c/Vic" to="v@l/t"><x xmlns="http://jabber.org/protocol/muc#user">` +
				`<item affiliation="none" role="none"><actor nick="Owner"/><reason>spam</reason></item><status code="307"/><status code="110"/></x></presence>`,
			want: Stanza{Name: "presence", Type: "unavailable", From: "r@c/Vic", To: "v@l/t", Status: []int{307, 110},
				Items: []Item{{Role: "none", Affiliation: "none", Reason: "spam", ActorNick: "Owner"}}},
		},
		{
			name: "error reply",
			in: `<message xmlns="jabber:client" type="error" id="m1" from="r@c"><body>x</body><error type="auth">` +
				`<forbidden xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/><text xmlns="urn:ietf:params:xml:ns:xmpp-stanzas">You are not allowed</text></error></message>`,
			want: Stanza{Name: "message", Type: "error", ID: "m1", From: "r@c", Body: "x", Error: "forbidden", ErrorText: "You are not allowed"},
		},
		{
			name: "subject marks the end of history",
			in:   `<message xmlns="jabber:client" type="groupchat" from="r@c"><subject/></message>`,
			want: Stanza{Name: "message", Type: "groupchat", From: "r@c", HasSubject: true},
		},
		{
			name: "direct invite",
			in:   `<message xmlns="jabber:client" from="o@l/t"><x xmlns="jabber:x:conference" jid="r@c" reason="hi"/></message>`,
			want: Stanza{Name: "message", From: "o@l/t", Conference: &Invite{JID: "r@c", Reason: "hi"}},
		},
		{
			name: "mediated invite with form-less body",
			in: `<message xmlns="jabber:client" from="r@c"><x xmlns="http://jabber.org/protocol/muc#user"><invite from="r@c/Owner"><reason>come</reason></invite></x>` +
				`<x xmlns="jabber:x:conference" jid="r@c"/><body>invited</body></message>`,
			want: Stanza{Name: "message", From: "r@c", Body: "invited", Invite: &Invite{From: "r@c/Owner", Reason: "come"}, Conference: &Invite{JID: "r@c"}},
		},
		{
			name: "groupchat with ids",
			in: `<message xmlns="jabber:client" type="groupchat" from="r@c/&#x1160;"><body>a &amp; b</body><delay xmlns="urn:xmpp:delay" stamp="2024-01-01T00:00:00Z"/>` +
				`<occupant-id xmlns="urn:xmpp:occupant-id:0" id="occ"/><stanza-id xmlns="urn:xmpp:sid:0" by="r@c" id="sid"/></message>`,
			want: Stanza{Name: "message", Type: "groupchat", From: "r@c/\u1160", Body: "a & b", Delayed: true, OccupantID: "occ", StanzaID: "sid", StanzaBy: "r@c"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var n node
			if err := xml.NewDecoder(strings.NewReader(tc.in)).Decode(&n); err != nil {
				t.Fatal(err)
			}
			got := parse(n)
			// Raw must itself parse back to the same view.
			var again node
			if err := xml.NewDecoder(strings.NewReader(got.Raw)).Decode(&again); err != nil {
				t.Fatalf("Raw %q does not parse: %v", got.Raw, err)
			}
			if back := parse(again); !reflect.DeepEqual(back, got) {
				t.Errorf("Raw does not round-trip:\n got %+v\nback %+v", got, back)
			}
			got.Raw = ""
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("parse =\n %+v\nwant\n %+v", got, tc.want)
			}
		})
	}
}
