package e2e

import (
	"testing"
	"time"

	"github.com/steward-xmpp/steward/internal/stewardtest"
	"github.com/steward-xmpp/steward/internal/testenv"
	"github.com/steward-xmpp/steward/internal/xmpptest"
)

// moderatedRoom creates a persistent moderated room owned by "owner" with
// the bot as admin, and returns the owner's client.
func moderatedRoom(t *testing.T, env *stewardtest.Env, name string) *xmpptest.Client {
	t.Helper()
	ctx := stewardtest.Ctx(t, 20*time.Second)
	owner := env.Client("owner")
	_, err := owner.CreateRoom(ctx, env.Room(name), "Owner", map[string][]string{
		"muc#roomconfig_moderatedroom":  {"1"},
		"muc#roomconfig_persistentroom": {"1"},
		"muc#roomconfig_whois":          {"moderators"},
	})
	stewardtest.MustOK(t, err, "create room")
	stewardtest.MustOK(t, owner.SetAffiliation(ctx, env.Room(name), env.JID("bot"), "admin"), "make bot admin")
	return owner
}

func TestIntegrationSmokeVoiceByCommand(t *testing.T) {
	env := stewardtest.NewEnv(t, testenv.ProsodyOptions{})
	owner := moderatedRoom(t, env, "smoke")
	room := env.Room("smoke")
	st := env.Start(`rooms:
  - jid: ` + room + `
    officers: [officer@localhost]
`)
	st.WaitReady(15 * time.Second)
	ctx := stewardtest.Ctx(t, 30*time.Second)
	visitor := env.Client("visitor")
	_, err := visitor.Join(ctx, room, "Vis")
	stewardtest.MustOK(t, err, "visitor join")
	officer := env.Client("officer")
	mark := visitor.Mark()
	_, err = officer.SendChat(ctx, env.JID("bot"), "voice Vis")
	stewardtest.MustOK(t, err, "officer DM")
	_, err = visitor.WaitAfter(ctx, mark, func(s xmpptest.Stanza) bool {
		return s.Name == "presence" && s.From == room+"/Vis" && len(s.Items) > 0 && s.Items[0].Role == "participant"
	})
	stewardtest.MustOK(t, err, "visitor gets voice")
	_, err = officer.WaitFor(ctx, func(s xmpptest.Stanza) bool { return s.Name == "message" && s.Body == "Vis: granted voice." })
	stewardtest.MustOK(t, err, "officer gets reply")
	_ = owner
}
