package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/steward-xmpp/steward/internal/app"
	"github.com/steward-xmpp/steward/internal/config"
	"github.com/steward-xmpp/steward/internal/stewardtest"
	"github.com/steward-xmpp/steward/internal/testenv"
	"github.com/steward-xmpp/steward/internal/xmpptest"
	"github.com/steward-xmpp/steward/vetting"
)

// vetWait bounds every wait in these tests: generous, because the machine
// is shared and slow moments must not fail a test.
const vetWait = 30 * time.Second

// vetEnv is one private Prosody + Redis with a moderated room that runs
// the vetting policy, and the clients most scenarios need. The officer is
// listed in the room's officers only: it is not an occupant, let alone a
// moderator, and works the queue by direct message to Steward.
type vetEnv struct {
	t       *testing.T
	env     *stewardtest.Env
	room    string
	local   string // the room's local part, as officers type it
	owner   *xmpptest.Client
	officer *xmpptest.Client
	st      *stewardtest.Steward
}

// startVetting creates room name and starts Steward with the vetting
// policy on, notify_batch 1s, plus the vetting keys in extra (one
// "key: value" per line).
func startVetting(t *testing.T, name string, extra ...string) *vetEnv {
	t.Helper()
	env := stewardtest.NewEnv(t, testenv.ProsodyOptions{})
	v := &vetEnv{t: t, env: env, room: env.Room(name), local: name}
	v.owner = moderatedRoom(t, env, name)
	keys := append([]string{"enabled: true", "notify_batch: 1s"}, extra...)
	v.st = env.Start(`rooms:
  - jid: ` + v.room + `
    officers: [officer@localhost]
    policies:
      vetting:
        ` + strings.Join(keys, "\n        ") + "\n")
	v.st.WaitReady(vetWait)
	v.officer = env.Client("officer")
	return v
}

// fromBot matches a direct message from Steward's account whose body
// contains every one of parts.
func (v *vetEnv) fromBot(parts ...string) func(xmpptest.Stanza) bool {
	bot := v.env.JID("bot")
	return func(s xmpptest.Stanza) bool {
		if s.Name != "message" || s.Type != "chat" || s.Bare() != bot {
			return false
		}
		for _, p := range parts {
			if !strings.Contains(s.Body, p) {
				return false
			}
		}
		return true
	}
}

// roleIs matches room/nick's presence with role.
func (v *vetEnv) roleIs(nick, role string) func(xmpptest.Stanza) bool {
	return func(s xmpptest.Stanza) bool {
		return s.Name == "presence" && s.Type == "" && s.From == v.room+"/"+nick && len(s.Items) > 0 && s.Items[0].Role == role
	}
}

// command sends line to Steward by direct message from c and returns the
// reply whose body contains every one of want.
func (v *vetEnv) command(c *xmpptest.Client, line string, want ...string) xmpptest.Stanza {
	v.t.Helper()
	ctx := stewardtest.Ctx(v.t, vetWait)
	mark := c.Mark()
	_, err := c.SendChat(ctx, v.env.JID("bot"), line)
	stewardtest.MustOK(v.t, err, "send %q", line)
	st, err := c.WaitAfter(ctx, mark, v.fromBot(want...))
	stewardtest.MustOK(v.t, err, "reply to %q containing %q", line, want)
	return st
}

// join enters the room as nick and checks the role the room gave.
func (v *vetEnv) join(c *xmpptest.Client, nick, role string) {
	v.t.Helper()
	st, err := c.Join(stewardtest.Ctx(v.t, vetWait), v.room, nick)
	stewardtest.MustOK(v.t, err, "join as %s", nick)
	if len(st.Items) == 0 || st.Items[0].Role != role {
		v.t.Fatalf("%s joined as %+v, want role %s", nick, st.Items, role)
	}
}

// wait waits on c for a stanza after mark matching pred.
func (v *vetEnv) wait(c *xmpptest.Client, mark int, what string, pred func(xmpptest.Stanza) bool) xmpptest.Stanza {
	v.t.Helper()
	st, err := c.WaitAfter(stewardtest.Ctx(v.t, vetWait), mark, pred)
	stewardtest.MustOK(v.t, err, "%s", what)
	return st
}

// A visitor's voice-request form reaches the queue; an officer who is not a
// moderator approves it by DM; the visitor can speak; and after leaving and
// rejoining gets voice back without any officer.
func TestIntegrationVettingFormRequestApprovedByDM(t *testing.T) {
	v := startVetting(t, "vet")
	ctx := stewardtest.Ctx(t, vetWait)
	visitor := v.env.Client("visitor")
	v.join(visitor, "Vis", "visitor")

	vm, om := visitor.Mark(), v.officer.Mark()
	stewardtest.MustOK(t, visitor.SendVoiceRequest(ctx, v.room), "voice request")
	v.wait(visitor, vm, "applicant told it is queued", v.fromBot("your voice request in "+v.room+" is queued (position 1 of 1)"))
	v.wait(v.officer, om, "officer notified by DM with the number",
		v.fromBot("New voice request in "+v.room, "#1 Vis — visitor@localhost · via form"))

	v.command(v.officer, "queue "+v.local, "1 pending voice request in "+v.room, "#1 Vis — visitor@localhost · via form")

	vm = visitor.Mark()
	v.command(v.officer, "approve "+v.local+" #1 Glad to have you.", "Approved Vis (visitor@localhost): voice, remembered.")
	v.wait(visitor, vm, "visitor gets voice", v.roleIs("Vis", "participant"))
	v.wait(visitor, vm, "visitor welcomed", v.fromBot("You have voice now. Welcome!", "Glad to have you."))

	// The visitor can speak now: the owner sees the message in the room.
	owm := v.owner.Mark()
	_, err := visitor.SendGroupchat(ctx, v.room, "hello from Vis")
	stewardtest.MustOK(t, err, "visitor speaks")
	v.wait(v.owner, owm, "owner sees the visitor's message", func(s xmpptest.Stanza) bool {
		return s.Name == "message" && s.Type == "groupchat" && s.From == v.room+"/Vis" && s.Body == "hello from Vis"
	})

	// Prosody forgets voice on leave; Steward gives it back, with no officer.
	stewardtest.MustOK(t, visitor.Leave(ctx, v.room, "Vis"), "leave")
	vm = visitor.Mark()
	v.join(visitor, "Vis", "visitor")
	v.wait(visitor, vm, "approved visitor gets voice back on rejoin", v.roleIs("Vis", "participant"))
}

// A nick-marker request reaches the queue; ask relays an officer's question
// (without the officer's JID) and the answer back; deny sends the reason.
func TestIntegrationVettingMarkerAskDeny(t *testing.T) {
	v := startVetting(t, "vet")
	ctx := stewardtest.Ctx(t, vetWait)
	anna := v.env.Client("visitor2")
	v.join(anna, "Anna", "visitor")

	am, om := anna.Mark(), v.officer.Mark()
	_, err := anna.ChangeNick(ctx, v.room, "?Anna")
	stewardtest.MustOK(t, err, "nick marker")
	v.wait(anna, am, "applicant told it is queued", v.fromBot("is queued (position 1 of 1)"))
	v.wait(v.officer, om, "officer notified", v.fromBot("New voice request in "+v.room, "#1 ?Anna — visitor2@localhost · via marker"))
	v.command(v.officer, "queue "+v.local, "#1 ?Anna — visitor2@localhost · via marker")

	// ask: the question reaches the applicant from Steward, not the officer.
	am = anna.Mark()
	v.command(v.officer, "ask "+v.local+" #1 What brings you here?", "Asked ?Anna.")
	q := v.wait(anna, am, "question relayed", v.fromBot("A vetting officer of "+v.room+" asks:", "What brings you here?"))
	if strings.Contains(q.Raw, "officer@") {
		t.Errorf("the relayed question shows the officer's JID: %s", q.Raw)
	}
	om = v.officer.Mark()
	_, err = anna.SendChat(ctx, v.env.JID("bot"), "I maintain an XMPP client.")
	stewardtest.MustOK(t, err, "answer")
	v.wait(v.officer, om, "answer relayed to the officer",
		v.fromBot("?Anna (#1) in "+v.room+" answers your question \"What brings you here?\"", "I maintain an XMPP client."))

	// deny: the applicant gets the reason.
	am = anna.Mark()
	v.command(v.officer, "deny "+v.local+" #1 please read the rules first", "Denied ?Anna (visitor2@localhost); they were told.")
	v.wait(anna, am, "reason sent", v.fromBot("your voice request was declined: please read the rules first."))
	v.command(v.officer, "queue "+v.local, "No pending voice requests in "+v.room)
}

// A member vouches, in the room and by DM: the newcomer gets voice at once
// and the voucher is on record.
func TestIntegrationVettingVouch(t *testing.T) {
	v := startVetting(t, "vet")
	ctx := stewardtest.Ctx(t, vetWait)
	stewardtest.MustOK(t, v.owner.SetAffiliation(ctx, v.room, v.env.JID("member"), "member"), "make member")
	member := v.env.Client("member")
	v.join(member, "Mem", "participant")
	visitor := v.env.Client("visitor")
	v.join(visitor, "Vis", "visitor")
	anna := v.env.Client("visitor2")
	v.join(anna, "Anna", "visitor")

	// In the room.
	vm, mm, om := visitor.Mark(), member.Mark(), v.officer.Mark()
	_, err := member.SendGroupchat(ctx, v.room, "!vouch Vis")
	stewardtest.MustOK(t, err, "vouch in room")
	v.wait(visitor, vm, "vouched visitor gets voice", v.roleIs("Vis", "participant"))
	v.wait(member, mm, "voucher thanked in the room", func(s xmpptest.Stanza) bool {
		return s.Type == "groupchat" && s.From == v.room+"/Steward" && strings.HasPrefix(s.Body, "Mem: Thank you. Vis has voice now.")
	})
	v.wait(v.officer, om, "officers told who vouched",
		v.fromBot("Mem (member@localhost) vouched for Vis (visitor@localhost) in "+v.room+"; voice granted."))

	// By direct message.
	am := anna.Mark()
	v.command(member, "vouch "+v.local+" Anna", "Thank you. Anna has voice now.")
	v.wait(anna, am, "second vouchee gets voice", v.roleIs("Anna", "participant"))

	v.command(v.officer, "vetting record visitor@localhost", "Vetting record of visitor@localhost", "vouched for by member@localhost", "(vouch)")
	v.command(v.officer, "vetting record member@localhost", "vouched for visitor@localhost", "vouched for visitor2@localhost",
		"has vouched for 2 people, 0 of them banned since")
}

// Outside vetting hours the applicant is told when vetting resumes.
func TestIntegrationVettingClosedHours(t *testing.T) {
	// A one-hour window three days from today (UTC) is closed now whatever
	// the time of day, and the next opening is exactly known.
	now := time.Now().UTC()
	day := now.AddDate(0, 0, 3)
	hours := day.Weekday().String()[:3] + " 10:00-11:00 UTC"
	v := startVetting(t, "vet", `hours: "`+hours+`"`)
	ctx := stewardtest.Ctx(t, vetWait)
	visitor := v.env.Client("visitor")
	v.join(visitor, "Vis", "visitor")

	resumes := fmt.Sprintf("%s 10:00 (UTC)", day.Weekday().String()[:3])
	vm := visitor.Mark()
	stewardtest.MustOK(t, visitor.SendVoiceRequest(ctx, v.room), "voice request")
	v.wait(visitor, vm, "applicant told when vetting resumes",
		v.fromBot("is queued (position 1 of 1)", "Vetting is closed now and resumes "+resumes+"."))
	v.command(v.officer, "queue "+v.local, "#1 Vis — visitor@localhost", "Vetting hours are closed now; they resume "+resumes+".")
}

// Accounts of a denied server are refused, by join and by form.
func TestIntegrationVettingDeniedServer(t *testing.T) {
	v := startVetting(t, "closed", "denied_servers: [localhost]")
	ctx := stewardtest.Ctx(t, vetWait)
	visitor := v.env.Client("visitor")
	refused := v.fromBot("Sorry, accounts from localhost are not accepted for voice in " + v.room + ".")

	vm := visitor.Mark()
	v.join(visitor, "Vis", "visitor")
	v.wait(visitor, vm, "refused on join", refused)

	vm = visitor.Mark()
	stewardtest.MustOK(t, visitor.SendVoiceRequest(ctx, v.room), "voice request")
	v.wait(visitor, vm, "form request refused", refused)
	v.command(v.officer, "queue "+v.local, "No pending voice requests in "+v.room)
}

// A restart of Steward loses no queue entry.
func TestIntegrationVettingQueueSurvivesRestart(t *testing.T) {
	v := startVetting(t, "vet")
	ctx := stewardtest.Ctx(t, vetWait)
	visitor := v.env.Client("visitor")
	v.join(visitor, "Vis", "visitor")
	vm := visitor.Mark()
	stewardtest.MustOK(t, visitor.SendVoiceRequest(ctx, v.room), "voice request")
	v.wait(visitor, vm, "queued", v.fromBot("is queued (position 1 of 1)"))
	v.command(v.officer, "queue "+v.local, "#1 Vis — visitor@localhost · via form")

	v.st.Stop()
	st := v.env.StartFile(v.st.Path, zaptest.NewLogger(t, zaptest.Level(zap.InfoLevel)))
	st.WaitReady(vetWait)

	v.command(v.officer, "queue "+v.local, "1 pending voice request in "+v.room, "#1 Vis — visitor@localhost · via form")
	vm = visitor.Mark()
	v.command(v.officer, "approve "+v.local+" #1", "Approved Vis (visitor@localhost)")
	v.wait(visitor, vm, "approved after the restart", v.roleIs("Vis", "participant"))
}

// config.example.yaml shows every vetting key with its default, and its
// worked example loads with the real policies.
func TestVettingConfigExample(t *testing.T) {
	const path = "../../config.example.yaml"
	cfg, err := app.Load(path, nil)
	if err != nil {
		t.Fatalf("%s:\n%s", path, config.FormatErrors(err))
	}
	got := cfg.Rooms[0].Policies["vetting"].Config
	if diff := cmp.Diff(vetting.Defaults(), got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("the example's vetting block is not the defaults (-defaults +example):\n%s", diff)
	}

	// The worked example is a commented room: uncomment it and load it.
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(b), "# A worked example")
	if !ok {
		t.Fatal("config.example.yaml lacks the vetting worked example")
	}
	var room []string
	for _, line := range strings.Split(after, "\n")[1:] {
		trimmed := strings.TrimSpace(line)
		if !strings.HasPrefix(trimmed, "#") {
			break
		}
		if rest, ok := strings.CutPrefix(trimmed, "#   "); ok {
			room = append(room, "  "+rest)
		}
	}
	if len(room) == 0 {
		t.Fatal("the worked example has no room")
	}
	file := filepath.Join(t.TempDir(), "example.yaml")
	text := "xmpp: {jid: steward@example.org, password: x}\nrooms:\n" + strings.Join(room, "\n") + "\n"
	stewardtest.MustOK(t, os.WriteFile(file, []byte(text), 0o600), "write")
	ex, err := app.Load(file, nil)
	if err != nil {
		t.Fatalf("the worked example:\n%s\n%s", text, config.FormatErrors(err))
	}
	vc, ok := ex.Rooms[0].Policies["vetting"].Config.(*vetting.Config)
	if !ok || !ex.Rooms[0].Policies["vetting"].Enabled || vc.Marker != "☝" || vc.VouchEffect != vetting.VouchPrioritise {
		t.Errorf("the worked example loaded as %+v", ex.Rooms[0].Policies["vetting"])
	}
}
