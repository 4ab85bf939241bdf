package vetting_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"mellium.im/xmpp/jid"

	"github.com/steward-xmpp/steward/policies"
	"github.com/steward-xmpp/steward/policies/policytest"
	"github.com/steward-xmpp/steward/store"
	"github.com/steward-xmpp/steward/vetting"
)

const (
	officer = "officer@example.org"
	admin   = "admin@example.org"
)

func setup(t testing.TB, mut func(*vetting.Config)) *policytest.Harness {
	t.Helper()
	c := vetting.Defaults()
	if mut != nil {
		mut(c)
	}
	h := policytest.New(t, vetting.Spec, c)
	h.Room.OfficerSet[officer] = true
	h.Room.Affs[admin] = policies.AffAdmin
	return h
}

func visitor(nick, j string) policies.Occupant { return policytest.Occ(nick, j, policies.RoleVisitor) }

func member(h *policytest.Harness, nick, j string) {
	o := policytest.Occ(nick, j, policies.RoleParticipant)
	o.Affiliation = policies.AffMember
	h.Join(o)
}

// cmd runs a command that must succeed and returns its last reply.
func cmd(t testing.TB, h *policytest.Harness, from, line string) string {
	t.Helper()
	if err := h.Command(from, line, false); err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	return h.LastReply()
}

// usage runs a command that must fail with a usage error containing want.
func usage(t testing.TB, h *policytest.Harness, from, line, want string) {
	t.Helper()
	err := h.Command(from, line, false)
	if !policytest.IsUsage(err) || !strings.Contains(err.Error(), want) {
		t.Fatalf("%s: error %v, want a usage error containing %q", line, err, want)
	}
}

func contains(t testing.TB, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Fatalf("%s:\n%s\nwant it to contain %q", what, got, w)
		}
	}
}

func pending(t testing.TB, h *policytest.Harness) string {
	t.Helper()
	return cmd(t, h, officer, "queue")
}

func TestFormRequestsAreBatched(t *testing.T) {
	h := setup(t, nil)
	for _, n := range []string{"alice", "bob", "carol"} {
		h.Join(visitor(n, n+"@example.org"))
	}
	for i, n := range []string{"alice", "bob", "carol"} {
		if got := h.Calls("notify"); len(got) != 0 {
			t.Fatalf("officers notified before the batch closed: %v", got)
		}
		h.VoiceRequest(n)
		h.Want("tell", n+"@example.org", "queued (position "+string(rune('1'+i)))
		h.Advance(time.Second)
	}
	notes := h.Calls("notify")
	if len(notes) != 1 {
		t.Fatalf("got %d notifications, want one batch: %v", len(notes), notes)
	}
	contains(t, "notification", notes[0].Value, "3 new voice requests in room@muc.example.org:",
		"#1 alice — alice@example.org · via form", "#2 bob — bob@example.org", "#3 carol — carol@example.org", "approve #n")
	h.Advance(time.Minute)
	if len(h.Calls("notify")) != 1 {
		t.Fatalf("notified again: %v", h.Calls("notify"))
	}
}

func TestNickMarker(t *testing.T) {
	tests := []struct {
		name   string
		marker string
		run    func(h *policytest.Harness)
		queued string // nick expected in the queue, "" for none
		told   string // text told to dave@example.org, "" for nothing
	}{
		{"join with marker", "?", func(h *policytest.Harness) { h.Join(visitor("?dave", "dave@example.org")) }, "?dave", "queued"},
		{"rename to marker", "?", func(h *policytest.Harness) {
			h.Join(visitor("dave", "dave@example.org"))
			h.Rename("dave", "?dave")
		}, "?dave", "queued"},
		{"rename drops marker: withdrawn", "?", func(h *policytest.Harness) {
			h.Join(visitor("?dave", "dave@example.org"))
			h.Rename("?dave", "dave")
		}, "", `withdrawn because your nick no longer starts with "?"`},
		{"other marker", "☝", func(h *policytest.Harness) { h.Join(visitor("☝dave", "dave@example.org")) }, "☝dave", "queued"},
		{"marker off", "", func(h *policytest.Harness) { h.Join(visitor("?dave", "dave@example.org")) }, "", ""},
		{"participants are not queued", "?", func(h *policytest.Harness) {
			h.Join(policytest.Occ("?dave", "dave@example.org", policies.RoleParticipant))
		}, "", ""},
		{"marker kept, form request withdrawn only with it", "?", func(h *policytest.Harness) {
			h.Join(visitor("?dave", "dave@example.org"))
			h.VoiceRequest("?dave")
			h.Rename("?dave", "dave")
		}, "dave", "queued"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := setup(t, func(c *vetting.Config) { c.Marker = tt.marker })
			tt.run(h)
			q := pending(t, h)
			if tt.queued == "" {
				contains(t, "queue", q, "No pending voice requests")
			} else {
				contains(t, "queue", q, "#1 "+tt.queued+" — dave@example.org")
			}
			if tt.told == "" {
				h.WantNone("tell", "")
			} else {
				h.Want("tell", "dave@example.org", tt.told)
			}
		})
	}
}

func TestDirectMessageRequest(t *testing.T) {
	h := setup(t, nil)
	contains(t, "absent", cmd(t, h, "frank@example.org", "request hello"), "Please join room@muc.example.org first")
	h.Join(visitor("frank", "frank@example.org"))
	contains(t, "reply", cmd(t, h, "frank@example.org", "request I study physics"), "queued (position 1 of 1)", "stay in the room")
	contains(t, "queue", pending(t, h), `#1 frank — frank@example.org · via dm`, `says: "I study physics"`, "in room 0s")
	contains(t, "again", cmd(t, h, "frank@example.org", "request"), "already queued (position 1 of 1)")
	h.Join(policytest.Occ("gus", "gus@example.org", policies.RoleParticipant))
	contains(t, "voiced", cmd(t, h, "gus@example.org", "request"), "You already have voice")
}

func TestDuplicatesMerge(t *testing.T) {
	h := setup(t, nil)
	h.Join(visitor("?gina", "gina@example.org"))
	h.Join(visitor("gina-phone", "gina@example.org"))
	h.VoiceRequest("?gina")
	h.Want("tell", "gina@example.org", "already queued (position 1 of 1)")
	h.VoiceRequest("gina-phone")
	cmd(t, h, "gina@example.org", "request it is me")
	q := pending(t, h)
	contains(t, "queue", q, "1 pending voice request ", "via marker+form+dm", `says: "it is me"`)
	h.Advance(time.Minute)
	if n := len(h.Calls("notify")); n != 1 {
		t.Fatalf("%d notifications for one person", n)
	}
}

func TestOrderingAndNumbers(t *testing.T) {
	h := setup(t, func(c *vetting.Config) { c.VouchEffect = vetting.VouchPrioritise })
	for _, n := range []string{"alice", "bob", "carol"} {
		h.Join(visitor(n, n+"@example.org"))
		h.VoiceRequest(n)
		h.Advance(time.Minute)
	}
	member(h, "dan", "dan@example.org")
	contains(t, "vouch", cmd(t, h, "dan@example.org", "vouch carol"), "top of the queue")
	h.Want("notify", "", "vouched for carol (carol@example.org)")
	h.Want("tell", "carol@example.org", "dan vouched for you")
	q := pending(t, h)
	ia, ib, ic := strings.Index(q, "#2 alice"), strings.Index(q, "#3 bob"), strings.Index(q, "#1 carol")
	if ic < 0 || ia < ic || ib < ia {
		t.Fatalf("queue not vouched-first then oldest-first:\n%s", q)
	}
	contains(t, "queue", q, "vouched for by dan@example.org")
	cmd(t, h, officer, "approve #3")
	h.Want("role", "bob", "participant")
	// A new request gets the next number; numbers already given keep meaning.
	h.Join(visitor("erin", "erin@example.org"))
	h.VoiceRequest("erin")
	h.Advance(5 * time.Second)
	h.Want("notify", "", "#4 erin")
	cmd(t, h, officer, "approve #2")
	h.Want("role", "alice", "participant")
	usage(t, h, officer, "approve #3", "#3 (bob@example.org) is no longer pending")
	usage(t, h, officer, "approve #9", "there is no #9")
	usage(t, h, officer, "approve #x", `"#x" is not a queue number`)
	q = pending(t, h)
	contains(t, "queue after", q, "#1 carol", "#2 erin")
}

func TestApprove(t *testing.T) {
	tests := []struct {
		name      string
		mut       func(*vetting.Config)
		nick      string
		line      string
		wantAff   bool
		tell      []string
		tellNot   string
		noRequest bool
	}{
		{name: "voice only", nick: "alice", line: "approve alice", tell: []string{"room@muc.example.org: You have voice now. Welcome!"}, tellNot: "member"},
		{name: "with --member", nick: "alice", line: "approve alice --member", wantAff: true, tell: []string{"You are a member of the room now."}},
		{name: "grant member by config", mut: func(c *vetting.Config) { c.Grant = vetting.GrantMember }, nick: "alice", line: "approve #1", wantAff: true},
		{name: "text for the applicant", nick: "alice", line: "approve alice Please read the rules first.", tell: []string{"Welcome!\nPlease read the rules first."}},
		{name: "custom welcome", mut: func(c *vetting.Config) { c.Welcome = "Hi, speak up." }, nick: "alice", line: "approve alice", tell: []string{"Hi, speak up."}},
		{name: "drop the marker", nick: "?alice", line: "approve ?alice", tell: []string{`You can remove "?" from the start of your nick now.`}},
		{name: "marker hint off", mut: func(c *vetting.Config) { c.TellDropMarker = false }, nick: "?alice", line: "approve ?alice", tellNot: "remove"},
		{name: "direct approval of a visitor", nick: "alice", line: "approve alice", noRequest: true, tell: []string{"Welcome!"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := setup(t, tt.mut)
			h.Join(visitor(tt.nick, "alice@example.org"))
			if !tt.noRequest {
				h.VoiceRequest(tt.nick)
				h.Advance(5 * time.Second)
			}
			h.Reset()
			contains(t, "reply", cmd(t, h, officer, tt.line), "Approved "+tt.nick+" (alice@example.org)")
			h.Want("role", tt.nick, "participant")
			if tt.wantAff {
				h.Want("affiliation", "alice@example.org", "member")
			} else {
				h.WantNone("affiliation", "")
			}
			tell := h.Want("tell", "alice@example.org", "")
			contains(t, "told", tell.Value, tt.tell...)
			if tt.tellNot != "" && strings.Contains(tell.Value, tt.tellNot) {
				t.Fatalf("told %q, must not contain %q", tell.Value, tt.tellNot)
			}
			contains(t, "queue", pending(t, h), "No pending")
		})
	}
}

func TestApproveMistakes(t *testing.T) {
	h := setup(t, nil)
	h.Join(policytest.Occ("vera", "vera@example.org", policies.RoleParticipant))
	usage(t, h, officer, "approve vera", "vera already has voice")
	usage(t, h, officer, "approve nobody", `no one called "nobody" is in the room or the queue`)
	usage(t, h, officer, "approve", "say whom to approve")
	usage(t, h, officer, "approve vera --admin", "unknown option --admin")
	usage(t, h, officer, "approve #1", "send queue first")
	usage(t, h, officer, "deny vera", "vera is not in the queue")
	usage(t, h, officer, "ask vera", "say whom to ask and what")
	if err := h.Command("nobody@example.org", "approve vera", false); err == nil {
		t.Fatal("approve by someone who is not an officer worked")
	}
}

func TestDenyAndCooldown(t *testing.T) {
	h := setup(t, nil)
	h.Join(visitor("alice", "alice@example.org"))
	h.VoiceRequest("alice")
	contains(t, "reply", cmd(t, h, officer, "deny alice no links please"), "Denied alice (alice@example.org); they were told.")
	tell := h.Want("tell", "alice@example.org", "declined: no links please.")
	contains(t, "told", tell.Value, "You can ask again after Tue 3 Mar 12:00 (UTC).")
	if strings.Contains(tell.Value, officer) {
		t.Fatalf("officer's JID told to the applicant: %q", tell.Value)
	}
	h.Advance(time.Hour)
	h.Reset()
	h.VoiceRequest("alice")
	h.Want("tell", "alice@example.org", "was declined on Mon 2 Mar 12:00: no links please. You can ask again after Tue 3 Mar 12:00 (UTC).")
	cmd(t, h, "alice@example.org", "request please")
	contains(t, "dm", h.LastReply(), "was declined on")
	contains(t, "queue", pending(t, h), "No pending")
	h.Advance(24 * time.Hour)
	h.VoiceRequest("alice")
	contains(t, "queue", pending(t, h), "#1 alice", "denied here before (2026-03-02)")

	h = setup(t, func(c *vetting.Config) { c.Cooldown = 0 })
	h.Join(visitor("bob", "bob@example.org"))
	h.VoiceRequest("bob")
	cmd(t, h, officer, "deny bob")
	h.Want("tell", "bob@example.org", "declined. You can ask again later.")
	h.VoiceRequest("bob")
	contains(t, "queue", pending(t, h), "#1 bob")
}

func TestAskRelaysBothWays(t *testing.T) {
	h := setup(t, nil)
	h.Join(visitor("alice", "alice@example.org"))
	h.Join(visitor("bob", "bob@example.org"))
	h.VoiceRequest("alice")
	h.Advance(5 * time.Second)
	h.Reset()
	contains(t, "reply", cmd(t, h, officer, "ask #1 What brings you here?"), "Asked alice")
	q := h.Want("tell", "alice@example.org", "A vetting officer of room@muc.example.org asks:\nWhat brings you here?")
	if strings.Contains(q.Value, officer) {
		t.Fatalf("the question exposes the officer: %q", q.Value)
	}
	h.Reset()
	h.Private("bob@example.org", "hi bot")
	h.WantNone("tell", "")
	h.Private("alice@example.org", "I like physics")
	a := h.Want("tell", officer, "alice (#1) in room@muc.example.org answers your question \"What brings you here?\":\nI like physics")
	if a.Target != officer {
		t.Fatalf("answer went to %s", a.Target)
	}
	// Once decided, answers are no longer relayed.
	cmd(t, h, officer, "approve alice")
	h.Reset()
	h.Private("alice@example.org", "thanks!")
	h.WantNone("tell", officer)
}

func TestVouch(t *testing.T) {
	tests := []struct {
		name    string
		mut     func(*vetting.Config)
		voucher func(h *policytest.Harness) string
		want    string // "" = granted
	}{
		{"member vouches", nil, func(h *policytest.Harness) string { member(h, "bob", "bob@example.org"); return "bob@example.org" }, ""},
		{"officer vouches", nil, func(*policytest.Harness) string { return officer }, ""},
		{"voice is not enough by default", nil, func(h *policytest.Harness) string {
			h.Join(policytest.Occ("carl", "carl@example.org", policies.RoleParticipant))
			return "carl@example.org"
		}, "only members of room@muc.example.org can vouch"},
		{"voice is enough with vouch_by voice", func(c *vetting.Config) { c.VouchBy = vetting.VouchByVoice }, func(h *policytest.Harness) string {
			h.Join(policytest.Occ("carl", "carl@example.org", policies.RoleParticipant))
			return "carl@example.org"
		}, ""},
		{"visitors cannot vouch", func(c *vetting.Config) { c.VouchBy = vetting.VouchByVoice }, func(h *policytest.Harness) string {
			h.Join(visitor("vic", "vic@example.org"))
			return "vic@example.org"
		}, "only people with voice"},
		{"not for oneself", nil, func(h *policytest.Harness) string {
			o := visitor("alice2", "alice@example.org")
			h.Join(o)
			h.Room.Affs["alice@example.org"] = policies.AffMember
			return "alice@example.org"
		}, "you cannot vouch for yourself"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := setup(t, tt.mut)
			h.Join(visitor("alice", "alice@example.org"))
			who := tt.voucher(h)
			if tt.want != "" {
				usage(t, h, who, "vouch alice", tt.want)
				h.WantNone("role", "alice")
				return
			}
			contains(t, "reply", cmd(t, h, who, "vouch alice"), "alice has voice now", "officers will see your name")
			h.Want("role", "alice", "participant")
			h.Want("notify", "", "vouched for alice (alice@example.org) in room@muc.example.org; voice granted. "+who+" is answerable")
			contains(t, "record", cmd(t, h, officer, "vetting record "+who), "vouched for alice@example.org on Mon 2 Mar 12:00 (UTC)")
		})
	}
}

func TestBanOfVouchedPersonNamesVoucher(t *testing.T) {
	for _, how := range []string{"affiliation", "presence"} {
		t.Run(how, func(t *testing.T) {
			h := setup(t, nil)
			member(h, "bob", "bob@example.org")
			h.Join(visitor("alice", "alice@example.org"))
			cmd(t, h, "bob@example.org", "vouch alice")
			h.Advance(time.Hour)
			h.Reset()
			o := h.Room.Seats["alice"]
			ban := func() {
				o.Affiliation = policies.AffOutcast
				h.Deliver(policies.AffiliationChanged{Occupant: o, Old: policies.AffNone, Actor: "Mod"})
			}
			leave := func() {
				delete(h.Room.Seats, "alice")
				h.Deliver(policies.OccupantLeft{Occupant: o, Why: policies.LeftBanned, Actor: "Mod"})
			}
			if how == "affiliation" {
				ban()
				leave()
			} else {
				leave()
				ban()
			}
			notes := h.Calls("notify")
			if len(notes) != 1 {
				t.Fatalf("got %d notifications, want exactly one: %v", len(notes), notes)
			}
			contains(t, "notification", notes[0].Value, "alice@example.org was banned.",
				"bob@example.org vouched for them on Mon 2 Mar 12:00 (UTC)", "has vouched for 1 person, 1 of them banned since")
			contains(t, "record", cmd(t, h, officer, "vetting record bob@example.org"), "vouched for alice@example.org", "BANNED since")
			// The approval the vouch gave is gone: no voice on a later visit.
			h.Room.Affs["alice@example.org"] = policies.AffNone
			h.Reset()
			h.Join(visitor("alice", "alice@example.org"))
			h.WantNone("role", "alice")
		})
	}
}

func TestApprovedRejoinGetsVoiceBack(t *testing.T) {
	t.Run("by JID", func(t *testing.T) {
		h := setup(t, nil)
		h.Join(visitor("alice", "alice@example.org"))
		cmd(t, h, officer, "approve alice")
		h.Leave("alice")
		h.Advance(48 * time.Hour)
		h.Reset()
		h.Join(visitor("alice-laptop", "alice@example.org"))
		c := h.Want("role", "alice-laptop", "participant")
		if c.Why.Public != "approved earlier by vetting" {
			t.Fatalf("reason %+v", c.Why)
		}
		// Someone with voice already is left alone.
		h.Reset()
		h.Join(policytest.Occ("alice-phone", "alice@example.org", policies.RoleParticipant))
		h.WantNone("role", "")
	})
	t.Run("by occupant-id when the JID is hidden", func(t *testing.T) {
		h := setup(t, nil)
		h.Join(visitor("alice", "alice@example.org"))
		cmd(t, h, officer, "approve alice")
		h.Leave("alice")
		h.Reset()
		h.Join(policies.Occupant{Nick: "al", OccupantID: "oid-alice", Role: policies.RoleVisitor})
		h.Want("role", "al", "participant")
	})
	t.Run("not remembered when remember_approvals is off", func(t *testing.T) {
		h := setup(t, func(c *vetting.Config) { c.RememberApprovals = false })
		h.Join(visitor("alice", "alice@example.org"))
		cmd(t, h, officer, "approve alice")
		h.Leave("alice")
		h.Reset()
		h.Join(visitor("alice", "alice@example.org"))
		h.WantNone("role", "")
	})
}

func TestRevoke(t *testing.T) {
	h := setup(t, nil)
	h.Join(visitor("alice", "alice@example.org"))
	cmd(t, h, officer, "approve alice --member")
	h.Reset()
	contains(t, "reply", cmd(t, h, officer, "revoke alice"), "Revoked alice (alice@example.org): approval forgotten, membership removed, voice taken.")
	h.Want("role", "alice", "visitor")
	h.Want("affiliation", "alice@example.org", "none")
	h.Leave("alice")
	h.Reset()
	h.Join(visitor("alice", "alice@example.org"))
	h.WantNone("role", "")
	usage(t, h, officer, "revoke alice", "alice has no vetting approval and no voice to revoke")
	// By JID, while absent.
	h.Join(visitor("bea", "bea@example.org"))
	cmd(t, h, officer, "approve bea")
	h.Leave("bea")
	contains(t, "by jid", cmd(t, h, officer, "revoke bea@example.org"), "approval forgotten")
}

func TestOutsideHours(t *testing.T) {
	// policytest.Start is Monday 2 March 2026, 12:00 UTC = 13:00 in Berlin.
	h := setup(t, func(c *vetting.Config) { c.Hours = "Mon-Fri 18:00-22:00 Europe/Berlin" })
	h.Join(visitor("alice", "alice@example.org"))
	h.VoiceRequest("alice")
	h.Want("tell", "alice@example.org", "queued (position 1 of 1). A vetting officer will get back to you; please stay in the room. Vetting is closed now and resumes Mon 18:00 (Europe/Berlin).")
	contains(t, "queue", pending(t, h), "#1 alice", "Vetting hours are closed now; they resume Mon 18:00 (Europe/Berlin).")
	h.Advance(4*time.Hour + 59*time.Minute)
	h.WantNone("notify", "")
	h.Advance(time.Minute)
	h.Want("notify", "", "#1 alice")
}

func TestAnswerButtonRequests(t *testing.T) {
	h := setup(t, func(c *vetting.Config) { c.AnswerButtonRequestsWith = "Read the room subject to request voice." })
	h.Join(visitor("alice", "alice@example.org"))
	h.VoiceRequest("alice")
	h.Want("tell", "alice@example.org", "Read the room subject to request voice.")
	contains(t, "queue", pending(t, h), "No pending")
	h.Rename("alice", "?alice")
	contains(t, "queue", pending(t, h), "#1 ?alice")
}

func TestServers(t *testing.T) {
	tests := []struct {
		name     string
		mut      func(*vetting.Config)
		jid      string
		accepted bool
	}{
		{"denied server", func(c *vetting.Config) { c.DeniedServers = []string{"evil.example"} }, "mallory@evil.example", false},
		{"other server with a deny list", func(c *vetting.Config) { c.DeniedServers = []string{"evil.example"} }, "alice@example.org", true},
		{"not on the allow list", func(c *vetting.Config) { c.AllowedServers = []string{"good.example"} }, "alice@example.org", false},
		{"on the allow list", func(c *vetting.Config) { c.AllowedServers = []string{"good.example"} }, "alice@good.example", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := setup(t, tt.mut)
			server := tt.jid[strings.IndexByte(tt.jid, '@')+1:]
			refused := "Sorry, accounts from " + server + " are not accepted for voice in room@muc.example.org."
			h.Join(visitor("x", tt.jid))
			if tt.accepted {
				h.WantNone("tell", "")
			} else {
				h.Want("tell", tt.jid, refused)
			}
			h.Reset()
			h.VoiceRequest("x")
			q := pending(t, h)
			if tt.accepted {
				contains(t, "queue", q, "#1 x")
				return
			}
			h.Want("tell", tt.jid, refused)
			contains(t, "queue", q, "No pending")
		})
	}
}

func TestMaxPending(t *testing.T) {
	h := setup(t, func(c *vetting.Config) { c.MaxPending = 2 })
	for _, n := range []string{"a", "b", "c"} {
		h.Join(visitor(n, n+"@example.org"))
		h.VoiceRequest(n)
	}
	h.Want("tell", "c@example.org", "the voice-request queue of room@muc.example.org is full right now. Please try again")
	contains(t, "queue", pending(t, h), "2 pending voice requests")
}

func TestExpiryAfterLeave(t *testing.T) {
	h := setup(t, nil)
	h.Join(visitor("alice", "alice@example.org"))
	h.VoiceRequest("alice")
	h.Leave("alice")
	contains(t, "dropped at once", pending(t, h), "No pending")

	h = setup(t, func(c *vetting.Config) { c.KeepAfterLeave = 2 * time.Hour })
	h.Join(visitor("alice", "alice@example.org"))
	h.VoiceRequest("alice")
	h.Leave("alice")
	h.Want("schedule", "expire:alice@example.org", "2026-03-02T14:00:00Z")
	h.Advance(time.Hour)
	contains(t, "kept", pending(t, h), "#1 alice", "left 1h00m ago")
	h.Join(visitor("alice", "alice@example.org"))
	h.Want("cancel", "expire:alice@example.org", "")
	h.Advance(3 * time.Hour)
	contains(t, "back", pending(t, h), "#1 alice", "in room 3h00m")
	h.Leave("alice")
	h.Advance(2 * time.Hour)
	contains(t, "expired", pending(t, h), "No pending")
}

func TestRoleChanges(t *testing.T) {
	h := setup(t, nil)
	h.Join(visitor("alice", "alice@example.org"))
	h.VoiceRequest("alice")
	o := h.Room.Seats["alice"]
	o.Role = policies.RoleParticipant
	h.Room.Put(o)
	h.Deliver(policies.RoleChanged{Occupant: o, Old: policies.RoleVisitor, Actor: "Mod"})
	contains(t, "voiced elsewhere", pending(t, h), "No pending")

	h.Join(visitor("bob", "bob@example.org"))
	cmd(t, h, officer, "approve bob")
	devoice := func(actor string) {
		b := h.Room.Seats["bob"]
		b.Role = policies.RoleVisitor
		h.Room.Put(b)
		h.Deliver(policies.RoleChanged{Occupant: b, Old: policies.RoleParticipant, Actor: actor})
	}
	h.Reset()
	devoice("Steward") // another policy (debate, idle) at work: keep the approval
	h.WantNone("notify", "")
	devoice("Mod")
	h.Want("notify", "", "bob (bob@example.org) was devoiced by Mod")
	h.Leave("bob")
	h.Reset()
	h.Join(visitor("bob", "bob@example.org"))
	h.WantNone("role", "")
}

func TestJoinedRoomSweep(t *testing.T) {
	h := setup(t, func(c *vetting.Config) { c.KeepAfterLeave = time.Hour })
	h.Join(visitor("alice", "alice@example.org"))
	cmd(t, h, officer, "approve alice")
	h.Join(visitor("carol", "carol@example.org"))
	h.VoiceRequest("carol")
	// The bot was away: alice lost voice, carol left, dave arrived with a marker.
	a := h.Room.Seats["alice"]
	a.Role = policies.RoleVisitor
	h.Room.Put(a)
	delete(h.Room.Seats, "carol")
	h.Room.Put(visitor("?dave", "dave@example.org"))
	h.Reset()
	h.Deliver(policies.JoinedRoom{Self: h.Room.SelfOcc, Rejoin: true})
	h.Want("role", "alice", "participant")
	h.Want("schedule", "expire:carol@example.org", "")
	h.WantNone("tell", "")
	q := pending(t, h)
	contains(t, "queue", q, "?dave — dave@example.org · via marker", "carol — carol@example.org", "left 0s ago")
}

func TestRunTimeSettings(t *testing.T) {
	h := setup(t, nil)
	contains(t, "show", cmd(t, h, officer, "vetting show"), "Vetting in room@muc.example.org: 0 pending, hours open now.", "\nmarker: \"?\"", "\ncooldown: 24h0m0s", "\nwelcome: \"You have voice now. Welcome!\"")
	if err := h.Command(officer, "vetting set cooldown 1h", false); err == nil {
		t.Fatal("an officer changed the rules; admins only")
	}
	contains(t, "set", cmd(t, h, admin, "vetting set hours Mon-Fri 18:00-22:00 Europe/Berlin"), "hours is now Mon-Fri 18:00-22:00 Europe/Berlin")
	contains(t, "set", cmd(t, h, admin, "vetting set denied_servers evil.example, bad.example"), "denied_servers is now evil.example, bad.example")
	contains(t, "set", cmd(t, h, admin, "vetting set answer_button_requests_with Put ? in front of your nick."), `"Put ? in front of your nick."`)
	usage(t, h, admin, "vetting set max_pending 0", "max_pending: must be between 1 and 10000, got 0")
	usage(t, h, admin, "vetting set hours Mon-Fry 10:00-11:00", `hours: "Fry" is not a day`)
	usage(t, h, admin, "vetting set marker !", "marker: cannot be set at run time")
	show := cmd(t, h, officer, "vetting show")
	contains(t, "show", show, "hours closed, resumes Mon 18:00 (Europe/Berlin)", "hours: Mon-Fri 18:00-22:00 Europe/Berlin (set by command)", "max_pending: 50\n")
	h.Join(visitor("m", "m@evil.example"))
	h.Want("tell", "m@evil.example", "not accepted")
	contains(t, "reset", cmd(t, h, admin, "vetting reset hours"), "hours is back to the config file's value: always")
	contains(t, "reset twice", cmd(t, h, admin, "vetting reset hours"), "was not changed at run time")
	usage(t, h, admin, "vetting reset welcome", "welcome cannot be set at run time")

	// The settings are in the KV: a new instance has them.
	p := restart(t, h)
	contains(t, "after restart", run(t, h, p, officer, "vetting show"), "denied_servers: evil.example, bad.example (set by command)", "hours: always\n")
}

// restart builds a new policy instance over the harness's KV, as after a
// process restart or a reload, and makes the harness deliver to it.
func restart(t testing.TB, h *policytest.Harness) policies.Policy {
	t.Helper()
	c := vetting.Defaults()
	p, err := vetting.Spec.New(c, policies.Deps{Room: h.Room.JID, KV: h.KV, Audit: h.Audit})
	if err != nil {
		t.Fatal(err)
	}
	h.Policy = p
	return p
}

// run is Harness.Command for a policy instance the harness was not built with.
func run(t testing.TB, h *policytest.Harness, p policies.Policy, from, line string) string {
	t.Helper()
	words, err := policies.SplitArgs(line)
	if err != nil {
		t.Fatal(err)
	}
	c, path, rest := policies.Find(p.(policies.Commander).Commands(), words)
	if c == nil || c.Run == nil {
		t.Fatalf("no command %q", line)
	}
	fj := jid.MustParse(from)
	var reply string
	inv := policies.Invocation{Path: path, Args: rest, Text: policies.TextAfter(line, len(words)-len(rest)), From: fj,
		Level: h.Room.LevelOf(fj.String()), At: h.Now,
		Reply: func(_ context.Context, text string) error { reply = text; return nil }}
	if err := c.Run(context.Background(), inv, h.Room, h.Rec); err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	return reply
}

func TestRestartKeepsEverything(t *testing.T) {
	h := setup(t, nil)
	for _, n := range []string{"alice", "bob", "carol"} {
		h.Join(visitor(n, n+"@example.org"))
		h.VoiceRequest(n)
		h.Advance(time.Minute)
	}
	cmd(t, h, officer, "ask #2 Who invited you?")
	h.Join(visitor("dora", "dora@example.org"))
	cmd(t, h, officer, "approve dora")
	h.Leave("dora")
	h.Join(visitor("erin", "erin@example.org"))
	h.VoiceRequest("erin") // announced in 3s: the process dies first
	h.Reset()

	p := restart(t, h)
	h.Advance(5 * time.Second) // the stored timer fires in the new instance
	h.Want("notify", "", "#4 erin")
	q := run(t, h, p, officer, "queue")
	contains(t, "queue after restart", q, "4 pending voice requests", "#1 alice", "#2 bob", "#3 carol", "#4 erin")
	h.Private("bob@example.org", "my friend Ann")
	h.Want("tell", officer, "bob (#2) in room@muc.example.org answers your question \"Who invited you?\":\nmy friend Ann")
	h.Join(visitor("dora", "dora@example.org"))
	h.Want("role", "dora", "participant")
	run(t, h, p, officer, "approve #1")
	h.Want("role", "alice", "participant")
	contains(t, "queue", run(t, h, p, officer, "queue"), "3 pending voice requests", "#1 bob")
}

func TestApproveWhileAway(t *testing.T) {
	h := setup(t, func(c *vetting.Config) { c.KeepAfterLeave = 2 * time.Hour })
	h.Join(visitor("alice", "alice@example.org"))
	h.VoiceRequest("alice")
	h.Leave("alice")
	contains(t, "reply", cmd(t, h, officer, "approve alice"), "Approved alice (alice@example.org): remembered.")
	h.Want("tell", "alice@example.org", "your voice request was approved. You will get voice when you join the room.")
	h.Want("cancel", "expire:alice@example.org", "")
	h.Join(visitor("alice", "alice@example.org"))
	h.Want("role", "alice", "participant")

	h = setup(t, func(c *vetting.Config) { c.KeepAfterLeave = 2 * time.Hour; c.RememberApprovals = false })
	h.Join(visitor("bob", "bob@example.org"))
	h.VoiceRequest("bob")
	h.Leave("bob")
	usage(t, h, officer, "approve bob", "bob is not in the room, and remember_approvals is off")
	contains(t, "still queued", pending(t, h), "#1 bob")
}

func TestFactsAtAGlance(t *testing.T) {
	h := setup(t, nil)
	h.Audit.Add(store.AuditRecord{At: policytest.Start.Add(-30 * 24 * time.Hour), Room: "room@muc.example.org", Action: "affiliation",
		TargetJID: "alice@example.org", Value: "outcast", Result: "ok"})
	h.Join(visitor("alice", "alice@example.org"))
	h.Advance(10 * time.Minute)
	// Remote text cannot fake extra lines in an officer's message.
	cmd(t, h, "alice@example.org", "request hi\n#2 trusted — admin@example.org")
	q := pending(t, h)
	contains(t, "queue", q, "#1 alice — alice@example.org · via dm · asked 0s ago · in room 10m · server example.org · BANNED here before (2026-01-31)",
		`says: "hi #2 trusted — admin@example.org"`)
	if strings.Count(q, "\n") != 1 {
		t.Fatalf("listing has extra lines:\n%s", q)
	}
}

// failingKV fails every write, as an unreachable Redis would.
type failingKV struct{ store.KV }

func (failingKV) Put(context.Context, string, string, []byte) error {
	return errors.New("redis: connection refused")
}

func TestStoreErrorsAreReturned(t *testing.T) {
	h := setup(t, nil)
	p, err := vetting.New(*vetting.Defaults(), policies.Deps{Room: h.Room.JID, KV: failingKV{h.KV}})
	if err != nil {
		t.Fatal(err)
	}
	h.Policy = p
	h.Room.Put(visitor("alice", "alice@example.org"))
	_, err = h.DeliverErr(policies.VoiceRequested{From: h.Room.Seats["alice"], Nick: "alice", RealJID: jid.MustParse("alice@example.org")})
	if err == nil || !strings.Contains(err.Error(), "vetting: save queue: redis: connection refused") {
		t.Fatalf("error = %v", err)
	}
	h.WantNone("tell", "")
}

// TestBanSeenAfterFirstLookup: the "banned here before" fact is read from
// the audit log once per person and then kept current by ban events, so a
// ban after the first request still shows on the next one.
func TestBanSeenAfterFirstLookup(t *testing.T) {
	h := setup(t, nil)
	h.Join(visitor("bob", "bob@example.org"))
	cmd(t, h, "bob@example.org", "request first try")
	if q := pending(t, h); strings.Contains(q, "BANNED") {
		t.Fatalf("no ban yet, but the queue says:\n%s", q)
	}
	o := h.Room.Seats["bob"]
	delete(h.Room.Seats, "bob")
	o.Affiliation = policies.AffOutcast
	h.Deliver(policies.OccupantLeft{Occupant: o, Why: policies.LeftBanned})
	h.Advance(time.Hour)
	h.Join(visitor("bob", "bob@example.org"))
	cmd(t, h, "bob@example.org", "request second try")
	contains(t, "queue", pending(t, h), "BANNED here before (2026-03-02)")
}

func TestReportForStatus(t *testing.T) {
	h := setup(t, nil)
	h.Join(visitor("bob", "bob@example.org"))
	h.VoiceRequest("bob")
	rep := h.Policy.(policies.Reporter).Report()
	contains(t, "report", rep, "1 pending voice request(s), max 50", "vetting hours: always")
}
