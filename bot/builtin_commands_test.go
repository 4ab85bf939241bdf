package bot

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"mellium.im/xmpp/jid"

	"github.com/steward-xmpp/steward/bot/proto"
	"github.com/steward-xmpp/steward/internal/config"
	"github.com/steward-xmpp/steward/policies"
)

// greeter is a policy with an instance command ("greet", for anyone) and
// an always-on spec command ("greeting", for members).
type greeter struct{ seen []policies.Event }

func (g *greeter) Handle(_ context.Context, ev policies.Event, _ policies.Room, _ policies.Actions) (policies.Verdict, error) {
	g.seen = append(g.seen, ev)
	return policies.Continue, nil
}

func (g *greeter) Commands() []policies.Command {
	return []policies.Command{{Name: "greet", Usage: "greet <nick>", Help: "Greets someone.", Level: policies.Anyone,
		Run: func(ctx context.Context, inv policies.Invocation, _ policies.Room, act policies.Actions) error {
			if len(inv.Args) != 1 {
				return policies.Usagef("say whom to greet")
			}
			return act.Say(ctx, "Hello, "+inv.Args[0]+"!")
		}}}
}

func greeterSpec(g *greeter) policies.Spec {
	return policies.Spec{
		Name: "greeter", Summary: "greets people (test)",
		NewConfig: func() policies.Config { return &noConfig{} },
		New:       func(policies.Config, policies.Deps) (policies.Policy, error) { return g, nil },
		Commands: []policies.Command{{Name: "greeting", Usage: "greeting", Help: "Shows the greeting.", Level: policies.Member,
			Run: func(ctx context.Context, inv policies.Invocation, _ policies.Room, _ policies.Actions) error {
				return inv.Reply(ctx, "Hello!")
			}}},
	}
}

// People in the command tests' room, by role in the permission model.
const (
	olgaJID = "olga@localhost" // owner
	adamJID = "adam@localhost" // admin
	ottoJID = "otto@localhost" // officer from the config, affiliation none
	mimiJID = "mimi@localhost" // member
	umaJID  = "uma@localhost"  // anyone (participant)
	vicJID  = "vic@localhost"  // anyone (visitor)
)

// newCommandRoom is a joined room where the bot is admin, with the people
// above seated under their local parts, otto an officer by config, and the
// greeter policy off unless greeterOn.
func newCommandRoom(t *testing.T, greeterOn bool) (*offline, *greeter) {
	t.Helper()
	g := &greeter{}
	o := newOffline(t, config.Room{Officers: []string{"Otto@Localhost"}, Policies: map[string]config.PolicyConfig{
		"greeter": {Enabled: greeterOn, Config: &noConfig{}},
	}}, greeterSpec(g))
	for _, p := range []struct {
		jid, role, aff string
	}{
		{olgaJID, "moderator", "owner"},
		{adamJID, "moderator", "admin"},
		{ottoJID, "participant", "none"},
		{mimiJID, "participant", "member"},
		{umaJID, "participant", "none"},
		{vicJID, "visitor", "none"},
	} {
		o.presence(t, localOf(p.jid), p.jid+"/res", p.role, p.aff, false)
	}
	o.presence(t, "Steward", evSelf, "moderator", "admin", true)
	if !o.r.Moderating() {
		t.Fatal("the bot does not moderate the test room")
	}
	o.rec.events = nil
	return o, g
}

// presence hands the room an occupant presence as Prosody sends it.
func (o *offline) presence(t *testing.T, nick, real, role, aff string, self bool) {
	t.Helper()
	seatIn(o.r, nick, real, role, aff, self)
}

// seatIn hands r an occupant presence (the bot's own when self).
func seatIn(r *room, nick, real, role, aff string, self bool) {
	p := &proto.Presence{MUC: true, OccupantID: "oid-" + nick, Items: []proto.Item{{Affiliation: aff, Role: role, JID: real}}}
	if self {
		p.Codes = []int{110}
	}
	r.onStanza(context.Background(), proto.Inbound{Name: "presence", From: r.addr.String() + "/" + nick, Presence: p}, evBase)
}

// run runs one command line as from would, in the room goroutine's place,
// and returns the replies.
func (o *offline) run(t *testing.T, from, line string) []string {
	t.Helper()
	var replies []string
	o.r.runCommand(context.Background(), &commandJob{from: jid.MustParse(from), line: line, at: evBase,
		reply: func(_ context.Context, text string) error {
			replies = append(replies, text)
			return nil
		}})
	return replies
}

// run1 runs a command that must answer exactly once.
func (o *offline) run1(t *testing.T, from, line string) string {
	t.Helper()
	replies := o.run(t, from, line)
	if len(replies) != 1 {
		t.Fatalf("%s: %q answered %d times: %q", from, line, len(replies), replies)
	}
	return replies[0]
}

func TestLevelOf(t *testing.T) {
	o, _ := newCommandRoom(t, false)
	for bare, want := range map[string]policies.Level{
		olgaJID: policies.Owner, "OLGA@localhost": policies.Owner,
		adamJID: policies.Admin,
		ottoJID: policies.Officer, "Otto@LOCALHOST": policies.Officer,
		mimiJID: policies.Member,
		umaJID:  policies.Anyone, vicJID: policies.Anyone, "stranger@elsewhere.example": policies.Anyone,
	} {
		if got := o.r.LevelOf(bare); got != want {
			t.Errorf("LevelOf(%s) = %s, want %s", bare, got, want)
		}
	}
	// An owner who is also an officer is still an owner.
	o.r.settings.OfficersAdded = []string{olgaJID, umaJID}
	if o.r.LevelOf(olgaJID) != policies.Owner || o.r.LevelOf(umaJID) != policies.Officer {
		t.Errorf("with runtime officers: olga %s, uma %s", o.r.LevelOf(olgaJID), o.r.LevelOf(umaJID))
	}
	o.r.settings.OfficersRemoved = []string{ottoJID}
	if o.r.LevelOf(ottoJID) != policies.Anyone {
		t.Errorf("an officer removed at run time is %s", o.r.LevelOf(ottoJID))
	}
}

func TestCommandAuthorisation(t *testing.T) {
	room := evRoom
	for _, tc := range []struct {
		name  string
		from  string
		line  string
		reply string // exact; "" for any one reply
		sent  []string
		// refused: the command did not run, so policies never heard of it.
		refused bool
	}{
		{name: "anyone may not kick", from: umaJID, line: "kick vic",
			reply: fmt.Sprintf(`"kick" needs officer level in %s; you are anyone there.`, room), refused: true},
		{name: "a member may not voice", from: mimiJID, line: "voice vic",
			reply: fmt.Sprintf(`"voice" needs officer level in %s; you are member there.`, room), refused: true},
		{name: "an officer may not enable policies", from: ottoJID, line: "policy enable greeter",
			reply: fmt.Sprintf(`"policy enable" needs admin level in %s; you are officer there.`, room), refused: true},
		{name: "case-insensitive command names", from: umaJID, line: "KICK vic",
			reply: fmt.Sprintf(`"kick" needs officer level in %s; you are anyone there.`, room), refused: true},
		{name: "officer kicks", from: ottoJID, line: "kick vic being rude", reply: "Kicked vic.",
			sent: []string{`role(agora@conference.localhost, vic, "none", "being rude")`}},
		{name: "officer voices", from: ottoJID, line: "voice vic", reply: "vic: granted voice.",
			sent: []string{`role(agora@conference.localhost, vic, "participant", "granted voice by an officer")`}},
		{name: "admin devoices", from: adamJID, line: `devoice uma "too loud"`, reply: "uma: revoked voice.",
			sent: []string{`role(agora@conference.localhost, uma, "visitor", "too loud")`}},
		{name: "owner bans by nick", from: olgaJID, line: "ban vic spam",
			sent: []string{`affiliation(agora@conference.localhost, vic@localhost, "outcast", "spam")`}},
		{name: "the guards still apply to officers", from: ottoJID, line: "kick adam",
			reply: "Could not do it: refused: adam@localhost is an admin here; Steward never acts against owners, admins, officers or itself"},
		{name: "officers cannot kick each other", from: adamJID, line: "kick otto",
			reply: "Could not do it: refused: otto@localhost is an officer here; Steward never acts against owners, admins, officers or itself"},
		{name: "unknown command", from: umaJID, line: "frobnicate now",
			reply: `I don't know the command "frobnicate". Say "help" for the list.`, refused: true},
		{name: "command of a policy that is off", from: umaJID, line: "greet vic",
			reply: fmt.Sprintf(`"greet" belongs to the greeter policy, which is not enabled in %s.`, room), refused: true},
		{name: "always-on spec command", from: mimiJID, line: "greeting", reply: "Hello!"},
		{name: "always-on spec command needs its level", from: umaJID, line: "greeting",
			reply: fmt.Sprintf(`"greeting" needs member level in %s; you are anyone there.`, room), refused: true},
		{name: "usage error shows the usage", from: ottoJID, line: "kick",
			reply: "say whom to kick\nUsage: kick <nick> [reason]"},
		{name: "nicks are case-sensitive", from: ottoJID, line: "kick VIC",
			reply: "nobody is called \"VIC\" here (nicks are case-sensitive)\nUsage: kick <nick> [reason]"},
		{name: "group without a subcommand shows its subcommands", from: ottoJID, line: "officer",
			reply: "Usage: officer list | officer add <jid> | officer remove <jid>", refused: true},
		{name: "unknown subcommand shows the group's usage", from: ottoJID, line: "policy frob",
			reply: "Usage: policy list | policy enable <name> | policy disable <name> | policy dryrun <name> [on|off]", refused: true},
		{name: "unclosed quote", from: ottoJID, line: `kick vic "rude`, reply: `unclosed quote "`, refused: true},
		{name: "bad flag", from: ottoJID, line: "ban vic --everywhere",
			reply: "unknown option --everywhere\nUsage: ban <nick|jid> [duration] [reason] [--share]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, _ := newCommandRoom(t, false)
			replies := o.run(t, tc.from, tc.line)
			if tc.reply != "" && (len(replies) != 1 || replies[0] != tc.reply) {
				t.Errorf("replies %q\nwant %q", replies, tc.reply)
			}
			if tc.reply == "" && len(replies) != 1 {
				t.Errorf("replies %q, want one", replies)
			}
			var sent []string
			for _, c := range o.tr.calls() {
				sent = append(sent, c.String())
			}
			if !slices.Equal(sent, tc.sent) {
				t.Errorf("sent %q\nwant %q", sent, tc.sent)
			}
			// Policies hear of commands that were allowed to run, only.
			var issued []string
			for _, ev := range o.rec.events {
				if c, ok := ev.(policies.CommandIssued); ok {
					issued = append(issued, c.By.String()+" "+c.Name)
				}
			}
			if tc.refused && len(issued) != 0 {
				t.Errorf("a refused command reached the policies: %q", issued)
			}
			if !tc.refused && len(issued) != 1 {
				t.Errorf("an allowed command was announced %d times: %q", len(issued), issued)
			}
		})
	}
}

// TestCommandNothingToSay: an empty line is no command and gets no answer.
func TestCommandNothingToSay(t *testing.T) {
	o, _ := newCommandRoom(t, false)
	if replies := o.run(t, ottoJID, "   "); len(replies) != 0 {
		t.Errorf("replies %q", replies)
	}
}

func TestPolicyCommandEnablesInstanceCommands(t *testing.T) {
	o, g := newCommandRoom(t, false)
	if got := o.run1(t, adamJID, "policy enable greeter"); got != "greeter is now on in "+evRoom+"." {
		t.Fatalf("enable: %q", got)
	}
	// Enabling lets the policy look at the room as it is now.
	if len(g.seen) == 0 || policies.EventName(g.seen[len(g.seen)-1]) != "joined_room" {
		t.Errorf("greeter saw %v after being enabled", eventNames(g.seen))
	}
	if got := o.run(t, umaJID, "greet vic"); len(got) != 0 {
		t.Errorf("greet replied %q", got)
	}
	calls := o.tr.calls()
	if len(calls) != 1 || calls[0].Op != "groupchat" || calls[0].Value != "Hello, vic!" {
		t.Errorf("sent %v", calls)
	}
	// The action is audited under the person who commanded it and the
	// policy the command belongs to.
	recs, err := o.st.Audit().Recent(context.Background(), evRoom, 10)
	if err != nil || len(recs) != 1 || recs[0].Actor != umaJID || recs[0].Policy != "greeter" {
		t.Errorf("audit %+v, %v", recs, err)
	}
	if got := o.run1(t, umaJID, "greet"); got != "say whom to greet\nUsage: greet <nick>" {
		t.Errorf("usage: %q", got)
	}
}

func TestPolicyCommandsPersist(t *testing.T) {
	o, _ := newCommandRoom(t, false)
	ctx := context.Background()
	for _, step := range []struct {
		from, line, reply string
	}{
		{adamJID, "policy disable recorder", "recorder is now off in " + evRoom + "."},
		{olgaJID, "policy dryrun greeter", "greeter dry-run is now on in " + evRoom + "."},
		{adamJID, "policy dryrun recorder off", "recorder dry-run is now off in " + evRoom + "."},
		{adamJID, "policy dryrun greeter maybe", "say on or off, got \"maybe\"\nUsage: policy dryrun <name> [on|off]"},
		{adamJID, "policy enable nope", "no policy \"nope\"; known: recorder, greeter\nUsage: policy enable <name>"},
		{adamJID, "policy enable", "say which policy\nUsage: policy enable <name>"},
		{ottoJID, "policy list", "recorder: off (from redis), dry-run off (from redis) — records every event (test)\n" +
			"greeter: off (from config), dry-run on (from redis) — greets people (test)"},
	} {
		if got := o.run1(t, step.from, step.line); got != step.reply {
			t.Errorf("%s: %q\n got %q\nwant %q", step.from, step.line, got, step.reply)
		}
	}
	set, err := o.st.Settings().Get(ctx, o.r.key)
	if err != nil {
		t.Fatal(err)
	}
	rec, gr := set.Policies["recorder"], set.Policies["greeter"]
	if rec.Enabled == nil || *rec.Enabled || rec.DryRun == nil || *rec.DryRun || gr.Enabled != nil || gr.DryRun == nil || !*gr.DryRun {
		t.Errorf("stored settings %+v", set.Policies)
	}
	// The disabled recorder hears nothing more.
	n := len(o.rec.events)
	o.presence(t, "late", "late@localhost/x", "participant", "none", false)
	if len(o.rec.events) != n {
		t.Error("a disabled policy still receives events")
	}
	// After a restart the room reads the settings back: they win over the
	// config file.
	again := o.addRoom(t, config.Room{JID: "Agora@Conference.Localhost", Officers: []string{ottoJID}, Policies: map[string]config.PolicyConfig{
		"recorder": {Enabled: true, Config: &noConfig{}},
		"greeter":  {Enabled: true, Config: &noConfig{}},
	}})
	if in := again.instance("recorder"); in.enabled || in.srcOn != "redis" || in.dryRun {
		t.Errorf("recorder after restart: enabled %t from %s, dry-run %t", in.enabled, in.srcOn, in.dryRun)
	}
	if in := again.instance("greeter"); !in.enabled || in.srcOn != "config" || !in.dryRun || in.srcDry != "redis" {
		t.Errorf("greeter after restart: enabled %t from %s, dry-run %t from %s", in.enabled, in.srcOn, in.dryRun, in.srcDry)
	}
}

func TestOfficerCommands(t *testing.T) {
	o, _ := newCommandRoom(t, false)
	ctx := context.Background()
	steps := []struct {
		from, line, reply string
	}{
		{ottoJID, "officer list", "otto@localhost — from config"},
		{ottoJID, "officer add uma@localhost", fmt.Sprintf(`"officer add" needs admin level in %s; you are officer there.`, evRoom)},
		{umaJID, "kick vic", fmt.Sprintf(`"kick" needs officer level in %s; you are anyone there.`, evRoom)},
		{adamJID, "officer add Uma@Localhost", "uma@localhost is now an officer of " + evRoom + "."},
		{umaJID, "kick vic", "Kicked vic."},
		{olgaJID, "officer remove otto@localhost", "otto@localhost is no longer an officer of " + evRoom + "."},
		{ottoJID, "officer list", fmt.Sprintf(`"officer list" needs officer level in %s; you are anyone there.`, evRoom)},
		{umaJID, "officer list", "uma@localhost — from redis (added by command)\notto@localhost — removed by command (still in the config file)"},
		{adamJID, "officer add otto@localhost", "otto@localhost is now an officer of " + evRoom + "."},
		{adamJID, "officer list", "otto@localhost — from config\numa@localhost — from redis (added by command)"},
		{adamJID, "officer add notajid", `"notajid" is not a bare JID like alice@example.org` + "\nUsage: officer add <jid>"},
		{adamJID, "officer add uma@localhost/phone", `"uma@localhost/phone" is not a bare JID like alice@example.org` + "\nUsage: officer add <jid>"},
		{adamJID, "officer remove", "give one bare JID\nUsage: officer remove <jid>"},
		{adamJID, "officer remove uma@localhost", "uma@localhost is no longer an officer of " + evRoom + "."},
		{adamJID, "officer list", "otto@localhost — from config"},
	}
	for _, s := range steps {
		if got := o.run1(t, s.from, s.line); got != s.reply {
			t.Errorf("%s: %q\n got %q\nwant %q", s.from, s.line, got, s.reply)
		}
	}
	set, err := o.st.Settings().Get(ctx, o.r.key)
	if err != nil {
		t.Fatal(err)
	}
	if len(set.OfficersAdded) != 0 || len(set.OfficersRemoved) != 0 {
		t.Errorf("stored officers: added %q removed %q", set.OfficersAdded, set.OfficersRemoved)
	}
	// Removing a configured officer is kept (and shown) until re-added.
	o.run1(t, adamJID, "officer remove otto@localhost")
	if got := o.run1(t, adamJID, "officer list"); got != "otto@localhost — removed by command (still in the config file)" {
		t.Errorf("list after removing the only officer: %q", got)
	}
	set, _ = o.st.Settings().Get(ctx, o.r.key)
	if !slices.Equal(set.OfficersRemoved, []string{ottoJID}) {
		t.Errorf("stored removal %q", set.OfficersRemoved)
	}
	// A room with no officers at all says how to add some.
	bare := newOffline(t, config.Room{})
	seatIn(bare.r, "adam", adamJID+"/res", "moderator", "admin", false)
	if got := bare.run1(t, adamJID, "officer list"); got != "This room has no officers. Owners and admins may add some: officer add <jid>." {
		t.Errorf("empty list: %q", got)
	}
}

func TestHelpListsOnlyWhatYouMayUse(t *testing.T) {
	o, _ := newCommandRoom(t, true)
	listed := func(from string) []string {
		text := o.run1(t, from, "help")
		var out []string
		for _, l := range strings.Split(text, "\n") {
			if strings.HasPrefix(l, "  ") {
				out = append(out, strings.Fields(l)[0])
			}
		}
		return out
	}
	for _, tc := range []struct {
		from string
		want []string
	}{
		{umaJID, []string{"greet", "help"}},
		{mimiJID, []string{"greet", "greeting", "help"}},
		{ottoJID, []string{"ban", "devoice", "greet", "greeting", "help", "kick", "log", "officer", "policy", "status", "unban", "undo", "voice"}},
		{olgaJID, []string{"ban", "devoice", "greet", "greeting", "help", "kick", "log", "officer", "policy", "status", "unban", "undo", "voice"}},
	} {
		if got := listed(tc.from); !slices.Equal(got, tc.want) {
			t.Errorf("help for %s lists %q\nwant %q", tc.from, got, tc.want)
		}
	}
	if got := o.run1(t, umaJID, "help"); !strings.HasPrefix(got, "Commands you may use in "+evRoom+" (you are anyone):\n") {
		t.Errorf("help header: %q", got)
	}
	// help <command> explains any command, with its level.
	if got := o.run1(t, umaJID, "help kick"); got != "Usage: kick <nick> [reason] — Removes the occupant from the room (they may come back). (level: officer)" {
		t.Errorf("help kick: %q", got)
	}
	got := o.run1(t, umaJID, "help policy")
	if !strings.Contains(got, "\n  policy enable <name> — Turns a policy on in this room. (level: admin)") {
		t.Errorf("help policy does not list its subcommands: %q", got)
	}
	if got := o.run1(t, umaJID, "help nope"); got != "no command \"nope\"\nUsage: help [command]" {
		t.Errorf("help nope: %q", got)
	}
}

// TestCommandFromRoom: "!cmd" said in the room runs as the speaker's real
// JID; a seat whose real JID is hidden, or an unknown command, gets no
// reaction at all.
func TestCommandFromRoom(t *testing.T) {
	o, _ := newCommandRoom(t, false)
	o.presence(t, "ghost", "", "participant", "none", false)
	say := func(nick, body string) {
		o.r.onStanza(context.Background(), proto.Inbound{Name: "message", From: evRoom + "/" + nick,
			Message: &proto.Message{Type: "groupchat", Body: body, StanzaID: "s-" + body, StanzaIDBy: evRoom}}, evBase)
	}
	say("otto", "!kick vic flooding")
	say("ghost", "!kick uma")
	say("uma", "!kick mimi")
	say("otto", "!frobnicate")
	say("otto", "!")
	var sent []string
	for _, c := range o.tr.calls() {
		sent = append(sent, c.String())
	}
	if want := []string{`role(agora@conference.localhost, vic, "none", "flooding")`}; !slices.Equal(sent, want) {
		t.Errorf("sent %q, want %q", sent, want)
	}
	var issued []string
	for _, ev := range o.rec.events {
		if c, ok := ev.(policies.CommandIssued); ok {
			issued = append(issued, c.By.String()+" "+c.Name+" "+strings.Join(c.Args, ","))
		}
	}
	if want := []string{"otto@localhost kick vic,flooding"}; !slices.Equal(issued, want) {
		t.Errorf("commands issued %q, want %q", issued, want)
	}
}

// TestDirectMessageRouting runs the rooms' goroutines and sends commands
// by direct message: the room is the word after the command (or after its
// subcommand), or, when left out, the one room where the sender is an
// officer.
func TestDirectMessageRouting(t *testing.T) {
	o, _ := newCommandRoom(t, false)
	lobby := o.addRoom(t, config.Room{JID: "lobby@conference.localhost", Officers: []string{ottoJID, umaJID}})
	other := o.addRoom(t, config.Room{JID: "agora@muc.example.org", Officers: []string{umaJID}})
	for _, r := range []*room{lobby, other} {
		seatIn(r, "vic", vicJID+"/res", "participant", "none", false)
		seatIn(r, "Steward", evSelf, "moderator", "owner", true)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	rooms := []*room{o.r, lobby, other}
	for _, r := range rooms {
		go func() { r.run(ctx); done <- struct{}{} }()
	}
	t.Cleanup(func() {
		cancel()
		for range rooms {
			<-done
		}
	})
	// settle waits until every room has handled what was queued before.
	settle := func() {
		for _, r := range rooms {
			if _, ok := ask(r, func(*room) bool { return true }); !ok {
				t.Fatalf("room %s did not answer", r.key)
			}
		}
	}
	settle()
	for _, tc := range []struct {
		name, from, body string
		want             []string // transport calls
	}{
		{"room by full JID", ottoJID, "voice lobby@conference.localhost vic",
			[]string{`role(lobby@conference.localhost, vic, "participant", "granted voice by an officer")`}},
		{"room by unambiguous local part", ottoJID, "devoice LOBBY vic",
			[]string{`role(lobby@conference.localhost, vic, "visitor", "revoked voice by an officer")`}},
		{"room after the subcommand path", adamJID, "officer add agora@conference.localhost mimi@localhost", nil},
		{"ambiguous local part is not a room", umaJID, "kick agora vic", nil},
		// otto is an officer of two rooms: without a room nothing happens.
		{"officer of several rooms must name one", ottoJID, "kick vic", nil},
		// uma is an officer of lobby and agora@muc.example.org (two).
		{"other officer names the room", umaJID, "kick agora@muc.example.org vic",
			[]string{`role(agora@muc.example.org, vic, "none", "kicked by an officer")`}},
		{"* runs in every room where the sender is an officer", umaJID, "devoice * vic",
			[]string{`role(agora@muc.example.org, vic, "visitor", "revoked voice by an officer")`, `role(lobby@conference.localhost, vic, "visitor", "revoked voice by an officer")`}},
		{"leading ! is accepted", ottoJID, "!voice agora@conference.localhost vic",
			[]string{`role(agora@conference.localhost, vic, "participant", "granted voice by an officer")`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(o.tr.calls())
			o.b.onDirectMessage(tc.from+"/phone", tc.body, evBase)
			settle()
			var sent []string
			for _, c := range o.tr.calls()[before:] {
				sent = append(sent, c.String())
			}
			// Rooms run in parallel: compare without their order.
			slices.Sort(sent)
			if !slices.Equal(sent, tc.want) {
				t.Errorf("sent %q\nwant %q", sent, tc.want)
			}
		})
	}
	// The officer added by DM landed in the room named after the subcommand.
	lvl, _ := ask(o.r, func(r *room) policies.Level { return r.LevelOf("mimi@localhost") })
	if lvl != policies.Officer {
		t.Errorf("mimi is %s in %s after officer add by DM", lvl, o.r.key)
	}
	lvl, _ = ask(lobby, func(r *room) policies.Level { return r.LevelOf("mimi@localhost") })
	if lvl != policies.Anyone {
		t.Errorf("mimi is %s in lobby", lvl)
	}
}

// TestKnownCommandsIncludePolicySubcommands: a policy instance's command
// tree is known to the DM router, so the room word may follow its
// subcommand ("vetting record lobby vic").
func TestKnownCommandsIncludePolicySubcommands(t *testing.T) {
	o, _ := newCommandRoom(t, false)
	o.b.instCmds.Store("vetting", policies.Command{Name: "vetting", Sub: []policies.Command{{Name: "record", Run: func(context.Context, policies.Invocation, policies.Room, policies.Actions) error { return nil }}}})
	_, path, rest := policies.Find(o.b.knownCommands(), []string{"vetting", "record", "lobby", "vic"})
	if path != "vetting record" || len(rest) != 2 || rest[0] != "lobby" {
		t.Fatalf("Find = %q, %q; want the room word after the subcommand path", path, rest)
	}
}
