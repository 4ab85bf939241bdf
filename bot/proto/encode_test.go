package proto

import (
	"bytes"
	"encoding/xml"
	"testing"

	"mellium.im/xmlstream"
)

func encode(t testing.TB, r xml.TokenReader) string {
	t.Helper()
	var b bytes.Buffer
	e := xml.NewEncoder(&b)
	if _, err := xmlstream.Copy(e, r); err != nil {
		t.Fatalf("encode: %v", err)
	}
	if err := e.Flush(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func mustRetract(t testing.TB, ns, id, reason string) xml.TokenReader {
	t.Helper()
	r, err := Retract(ns, id, reason)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestEncode(t *testing.T) {
	rep := &Report{Reason: ReasonSpam, Text: "join spam"}
	tests := []struct {
		name string
		r    xml.TokenReader
		want string
	}{
		{"initial presence", InitialPresence(), `<presence></presence>`},
		{"join no history", JoinPresence("j1", "agora@conf.example/Steward", "", 0),
			`<presence id="j1" to="agora@conf.example/Steward"><x xmlns="http://jabber.org/protocol/muc"><history maxstanzas="0"></history></x></presence>`},
		{"join default history with password", JoinPresence("", "agora@conf.example/Steward", "s<3", -1),
			`<presence to="agora@conf.example/Steward"><x xmlns="http://jabber.org/protocol/muc"><password>s&lt;3</password></x></presence>`},
		{"nick change", NickPresence("n1", "agora@conf.example/Steward2"),
			`<presence id="n1" to="agora@conf.example/Steward2"></presence>`},
		{"leave", UnavailablePresence("", "agora@conf.example/Steward", "restarting"),
			`<presence to="agora@conf.example/Steward" type="unavailable"><status>restarting</status></presence>`},
		{"leave no status", UnavailablePresence("", "agora@conf.example/Steward", ""),
			`<presence to="agora@conf.example/Steward" type="unavailable"></presence>`},
		{"groupchat", TextMessage("m1", "agora@conf.example", "groupchat", "hi & bye"),
			`<message id="m1" to="agora@conf.example" type="groupchat"><body>hi &amp; bye</body></message>`},
		{"empty type becomes normal (B5)", TextMessage("", "alice@example.org", "", "hello"),
			`<message to="alice@example.org" type="normal"><body>hello</body></message>`},
		{"voice request", VoiceRequestForm("v1", "agora@conf.example"),
			`<message id="v1" to="agora@conf.example" type="normal"><x xmlns="jabber:x:data" type="submit"><field var="FORM_TYPE" type="hidden"><value>http://jabber.org/protocol/muc#request</value></field><field var="muc#role"><value>participant</value></field></x></message>`},
		{"voice approval keeps full JID and forces participant", VoiceApproval("", "agora@conf.example", VoiceRequest{JID: "alice@example.org/phone", Nick: "alice", Role: "moderator"}),
			`<message to="agora@conf.example" type="normal"><x xmlns="jabber:x:data" type="submit"><field var="FORM_TYPE" type="hidden"><value>http://jabber.org/protocol/muc#request</value></field><field var="muc#jid"><value>alice@example.org/phone</value></field><field var="muc#request_allow"><value>true</value></field><field var="muc#role"><value>participant</value></field><field var="muc#roomnick"><value>alice</value></field></x></message>`},
		{"direct invite", DirectInviteMessage("", "bob@example.org", "agora@conf.example", "join us"),
			`<message to="bob@example.org" type="normal"><x xmlns="jabber:x:conference" jid="agora@conf.example" reason="join us"></x></message>`},
		{"mediated invite", MediatedInvite("", "agora@conf.example", "bob@example.org", "join us"),
			`<message to="agora@conf.example" type="normal"><x xmlns="http://jabber.org/protocol/muc#user"><invite to="bob@example.org"><reason>join us</reason></invite></x></message>`},
		{"role item", RoleItem("mallory", "none", "spam"),
			`<query xmlns="http://jabber.org/protocol/muc#admin"><item nick="mallory" role="none"><reason>spam</reason></item></query>`},
		{"role item odd nick no reason", RoleItem("\u1160", "participant", ""),
			`<query xmlns="http://jabber.org/protocol/muc#admin"><item nick="` + "\u1160" + `" role="participant"></item></query>`},
		{"affiliation item", AffiliationItem("mallory@evil.example", "outcast", "listed"),
			`<query xmlns="http://jabber.org/protocol/muc#admin"><item affiliation="outcast" jid="mallory@evil.example"><reason>listed</reason></item></query>`},
		{"affiliation list", ListQuery("outcast"),
			`<query xmlns="http://jabber.org/protocol/muc#admin"><item affiliation="outcast"></item></query>`},
		{"role list", RoleListQuery("moderator"),
			`<query xmlns="http://jabber.org/protocol/muc#admin"><item role="moderator"></item></query>`},
		{"config query", ConfigQuery(), `<query xmlns="http://jabber.org/protocol/muc#owner"></query>`},
		{"config submit", ConfigSubmit(map[string][]string{
			"muc#roomconfig_moderatedroom":     {"1"},
			"muc#roomconfig_presencebroadcast": {"moderator", "participant"},
			"muc#roomconfig_roomdesc":          {""},
			"muc#roomconfig_roomsecret":        nil,
			"FORM_TYPE":                        {"ignored"},
		}),
			`<query xmlns="http://jabber.org/protocol/muc#owner"><x xmlns="jabber:x:data" type="submit"><field var="FORM_TYPE" type="hidden"><value>http://jabber.org/protocol/muc#roomconfig</value></field><field var="muc#roomconfig_moderatedroom"><value>1</value></field><field var="muc#roomconfig_presencebroadcast"><value>moderator</value><value>participant</value></field><field var="muc#roomconfig_roomdesc"><value></value></field><field var="muc#roomconfig_roomsecret"></field></x></query>`},
		{"config submit text-multi with newline (B7)", ConfigSubmit(map[string][]string{"muc#roomconfig_roomdesc": {"a\n", ""}}),
			`<query xmlns="http://jabber.org/protocol/muc#owner"><x xmlns="jabber:x:data" type="submit"><field var="FORM_TYPE" type="hidden"><value>http://jabber.org/protocol/muc#roomconfig</value></field><field var="muc#roomconfig_roomdesc"><value>a` + "\n" + `</value><value></value></field></x></query>`},
		{"cancel config", CancelConfig(),
			`<query xmlns="http://jabber.org/protocol/muc#owner"><x xmlns="jabber:x:data" type="cancel"></x></query>`},
		{"destroy", DestroyQuery("closing"),
			`<query xmlns="http://jabber.org/protocol/muc#owner"><destroy><reason>closing</reason></destroy></query>`},
		{"disco", DiscoInfoQuery(""), `<query xmlns="http://jabber.org/protocol/disco#info"></query>`},
		{"disco node", DiscoInfoQuery("x#y"), `<query xmlns="http://jabber.org/protocol/disco#info" node="x#y"></query>`},
		{"ping", PingPayload(), `<ping xmlns="urn:xmpp:ping"></ping>`},
		{"moderate v0", mustRetract(t, NSModerate0, "sid-1", "spam"),
			`<apply-to xmlns="urn:xmpp:fasten:0" id="sid-1"><moderate xmlns="urn:xmpp:message-moderate:0"><retract xmlns="urn:xmpp:message-retract:0"></retract><reason>spam</reason></moderate></apply-to>`},
		{"moderate v1", mustRetract(t, NSModerate1, "sid-1", "spam"),
			`<moderate xmlns="urn:xmpp:message-moderate:1" id="sid-1"><retract xmlns="urn:xmpp:message-retract:1"></retract><reason>spam</reason></moderate>`},
		{"moderate v1 no reason", mustRetract(t, NSModerate1, "sid-1", ""),
			`<moderate xmlns="urn:xmpp:message-moderate:1" id="sid-1"><retract xmlns="urn:xmpp:message-retract:1"></retract></moderate>`},
		{"subscribe", Subscribe("muc_bans_sha256", "steward@example.org"),
			`<pubsub xmlns="http://jabber.org/protocol/pubsub"><subscribe node="muc_bans_sha256" jid="steward@example.org"></subscribe></pubsub>`},
		{"unsubscribe", Unsubscribe("muc_bans_sha256", "steward@example.org"),
			`<pubsub xmlns="http://jabber.org/protocol/pubsub"><unsubscribe node="muc_bans_sha256" jid="steward@example.org"></unsubscribe></pubsub>`},
		{"items all", ItemsQuery("muc_bans_sha256", 0),
			`<pubsub xmlns="http://jabber.org/protocol/pubsub"><items node="muc_bans_sha256"></items></pubsub>`},
		{"items max", ItemsQuery("muc_bans_sha256", 50),
			`<pubsub xmlns="http://jabber.org/protocol/pubsub"><items node="muc_bans_sha256" max_items="50"></items></pubsub>`},
		{"publish report", Publish("muc_bans_sha256", "abc", rep),
			`<pubsub xmlns="http://jabber.org/protocol/pubsub"><publish node="muc_bans_sha256"><item id="abc"><report xmlns="urn:xmpp:reporting:1" reason="urn:xmpp:reporting:spam"><text>join spam</text></report></item></publish></pubsub>`},
		{"publish nil report", Publish("muc_bans_sha256", "abc", nil),
			`<pubsub xmlns="http://jabber.org/protocol/pubsub"><publish node="muc_bans_sha256"><item id="abc"><report xmlns="urn:xmpp:reporting:1" reason="urn:xmpp:reporting:abuse"></report></item></publish></pubsub>`},
		{"retract notify", RetractItem("muc_bans_sha256", "abc", true),
			`<pubsub xmlns="http://jabber.org/protocol/pubsub"><retract node="muc_bans_sha256" notify="true"><item id="abc"></item></retract></pubsub>`},
		{"retract quiet", RetractItem("muc_bans_sha256", "abc", false),
			`<pubsub xmlns="http://jabber.org/protocol/pubsub"><retract node="muc_bans_sha256"><item id="abc"></item></retract></pubsub>`},
		{"create default", CreateNode("muc_bans_sha256", nil),
			`<pubsub xmlns="http://jabber.org/protocol/pubsub"><create node="muc_bans_sha256"></create></pubsub>`},
		{"create configured", CreateNode("muc_bans_sha256", map[string][]string{"pubsub#access_model": {"open"}, "pubsub#max_items": {"max"}}),
			`<pubsub xmlns="http://jabber.org/protocol/pubsub"><create node="muc_bans_sha256"></create><configure><x xmlns="jabber:x:data" type="submit"><field var="FORM_TYPE" type="hidden"><value>http://jabber.org/protocol/pubsub#node_config</value></field><field var="pubsub#access_model"><value>open</value></field><field var="pubsub#max_items"><value>max</value></field></x></configure></pubsub>`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := encode(t, tc.r); got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func TestRetractUnknownNamespace(t *testing.T) {
	if _, err := Retract("urn:xmpp:message-moderate:2", "x", ""); err == nil {
		t.Fatal("Retract accepted an unknown namespace")
	}
}
