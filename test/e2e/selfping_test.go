package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/steward-xmpp/steward/internal/stewardtest"
	"github.com/steward-xmpp/steward/internal/testenv"
)

// evictSilently removes the bot's seat inside Prosody without telling the
// bot (no presence is sent to it), as a server restart of the MUC host or
// a lost s2s link would: only XEP-0410 self-ping can notice it.
func evictSilently(t *testing.T, env *stewardtest.Env, room, nick string) {
	t.Helper()
	lua := fmt.Sprintf(`>local r = prosody.hosts[%q].modules.muc.get_room_from_jid(%q); `+
		`local o = r:get_occupant_by_nick(%q); local js = {}; `+
		`for j in o:each_session() do js[#js+1] = j end; `+
		`for _, j in ipairs(js) do o:remove_session(j) end; r:save_occupant(o); return 'evicted '..#js`,
		env.Prosody.MUC(), room, room+"/"+nick)
	out, err := env.Prosody.Shell(lua)
	if err != nil || !strings.Contains(out, "evicted 1") {
		t.Fatalf("evicting %s/%s in Prosody: %v %q", room, nick, err, out)
	}
}

// TestIntegrationSelfPingRejoins: the bot's seat vanishes without a
// presence; the next self-ping (every 2 s in the test config) fails with
// not-acceptable and the bot rejoins by itself.
func TestIntegrationSelfPingRejoins(t *testing.T) {
	env := stewardtest.NewEnv(t, testenv.ProsodyOptions{})
	owner := moderatedRoom(t, env, "selfping")
	room := env.Room("selfping")
	st := env.Start("rooms:\n  - jid: " + room + "\n    officers: [officer@localhost]\n")
	st.WaitReady(15 * time.Second)
	ctx := stewardtest.Ctx(t, 30*time.Second)
	mark := owner.Mark()
	evictSilently(t, env, room, "Steward")
	waitAfter(t, ctx, owner, mark, "Steward rejoins after its seat vanished", presenceOf(room, "Steward", ""))
	st.WaitReady(15 * time.Second)
	officer := env.Client("officer")
	commandWant(t, ctx, env, officer, "status", room+`: joined as "Steward"`)
}
