package xmpptest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/steward-xmpp/steward/internal/testenv"
	"github.com/steward-xmpp/steward/internal/xmpptest"
)

func connect(t *testing.T, ctx context.Context, p *testenv.Prosody, user string) *xmpptest.Client {
	t.Helper()
	p.MustRegister(t, user, "pass-"+user)
	c, err := xmpptest.Connect(ctx, p.Addr(), user+"@localhost/test", "pass-"+user)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestModeratedRoomScenario walks the voice workflow a moderation bot sees:
// a visitor cannot speak, asks for voice, the owner grants it, and the
// visitor's words reach the room. Then invitations, a nick change and a ban.
func TestModeratedRoomScenario(t *testing.T) {
	p := testenv.MustProsody(t, testenv.ProsodyOptions{})
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	owner := connect(t, ctx, p, "owner")
	visitor := connect(t, ctx, p, "visitor")
	room := "agora@" + p.MUC()

	self, err := owner.CreateRoom(ctx, room, "Owner", map[string][]string{
		"muc#roomconfig_moderatedroom":  {"1"},
		"muc#roomconfig_persistentroom": {"1"},
		"muc#roomconfig_whois":          {"moderators"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !self.HasStatus(201) || len(self.Items) != 1 || self.Items[0].Affiliation != "owner" {
		t.Fatalf("owner's self-presence = %s %+v, want a new room (201) with us as owner", self, self.Items)
	}

	vself, err := visitor.Join(ctx, room, "Vic")
	if err != nil {
		t.Fatal(err)
	}
	if len(vself.Items) != 1 || vself.Items[0].Role != "visitor" {
		t.Fatalf("visitor joined with items %+v, want role visitor", vself.Items)
	}
	if vself.OccupantID == "" {
		t.Error("self-presence carries no occupant-id")
	}
	if _, err := owner.WaitFor(ctx, xmpptest.PresenceOf(room, "Vic")); err != nil {
		t.Fatal(err)
	}

	id, err := visitor.SendGroupchat(ctx, room, "may I?")
	if err != nil {
		t.Fatal(err)
	}
	refusal, err := visitor.WaitFor(ctx, xmpptest.ErrorReply(id))
	if err != nil {
		t.Fatal(err)
	}
	if refusal.Error != "forbidden" {
		t.Errorf("visitor's groupchat answered %q, want forbidden", refusal.Error)
	}

	if err := visitor.SendVoiceRequest(ctx, room); err != nil {
		t.Fatal(err)
	}
	req, err := owner.WaitFor(ctx, xmpptest.FormOf(xmpptest.NSMUCRequest))
	if err != nil {
		t.Fatal(err)
	}
	if got := req.FormValue("muc#roomnick"); got != "Vic" {
		t.Errorf("voice request muc#roomnick = %q, want Vic", got)
	}
	if got := req.FormValue("muc#jid"); !strings.HasPrefix(got, "visitor@localhost") {
		t.Errorf("voice request muc#jid = %q, want visitor@localhost/…", got)
	}
	if req.From != room || req.Type != "normal" {
		t.Errorf("voice request came as <message type=%q from=%q>, want normal from the room", req.Type, req.From)
	}

	mark := visitor.Mark()
	if err := owner.SetRole(ctx, room, "Vic", "participant"); err != nil {
		t.Fatal(err)
	}
	voiced, err := visitor.WaitAfter(ctx, mark, func(st xmpptest.Stanza) bool {
		return st.From == room+"/Vic" && st.HasStatus(110) && len(st.Items) == 1 && st.Items[0].Role == "participant"
	})
	if err != nil {
		t.Fatal(err)
	}
	if voiced.Type != "" {
		t.Errorf("voice grant presence type %q", voiced.Type)
	}
	if _, err := visitor.SendGroupchat(ctx, room, "thank you"); err != nil {
		t.Fatal(err)
	}
	heard, err := owner.WaitFor(ctx, xmpptest.BodyIs("thank you"))
	if err != nil {
		t.Fatal(err)
	}
	if heard.From != room+"/Vic" || heard.StanzaID == "" || heard.StanzaBy != room {
		t.Errorf("groupchat from %q stanza-id %q by %q, want from Vic with a room stanza-id", heard.From, heard.StanzaID, heard.StanzaBy)
	}
	if !strings.Contains(heard.Raw, "<body>thank you</body>") {
		t.Errorf("Raw lacks the body: %s", heard.Raw)
	}

	// Invitations: a mediated one arrives from the room, a direct one from
	// the inviter's real JID.
	guest := connect(t, ctx, p, "guest")
	if err := owner.Invite(ctx, room, "guest@localhost", "come in"); err != nil {
		t.Fatal(err)
	}
	mediated, err := guest.WaitFor(ctx, func(st xmpptest.Stanza) bool { return st.Invite != nil })
	if err != nil {
		t.Fatal(err)
	}
	if mediated.From != room || mediated.Invite.Reason != "come in" {
		t.Errorf("mediated invite from %q reason %q", mediated.From, mediated.Invite.Reason)
	}
	if err := owner.DirectInvite(ctx, "guest@localhost", room, "see you"); err != nil {
		t.Fatal(err)
	}
	direct, err := guest.WaitFor(ctx, func(st xmpptest.Stanza) bool {
		return st.Conference != nil && st.Conference.Reason == "see you"
	})
	if err != nil {
		t.Fatal(err)
	}
	if direct.Conference.JID != room || !strings.HasPrefix(direct.From, "owner@localhost") {
		t.Errorf("direct invite from %q for %q", direct.From, direct.Conference.JID)
	}

	// Nick change, then a ban that keeps the visitor out.
	renamed, err := visitor.ChangeNick(ctx, room, "Victor")
	if err != nil {
		t.Fatal(err)
	}
	if renamed.From != room+"/Victor" || renamed.OccupantID != vself.OccupantID {
		t.Errorf("after nick change: from %q occupant-id %q, want Victor with the same id %q", renamed.From, renamed.OccupantID, vself.OccupantID)
	}
	mark = visitor.Mark()
	if err := owner.SetAffiliation(ctx, room, "visitor@localhost", "outcast"); err != nil {
		t.Fatal(err)
	}
	banned, err := visitor.WaitAfter(ctx, mark, func(st xmpptest.Stanza) bool {
		return st.Type == "unavailable" && st.HasStatus(110)
	})
	if err != nil {
		t.Fatal(err)
	}
	if !banned.HasStatus(301) {
		t.Errorf("ban self-presence status %v, want 301", banned.Status)
	}
	cond, err := visitor.JoinErr(ctx, room, "Vic")
	if err != nil {
		t.Fatal(err)
	}
	if cond != "forbidden" {
		t.Errorf("banned rejoin refused with %q, want forbidden", cond)
	}
	if err := owner.SetRole(ctx, room, "Nobody", "none"); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Errorf("kicking an absent nick = %v, want a refusal", err)
	}
	if err := owner.Leave(ctx, room, "Owner"); err != nil {
		t.Fatal(err)
	}
}
