package rtbl

import (
	"strings"
	"testing"
	"time"

	"github.com/steward-xmpp/steward/policies"
	"github.com/steward-xmpp/steward/policies/policytest"
	"github.com/steward-xmpp/steward/store/memstore"
)

const (
	officer = "mod@example.org"
	owner   = "boss@example.org"
)

type fixture struct {
	svc *Service
	n   *fakeNotifier
	h   *policytest.Harness
}

// setup builds a service whose lists hold spammer@example.com (xmppbl,
// apply, and watch, alert), the domain evil.example (xmppbl) and
// alerted@example.com (watch only), and one room running the policy.
func setup(t *testing.T, cfg *Config) *fixture {
	t.Helper()
	n := &fakeNotifier{}
	s := newService(t, memstore.NewKV(), newSource(), n)
	ctx := t.Context()
	must(t, s.OnEvent(ctx, "xmppbl.org", DefaultNode, []Entry{ent("spammer@example.com", "MUC spam"), ent("evil.example", "")}, nil))
	must(t, s.OnEvent(ctx, "pubsub.example.org", "watch", []Entry{ent("spammer@example.com", ""), ent("alerted@example.com", "suspicious")}, nil))
	n.take()
	spec := Spec(s)
	if cfg == nil {
		cfg = spec.NewConfig().(*Config)
	} else {
		cfg.known = []string{"xmppbl", "watch", "dormant", "forgiving"}
	}
	h := policytest.New(t, spec, cfg)
	h.Room.OfficerSet[officer] = true
	h.Room.Affs[owner] = policies.AffOwner
	return &fixture{svc: s, n: n, h: h}
}

func occ(nick, real string, aff policies.Affiliation) policies.Occupant {
	o := policytest.Occ(nick, real, policies.RoleParticipant)
	o.Affiliation = aff
	return o
}

func TestJoin(t *testing.T) {
	none := policies.AffNone
	tests := []struct {
		name   string
		cfg    *Config
		prep   func(f *fixture)
		who    policies.Occupant
		want   policies.Verdict
		kind   string // the one moderation call expected, "" for none
		value  string
		notify string // substring of an officer notice, "" for none
		domain bool
	}{
		{name: "listed JID is banned", who: occ("spam", "spammer@example.com/bot", none), want: policies.Stop, kind: "affiliation", value: "outcast"},
		{name: "listed domain is banned", who: occ("evil", "someone@evil.example/x", none), want: policies.Stop, kind: "affiliation", value: "outcast", domain: true},
		{name: "clean joiner", who: occ("ok", "friend@example.com/x", none)},
		{name: "hidden JID cannot be checked", who: occ("anon", "", none)},
		{name: "member is not actioned", who: occ("spam", "spammer@example.com/bot", policies.AffMember)},
		{name: "member with include_members", cfg: &Config{Action: ActionBan, IncludeMembers: true},
			who: occ("spam", "spammer@example.com/bot", policies.AffMember), want: policies.Stop, kind: "affiliation", value: "outcast"},
		{name: "admin even with include_members", cfg: &Config{Action: ActionBan, IncludeMembers: true},
			who: occ("spam", "spammer@example.com/bot", policies.AffAdmin)},
		{name: "officer is never actioned", prep: func(f *fixture) { f.h.Room.OfficerSet["spammer@example.com"] = true },
			who: occ("spam", "spammer@example.com/bot", none)},
		{name: "room exemption wins", prep: func(f *fixture) { mustCmd(f, officer, "rtbl exempt spammer@example.com") },
			who: occ("spam", "spammer@example.com/bot", none)},
		{name: "room domain exemption wins", prep: func(f *fixture) { mustCmd(f, officer, "rtbl exempt evil.example") },
			who: occ("evil", "someone@evil.example/x", none)},
		{name: "global exemption wins", prep: func(f *fixture) { mustCmd(f, owner, "rtbl exempt spammer@example.com --global") },
			who: occ("spam", "spammer@example.com/bot", none)},
		{name: "alert list only notifies", who: occ("sus", "alerted@example.com/x", none),
			notify: "RTBL alert: sus (alerted@example.com) is listed on watch (JID, item " + Hash("alerted@example.com")[:12] + ": spam: suspicious)"},
		{name: "room not following the list", cfg: &Config{Action: ActionBan, Lists: []string{"watch"}},
			who: occ("evil", "someone@evil.example/x", none)},
		{name: "kick action", cfg: &Config{Action: ActionKick}, who: occ("spam", "spammer@example.com/bot", none),
			want: policies.Stop, kind: "kick"},
		{name: "devoice action", cfg: &Config{Action: ActionDevoice}, who: occ("spam", "spammer@example.com/bot", none),
			kind: "role", value: "visitor"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := setup(t, tc.cfg)
			if tc.prep != nil {
				tc.prep(f)
			}
			f.h.Reset()
			if got := f.h.Join(tc.who); got != tc.want {
				t.Errorf("verdict = %v, want %v", got, tc.want)
			}
			mod := f.h.Calls("affiliation", "kick", "role")
			if tc.kind == "" {
				if len(mod) != 0 {
					t.Fatalf("unexpected actions %v", mod)
				}
			} else {
				if len(mod) != 1 || mod[0].Kind != tc.kind || mod[0].Value != tc.value {
					t.Fatalf("actions = %v, want one %s %s", mod, tc.kind, tc.value)
				}
				id, what := hashSpammer, "JID): spam: MUC spam"
				if tc.domain {
					id, what = hashEvil, "whole server): spam"
				}
				want := policies.Reason{Public: "listed on xmppbl RTBL", Private: "item " + id + " (" + what, Group: "rtbl:xmppbl", Ref: id}
				if got := mod[0].Why; got != want {
					t.Errorf("reason = %+v\nwant     %+v", got, want)
				}
			}
			notes := f.h.Calls("notify")
			switch {
			case tc.notify == "" && len(notes) != 0:
				t.Errorf("unexpected notices %v", notes)
			case tc.notify != "" && (len(notes) != 1 || !strings.Contains(notes[0].Value, tc.notify)):
				t.Errorf("notices = %v, want one containing %q", notes, tc.notify)
			}
		})
	}
}

func mustCmd(f *fixture, from, line string) {
	f.h.T.Helper()
	if err := f.h.Command(from, line, true); err != nil {
		f.h.T.Fatalf("%s: %v", line, err)
	}
}

func TestOffListIsIgnored(t *testing.T) {
	f := setup(t, &Config{Action: ActionBan, Lists: []string{"dormant"}})
	must(t, f.svc.OnEvent(t.Context(), "pubsub.example.org", "dormant", []Entry{ent("quiet@example.com", "")}, nil))
	if got := f.n.take(); len(got) != 0 {
		t.Fatalf("off list notified %v", got)
	}
	f.h.Join(occ("q", "quiet@example.com/x", policies.AffNone))
	f.h.Join(occ("spam", "spammer@example.com/x", policies.AffNone)) // listed on xmppbl, which the room does not follow
	if calls := f.h.Calls("affiliation", "notify"); len(calls) != 0 {
		t.Errorf("actions = %v", calls)
	}
}

func TestLateChecks(t *testing.T) {
	tests := []struct {
		name string
		do   func(h *policytest.Harness) policies.Verdict
	}{
		{"nick change", func(h *policytest.Harness) policies.Verdict { return h.Rename("spam", "spam2") }},
		{"first message", func(h *policytest.Harness) policies.Verdict { return h.Say("spam", "buy now") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := setup(t, nil)
			// Seated before the policy ran (e.g. enabled by a reload).
			f.h.Room.Put(occ("spam", "spammer@example.com/bot", policies.AffNone))
			if v := tc.do(f.h); v != policies.Stop {
				t.Errorf("verdict = %v", v)
			}
			f.h.Want("affiliation", "spammer@example.com", "outcast")
		})
	}
}

func TestCheckedOnlyOnce(t *testing.T) {
	f := setup(t, &Config{Action: ActionDevoice})
	f.h.Join(occ("spam", "spammer@example.com/bot", policies.AffNone))
	f.h.Room.Put(occ("spam", "spammer@example.com/bot", policies.AffNone)) // voice restored by hand
	f.h.Reset()
	f.h.Say("spam", "hello")
	f.h.Rename("spam", "spam2")
	if calls := f.h.Calls("role"); len(calls) != 0 {
		t.Errorf("re-checked an occupant already checked: %v", calls)
	}
	// After leaving, a new join is checked again.
	f.h.Leave("spam2")
	f.h.Join(occ("spam", "spammer@example.com/bot", policies.AffNone))
	f.h.Want("role", "spam", "visitor")
}

func TestJoinedRoomSweeps(t *testing.T) {
	f := setup(t, nil)
	f.h.Room.Put(occ("spam", "spammer@example.com/bot", policies.AffNone))
	f.h.Room.Put(occ("ok", "friend@example.com/x", policies.AffNone))
	f.h.Deliver(policies.JoinedRoom{Self: f.h.Room.SelfOcc})
	f.h.Want("affiliation", "spammer@example.com", "outcast")
	if calls := f.h.Calls("affiliation"); len(calls) != 1 {
		t.Errorf("actions = %v", calls)
	}
}

func TestPublishSweepsRoom(t *testing.T) {
	f := setup(t, nil)
	f.h.Join(occ("new1", "newspam@example.com/a", policies.AffNone))
	f.h.Join(occ("new1b", "newspam@example.com/b", policies.AffNone)) // second seat
	f.h.Join(occ("ok", "friend@example.com/x", policies.AffNone))
	f.h.Join(occ("mem", "member@example.com/x", policies.AffMember))
	f.h.Room.Affs["absent@example.com"] = policies.AffMember
	f.h.Reset()

	ctx := t.Context()
	must(t, f.svc.OnEvent(ctx, "xmppbl.org", DefaultNode, []Entry{
		ent("newspam@example.com", "wave 2"), ent("member@example.com", ""), ent("absent@example.com", ""),
	}, nil))
	for _, p := range f.n.take() {
		f.h.Deliver(policies.Notified{Topic: Topic, Payload: p})
	}
	mod := f.h.Calls("affiliation", "kick", "role")
	if len(mod) != 1 || mod[0].Target != "newspam@example.com" || mod[0].Value != "outcast" || mod[0].Why.Ref != Hash("newspam@example.com") {
		t.Fatalf("sweep actions = %v", mod)
	}
	n := f.h.Want("notify", "", "affiliated people newly listed on xmppbl")
	for _, want := range []string{"absent@example.com (member", "member@example.com (member"} {
		if !strings.Contains(n.Value, want) {
			t.Errorf("member report %q lacks %q", n.Value, want)
		}
	}
}

func TestPublishToAlertListNotifies(t *testing.T) {
	f := setup(t, nil)
	f.h.Join(occ("x", "later@example.com/a", policies.AffNone))
	f.h.Reset()
	must(t, f.svc.OnEvent(t.Context(), "pubsub.example.org", "watch", []Entry{ent("later@example.com", "")}, nil))
	for _, p := range f.n.take() {
		f.h.Deliver(policies.Notified{Topic: Topic, Payload: p})
	}
	f.h.Want("notify", "", "newly listed on watch and present here: x (later@example.com, spam)")
	f.h.WantNone("affiliation", "")
}

func TestRetract(t *testing.T) {
	tests := []struct {
		name, list, service, node string
		autoUnban                 bool
	}{
		{name: "auto_unban lifts the ban", list: "forgiving", service: "pubsub.example.org", node: "forgiving", autoUnban: true},
		{name: "otherwise officers are told", list: "xmppbl", service: "xmppbl.org", node: DefaultNode},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := setup(t, nil)
			ctx := t.Context()
			e := ent("victim@example.com", "mistake")
			must(t, f.svc.OnEvent(ctx, tc.service, tc.node, []Entry{e}, nil))
			f.n.take()
			f.h.Join(occ("v", "victim@example.com/x", policies.AffNone))
			ban := f.h.Want("affiliation", "victim@example.com", "outcast")
			if ban.Why.Group != "rtbl:"+tc.list {
				t.Fatalf("ban group = %q", ban.Why.Group)
			}
			f.h.Reset()

			must(t, f.svc.OnEvent(ctx, tc.service, tc.node, nil, []string{e.ID}))
			for _, p := range f.n.take() {
				f.h.Deliver(policies.Notified{Topic: Topic, Payload: p})
			}
			if tc.autoUnban {
				u := f.h.Want("undo", "rtbl:"+tc.list, e.ID)
				if !strings.Contains(u.Why.Public, "no longer listed on forgiving") {
					t.Errorf("undo reason = %+v", u.Why)
				}
				f.h.Want("affiliation", "victim@example.com", "none")
				f.h.WantNone("notify", "")
				return
			}
			f.h.WantNone("undo", "")
			f.h.Want("notify", "", "victim@example.com (affiliation outcast): undo a1")
			f.h.Want("notify", "", "rtbl undo xmppbl")
		})
	}
}

func TestRetractWithoutOwnActionsIsSilent(t *testing.T) {
	f := setup(t, nil)
	must(t, f.svc.OnEvent(t.Context(), "xmppbl.org", DefaultNode, nil, []string{hashSpammer}))
	for _, p := range f.n.take() {
		f.h.Deliver(policies.Notified{Topic: Topic, Payload: p})
	}
	if calls := f.h.Calls(); len(calls) != 0 {
		t.Errorf("calls = %v", calls)
	}
}

func TestConfigValidate(t *testing.T) {
	c := Spec(nil).NewConfig().(*Config)
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	s := newService(t, memstore.NewKV(), newSource(), nil)
	c = Spec(s).NewConfig().(*Config)
	c.Action = "shun"
	c.Lists = []string{"xmppbl", "xmppbl", "typo", ""}
	want := strings.Join([]string{
		`action: must be "ban", "kick" or "devoice", got "shun"`,
		`lists[1]: duplicate list "xmppbl"`,
		`lists[2]: no list "typo" in rtbl.lists (configured: xmppbl, watch, dormant, forgiving)`,
		`lists[3]: must not be empty`,
	}, "\n")
	if err := c.Validate(); err == nil || err.Error() != want {
		t.Errorf("got:\n%v\nwant:\n%s", err, want)
	}
}

func TestCommands(t *testing.T) {
	f := setup(t, nil)
	h := f.h
	h.Join(occ("mem", "spammer@example.com/x", policies.AffMember))
	h.Join(occ("anon", "", policies.AffNone))
	h.Room.Affs["gone@evil.example"] = policies.AffMember
	h.Reset()

	tests := []struct {
		name, from, line string
		want             []string // substrings of the reply
		err              string   // substring of the error
	}{
		{name: "status", from: officer, line: "rtbl status", want: []string{
			"xmppbl (xmppbl.org, node muc_bans_sha256): apply; 2 entries; never synced; not subscribed yet",
			"dormant (pubsub.example.org, node dormant): off; not fetched",
			"forgiving (pubsub.example.org, node forgiving): apply, auto_unban",
			"Publishing with --share to ours",
		}},
		{name: "check listed", from: officer, line: "rtbl check Spammer@example.com", want: []string{
			"spammer@example.com is listed: xmppbl (apply mode, as JID, item " + hashSpammer + ": spam: MUC spam); watch (alert mode",
		}},
		{name: "check domain", from: officer, line: "rtbl check x@evil.example", want: []string{"xmppbl (apply mode, as whole server"}},
		{name: "check clean", from: officer, line: "rtbl check ok@example.com", want: []string{"not listed on any followed list"}},
		{name: "check bad jid", from: officer, line: "rtbl check a@@b", err: "not a JID"},
		{name: "preview", from: officer, line: "rtbl preview xmppbl", want: []string{
			"Preview of xmppbl (apply mode) in room@muc.example.org: nobody present would be hit.",
			"Listed but exempt: mem (spammer@example.com; JID, item c261875210bf: spam: MUC spam) exempt: member.",
			"Affiliated, absent and listed (never actioned): gone@evil.example (member, item 9c180de0cd69).",
			"1 seats show no real JID",
		}},
		{name: "preview off list", from: officer, line: "rtbl preview dormant", want: []string{"dormant is off"}},
		{name: "preview unknown", from: officer, line: "rtbl preview nope", err: `no list "nope"`},
		{name: "global exempt needs owner", from: officer, line: "rtbl exempt a@example.com --global", err: "only an owner"},
		{name: "exempt", from: officer, line: "rtbl exempt A@example.com/res", want: []string{"a@example.com is now exempt from every list in this room."}},
		{name: "exemptions", from: officer, line: "rtbl exemptions", want: []string{"Exempt in this room: a@example.com (by mod@example.org at 2026-03-02T12:00:00Z). Exempt everywhere: none."}},
		{name: "unexempt", from: officer, line: "rtbl unexempt a@example.com", want: []string{"no longer exempt in this room"}},
		{name: "unexempt again", from: officer, line: "rtbl unexempt a@example.com", want: []string{"was not exempt"}},
		{name: "undo needs a list", from: officer, line: "rtbl undo", err: "give one list name"},
		{name: "undo bad since", from: officer, line: "rtbl undo xmppbl --since soon", err: "not a duration"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h.Replies = nil
			err := h.Command(tc.from, tc.line, true)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(h.LastReply(), w) {
					t.Errorf("reply %q\nlacks %q", h.LastReply(), w)
				}
			}
		})
	}
	if err := h.Command("nobody@example.com", "rtbl status", true); err == nil {
		t.Error("rtbl status ran for someone without a level")
	}
}

func TestPreviewWouldHit(t *testing.T) {
	f := setup(t, &Config{Action: ActionKick})
	f.h.Room.Put(occ("spam", "spammer@example.com/bot", policies.AffNone)) // not checked: seated silently
	mustCmd(f, officer, "rtbl preview xmppbl")
	if want := "would kick: spam (spammer@example.com; JID, item c261875210bf: spam: MUC spam)."; !strings.Contains(f.h.LastReply(), want) {
		t.Errorf("reply %q lacks %q", f.h.LastReply(), want)
	}
	if calls := f.h.Calls("kick", "affiliation"); len(calls) != 0 {
		t.Errorf("preview acted: %v", calls)
	}
}

func TestUndoCommand(t *testing.T) {
	f := setup(t, nil)
	f.h.Join(occ("s1", "spammer@example.com/a", policies.AffNone))
	f.h.Now = f.h.Now.Add(3 * time.Hour)
	f.h.Join(occ("s2", "x@evil.example/a", policies.AffNone))
	f.h.Reset()

	mustCmd(f, officer, "rtbl undo xmppbl --since 2h")
	u := f.h.Want("undo", "rtbl:xmppbl", "")
	if u.Value != "" {
		t.Errorf("undo ref = %q, want every item", u.Value)
	}
	if calls := f.h.Calls("affiliation"); len(calls) != 1 || calls[0].Target != "x@evil.example" || calls[0].Value != "none" {
		t.Errorf("undo lifted %v, want only the recent ban", calls)
	}
	if want := "Undid 1 actions Steward took in this room because of xmppbl (in the last 2h)."; f.h.LastReply() != want {
		t.Errorf("reply = %q", f.h.LastReply())
	}
	mustCmd(f, officer, "rtbl undo xmppbl")
	f.h.Want("affiliation", "spammer@example.com", "none")
}

func TestStatusShowsAge(t *testing.T) {
	now := policytest.Start
	src := newSource()
	src.items[DefaultNode] = []Entry{ent("spammer@example.com", "")}
	s := NewService(testLists[:1], nil, src, memstore.NewKV(), nil, nopLog(t), WithClock(func() time.Time { return now }))
	must(t, s.syncList(t.Context(), s.byName["xmppbl"]))
	now = now.Add(3*time.Hour + 5*time.Minute)
	src.fail = errFake("item-not-found")
	if err := s.syncList(t.Context(), s.byName["xmppbl"]); err == nil {
		t.Fatal("sync succeeded")
	}
	h := policytest.New(t, Spec(s), nil)
	h.Room.OfficerSet[officer] = true
	if err := h.Command(officer, "rtbl status", false); err != nil {
		t.Fatal(err)
	}
	want := "xmppbl (xmppbl.org, node muc_bans_sha256): apply; 1 entries; set is 3h5m old; NOT subscribed; last error (1 in a row): subscribe: item-not-found; fetch: item-not-found; 0 matches acted on"
	if h.LastReply() != want {
		t.Errorf("status =\n%s\nwant\n%s", h.LastReply(), want)
	}
}

func TestFormatAge(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{45 * time.Second, "45s"},
		{12 * time.Minute, "12m"},
		{3*time.Hour + 5*time.Minute, "3h5m"},
		{50 * time.Hour, "2d2h"},
	}
	for _, tc := range tests {
		if got := formatAge(tc.d); got != tc.want {
			t.Errorf("formatAge(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}
