package e2e

import (
	"testing"
	"time"

	"github.com/steward-xmpp/steward/internal/stewardtest"
	"github.com/steward-xmpp/steward/internal/testenv"
	"github.com/steward-xmpp/steward/internal/xmpptest"
)

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
