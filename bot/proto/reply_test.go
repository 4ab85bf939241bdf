package proto

import (
	"encoding/xml"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func bytesReader(s string) xml.TokenReader { return xml.NewDecoder(strings.NewReader(s)) }

func TestVoiceApprovalRoundTrip(t *testing.T) {
	req := VoiceRequest{JID: "visitor1@localhost/harness", Nick: "Newbie", Role: "participant"}
	in, err := DecodeBytes([]byte(encode(t, VoiceApproval("a1", "lobby@conference.localhost", req))))
	if err != nil {
		t.Fatal(err)
	}
	got := in.Message.VoiceRequest
	if got == nil {
		t.Fatal("no voice request decoded")
	}
	if got.JID != req.JID || got.Nick != req.Nick || got.Role != "participant" || !got.Allow {
		t.Errorf("round trip = %+v", got)
	}
	if in.To != "lobby@conference.localhost" || in.Type != "normal" || in.ID != "a1" {
		t.Errorf("envelope = %+v", in)
	}
}

func TestConfigSubmitRoundTrip(t *testing.T) {
	fields := map[string][]string{
		"muc#roomconfig_moderatedroom":     {"1"},
		"muc#roomconfig_presencebroadcast": {"moderator", "participant", "visitor"},
		"muc#roomconfig_roomdesc":          {""},
		"members_by_default":               {"0"},
	}
	want := map[string][]string{"FORM_TYPE": {NSMUCRoomConfig}}
	for k, v := range fields {
		want[k] = v
	}
	// Through bytes (what the server sees) and straight from the tokens.
	sources := map[string]func() xml.TokenReader{
		"bytes":  func() xml.TokenReader { return bytesReader(encode(t, ConfigSubmit(fields))) },
		"tokens": func() xml.TokenReader { return ConfigSubmit(fields) },
	}
	for name, src := range sources {
		f, err := DecodeForm(src())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if f.Type != "submit" || !reflect.DeepEqual(f.Map(), want) {
			t.Errorf("%s: form = %+v, map %v", name, f, f.Map())
		}
	}
}

func TestPublishRoundTrip(t *testing.T) {
	tests := []struct {
		report *Report
		want   PubsubItem
	}{
		{&Report{Reason: ReasonSpam, Text: "spam in 3 rooms"}, PubsubItem{ID: "h1", ReportReason: ReasonSpam, ReportText: "spam in 3 rooms"}},
		{nil, PubsubItem{ID: "h1", ReportReason: ReasonAbuse}},
	}
	for _, tc := range tests {
		// The service hands a published item back inside <items>.
		stored := strings.NewReplacer("<publish ", "<items ", "</publish>", "</items>").
			Replace(encode(t, Publish("muc_bans_sha256", "h1", tc.report)))
		items, err := DecodeItems(bytesReader(stored))
		if err != nil {
			t.Fatal(err)
		}
		if len(items) != 1 || items[0] != tc.want {
			t.Errorf("items = %+v, want %+v", items, tc.want)
		}
	}
}

const prosodyConfigForm = `<iq xmlns="jabber:client" type="result" id="c1" from="agora@conference.localhost" to="steward@localhost/s">
<query xmlns="http://jabber.org/protocol/muc#owner">
<x xmlns="jabber:x:data" type="form">
<title>Configuration for agora@conference.localhost</title>
<instructions>Complete and submit this form to configure the room.</instructions>
<field var="FORM_TYPE" type="hidden"><value>http://jabber.org/protocol/muc#roomconfig</value></field>
<field type="fixed"><value>Room information</value></field>
<field var="muc#roomconfig_roomname" type="text-single" label="Title"/>
<field var="muc#roomconfig_moderatedroom" type="boolean" label="Moderated (require permission to speak)"><value>0</value></field>
<field var="muc#roomconfig_whois" type="list-single" label="Addresses (JIDs) of room occupants may be viewed by:"><value>moderators</value><option label="Moderators only"><value>moderators</value></option><option label="Anyone"><value>anyone</value></option></field>
<field var="muc#roomconfig_presencebroadcast" type="list-multi" label="Only show participants with roles:"><value>visitor</value><value>participant</value><value>moderator</value><option label="Visitor"><value>visitor</value></option></field>
<field var="notes" type="text-multi"><value/></field>
<field var="muc#roomconfig_historylength" type="text-single" label="Maximum number of history messages"><required/><value>20</value></field>
</x></query></iq>`

const searchResultForm = `<x xmlns="jabber:x:data" type="result">
<reported><field var="jid" label="JID" type="jid-single"/><field var="nick" label="Nick"/></reported>
<item><field var="jid"><value>a@example.org</value></field><field var="nick"><value>a</value></field></item>
<item><field var="jid"><value>b@example.org</value></field></item>
</x>`

func TestDecodeForm(t *testing.T) {
	f, err := DecodeForm(bytesReader(prosodyConfigForm))
	if err != nil {
		t.Fatal(err)
	}
	if f.Type != "form" || f.FormType() != NSMUCRoomConfig || len(f.Fields) != 8 {
		t.Fatalf("form = %+v", f)
	}
	checks := []struct {
		name string
		got  any
		want any
	}{
		{"has moderated", f.Has("muc#roomconfig_moderatedroom"), true},
		{"no ejabberd field", f.Has("members_by_default"), false},
		{"bool", f.Bool("muc#roomconfig_moderatedroom"), false},
		{"empty field value", f.Value("muc#roomconfig_roomname"), ""},
		{"list-multi", f.Values("muc#roomconfig_presencebroadcast"), []string{"visitor", "participant", "moderator"}},
		{"empty text-multi value (B7)", f.Values("notes"), []string{""}},
		{"options", func() []string { fl, _ := f.Field("muc#roomconfig_whois"); return fl.Options }(), []string{"moderators", "anyone"}},
		{"required", func() bool { fl, _ := f.Field("muc#roomconfig_historylength"); return fl.Required }(), true},
		{"instructions", f.Instructions, "Complete and submit this form to configure the room."},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}

	res, err := DecodeForm(bytesReader(searchResultForm))
	if err != nil {
		t.Fatalf("result form (B8): %v", err)
	}
	if len(res.Reported) != 2 || len(res.Items) != 2 || res.Items[0][1].Values[0] != "a" || res.Items[1][0].Values[0] != "b@example.org" {
		t.Errorf("result form = %+v", res)
	}

	if _, err := DecodeForm(bytesReader(`<iq type="result"/>`)); !errors.Is(err, ErrNotFound) {
		t.Errorf("no form: err = %v, want ErrNotFound", err)
	}
}

func TestOwnerQueryUnmarshal(t *testing.T) {
	// The shape UnmarshalIQElement hands over: DecodeElement on the payload.
	d := xml.NewDecoder(strings.NewReader(prosodyConfigForm))
	var q OwnerQuery
	if err := decodeFirst(d, xml.Name{Space: NSMUCOwner, Local: "query"}, &q); err != nil {
		t.Fatal(err)
	}
	if q.Form == nil || q.Form.FormType() != NSMUCRoomConfig {
		t.Errorf("OwnerQuery = %+v", q)
	}
}

const prosodyRoomDisco = `<iq type="result" from="agora@conference.localhost" id="d1"><query xmlns="http://jabber.org/protocol/disco#info">
<identity category="conference" type="text" name="Agora"/>
<feature var="http://jabber.org/protocol/muc"/><feature var="http://jabber.org/protocol/muc#request"/>
<feature var="http://jabber.org/protocol/muc#stable_id"/><feature var="http://jabber.org/protocol/muc#self-ping-optimization"/>
<feature var="urn:xmpp:mam:2"/><feature var="urn:xmpp:sid:0"/><feature var="urn:xmpp:occupant-id:0"/>
<feature var="urn:xmpp:message-moderate:0"/><feature var="muc_moderated"/><feature var="muc_semianonymous"/>
<feature var="muc_persistent"/><feature var="muc_public"/><feature var="muc_open"/><feature var="muc_unsecured"/>
<x xmlns="jabber:x:data" type="result"><field var="FORM_TYPE" type="hidden"><value>http://jabber.org/protocol/muc#roominfo</value></field>
<field var="muc#roominfo_occupants" label="Number of occupants"><value>3</value></field></x>
</query></iq>`

const ejabberdRoomDisco = `<query xmlns="http://jabber.org/protocol/disco#info">
<identity category="conference" type="text" name="lobby"/>
<feature var="muc_membersonly"/><feature var="muc_nonanonymous"/><feature var="muc_passwordprotected"/>
<feature var="urn:xmpp:message-moderate:0"/><feature var="urn:xmpp:message-moderate:1"/>
<x xmlns="jabber:x:data" type="result"><field var="FORM_TYPE" type="hidden"><value>urn:example:other</value></field></x>
<x xmlns="jabber:x:data" type="result"><field var="FORM_TYPE" type="hidden"><value>http://jabber.org/protocol/muc#roominfo</value></field>
<field var="muc#roominfo_occupants"><value>2</value></field><field var="muc#roomconfig_maxusers" type="list-single"><value>200</value></field></x>
</query>`

func TestDiscoAndRoomFeatures(t *testing.T) {
	pd, err := DecodeDiscoInfo(bytesReader(prosodyRoomDisco))
	if err != nil {
		t.Fatal(err)
	}
	if len(pd.Identities) != 1 || pd.Identities[0] != (Identity{"conference", "text", "Agora"}) || !pd.Has(NSMUCRequest) {
		t.Fatalf("prosody disco = %+v", pd)
	}
	pf := RoomFeatures(pd)
	if !pf.Moderated || !pf.SemiAnonymous || !pf.Persistent || !pf.Public || pf.MembersOnly || pf.NonAnonymous || pf.Password ||
		!pf.VoiceRequests || !pf.OccupantIDs || pf.Moderation != NSModerate0 || pf.MaxOccupants != 0 || len(pf.Raw) != 14 {
		t.Errorf("prosody features = %+v", pf)
	}

	ed, err := DecodeDiscoInfo(bytesReader(ejabberdRoomDisco))
	if err != nil {
		t.Fatal(err)
	}
	if ed.Form == nil || ed.Form.FormType() != NSMUCRoomInfo {
		t.Fatalf("roominfo form not picked: %+v", ed.Form)
	}
	ef := RoomFeatures(ed)
	if ef.Moderated || !ef.MembersOnly || !ef.NonAnonymous || !ef.Password || ef.VoiceRequests || ef.OccupantIDs ||
		ef.Moderation != NSModerate1 || ef.MaxOccupants != 200 {
		t.Errorf("ejabberd features = %+v", ef)
	}
}

func TestAdminItems(t *testing.T) {
	const reply = `<iq type="result" id="l1" from="agora@conference.localhost"><query xmlns="http://jabber.org/protocol/muc#admin">
<item affiliation="outcast" jid="mallory@evil.localhost"><reason>spam</reason></item>
<item affiliation="outcast" jid="evil.localhost"/>
</query></iq>`
	a, err := DecodeAdminItems(bytesReader(reply))
	if err != nil {
		t.Fatal(err)
	}
	want := []Item{{Affiliation: "outcast", JID: "mallory@evil.localhost", Reason: "spam"}, {Affiliation: "outcast", JID: "evil.localhost"}}
	if !reflect.DeepEqual(a.Items, want) {
		t.Errorf("items = %+v", a.Items)
	}
}

func TestPubsubReply(t *testing.T) {
	tests := []struct {
		name string
		xml  string
		want PubsubReply
	}{
		{"subscribed", `<pubsub xmlns="http://jabber.org/protocol/pubsub"><subscription node="muc_bans_sha256" jid="steward@localhost" subscription="subscribed" subid="s1"/></pubsub>`,
			PubsubReply{Subscription: &Subscription{Node: "muc_bans_sha256", JID: "steward@localhost", SubID: "s1", State: "subscribed"}}},
		{"items, one in a foreign namespace (Prosody local quirk)", `<pubsub xmlns="http://jabber.org/protocol/pubsub"><items node="muc_bans_sha256">
<item id="h1"><report xmlns="urn:xmpp:reporting:1" reason="urn:xmpp:reporting:spam"/></item>
<item xmlns="http://jabber.org/protocol/pubsub#event" id="h2"/></items></pubsub>`,
			PubsubReply{Node: "muc_bans_sha256", Items: []PubsubItem{{ID: "h1", ReportReason: ReasonSpam}, {ID: "h2"}}}},
		{"empty node", `<pubsub xmlns="http://jabber.org/protocol/pubsub"><items node="n"/></pubsub>`, PubsubReply{Node: "n"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got PubsubReply
			if err := decodeFirst(bytesReader(tc.xml), xml.Name{Space: NSPubsub, Local: "pubsub"}, &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		e    Error
		want string
	}{
		{Error{Type: "cancel", Condition: "forbidden", Text: "You are banned from this service"}, "forbidden: You are banned from this service"},
		{Error{Type: "modify", Condition: "jid-malformed"}, "jid-malformed"},
		{Error{Type: "wait"}, "stanza error (wait)"},
	}
	for _, tc := range tests {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.e, got, tc.want)
		}
	}
}
