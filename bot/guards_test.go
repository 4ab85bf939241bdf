package bot

import (
	"errors"
	"strings"
	"testing"

	"go.uber.org/zap/zapcore"

	"github.com/steward-xmpp/steward/policies"
)

// person is one target of the guard table, by nick and by bare JID.
type person struct {
	name string
	nick string
	bare string
	// what is the guard's description, "" when not protected.
	what string
}

var people = []person{
	{"self", "Steward", "steward@example.org", "Steward itself"},
	{"owner", "olga", "olga@example.org", "an owner here"},
	{"admin", "adam", "adam@example.org", "an admin here"},
	{"officer", "otto", "otto@example.org", "an officer here"},
	{"user", "uma", "uma@example.org", ""},
}

func TestGuards(t *testing.T) {
	actions := []struct {
		name    string
		req     func(p person) Request
		adverse bool
	}{
		{"devoice", func(p person) Request { return Request{Kind: KindRole, Nick: p.nick, Role: policies.RoleVisitor} }, true},
		{"role none", func(p person) Request { return Request{Kind: KindRole, Nick: p.nick, Role: policies.RoleNone} }, true},
		{"kick", func(p person) Request { return Request{Kind: KindKick, Nick: p.nick} }, true},
		{"ban", func(p person) Request { return Request{Kind: KindAffiliation, JID: p.bare, Aff: policies.AffOutcast} }, true},
		{"retract by nick", func(p person) Request { return Request{Kind: KindRetract, StanzaID: "s1", Nick: p.nick} }, true},
		{"retract by jid", func(p person) Request { return Request{Kind: KindRetract, StanzaID: "s1", JID: p.bare} }, true},
		{"whisper", func(p person) Request { return Request{Kind: KindWhisper, Nick: p.nick, Text: "hi"} }, false},
		{"tell", func(p person) Request { return Request{Kind: KindTell, JID: p.bare, Text: "hi"} }, false},
	}
	for _, a := range actions {
		for _, p := range people {
			t.Run(a.name+"/"+p.name, func(t *testing.T) {
				f := newFixture(t, Limits{})
				req := a.req(p)
				req.Actor, req.Policy, req.Why = "policy:test", "test", policies.Because("testing")
				rec, err := f.ex.Do(t.Context(), newTestRoom(), req)
				guarded := a.adverse && p.what != ""
				if !guarded {
					if err != nil {
						t.Fatalf("Do = %v, want no error", err)
					}
					if rec.Result != ResultOK || len(f.tr.calls()) == 0 {
						t.Fatalf("result %q, sent %v; want ok and sent", rec.Result, f.tr.calls())
					}
					return
				}
				if !errors.Is(err, policies.ErrGuarded) {
					t.Fatalf("Do = %v, want ErrGuarded", err)
				}
				var ge *GuardError
				if !errors.As(err, &ge) || ge.What != p.what {
					t.Fatalf("Do = %#v, want a GuardError saying %q", err, p.what)
				}
				if got := f.tr.calls(); len(got) != 0 {
					t.Fatalf("sent %v despite the guard", got)
				}
				if rec.Result != ResultRefused || rec.Error != err.Error() || rec.ID == "" {
					t.Fatalf("record %+v, want refused with the error, stored", rec)
				}
			})
		}
	}
}

// Granting voice is never guarded, even to an admin or the bot itself;
// taking moderator away (moderator to participant) is.
func TestGuardsVoice(t *testing.T) {
	for _, p := range people {
		t.Run("grant/"+p.name, func(t *testing.T) {
			f := newFixture(t, Limits{})
			room := newTestRoom()
			o := room.Seats[p.nick]
			o.Role = policies.RoleVisitor
			room.Seats[p.nick] = o
			if _, err := f.ex.Do(t.Context(), room, Request{Actor: "policy:p", Kind: KindRole, Nick: p.nick, Role: policies.RoleParticipant}); err != nil {
				t.Fatalf("granting voice to %s: %v", p.nick, err)
			}
		})
		t.Run("demote/"+p.name, func(t *testing.T) {
			f := newFixture(t, Limits{})
			room := newTestRoom()
			o := room.Seats[p.nick]
			o.Role = policies.RoleModerator
			room.Seats[p.nick] = o
			_, err := f.ex.Do(t.Context(), room, Request{Actor: "policy:p", Kind: KindRole, Nick: p.nick, Role: policies.RoleParticipant})
			if got, want := errors.Is(err, policies.ErrGuarded), p.what != ""; got != want {
				t.Fatalf("demoting %s: %v; guarded %v, want %v", p.nick, err, got, want)
			}
		})
	}
}

// Affiliation changes are adverse when they lower someone: a member made
// "none" loses membership, an admin made member loses admin.
func TestGuardsAffiliationLowering(t *testing.T) {
	tests := []struct {
		name  string
		bare  string
		aff   policies.Affiliation
		wantG bool
	}{
		{"admin to member", "adam@example.org", policies.AffMember, true},
		{"owner to admin", "olga@example.org", policies.AffAdmin, true},
		{"officer member to none", "otto@example.org", policies.AffNone, true},
		{"officer member to member", "otto@example.org", policies.AffMember, false},
		{"user to member", "uma@example.org", policies.AffMember, false},
		{"user to none", "uma@example.org", policies.AffNone, false},
		{"admin to owner", "adam@example.org", policies.AffOwner, false},
		{"absent admin from the list", "ada@example.org", policies.AffOutcast, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, Limits{})
			room := newTestRoom()
			room.Affs["ada@example.org"] = policies.AffAdmin
			room.SelfOcc.Affiliation = policies.AffOwner // so that granting owner is allowed
			_, err := f.ex.Do(t.Context(), room, Request{Actor: "boss@example.org", Kind: KindAffiliation, JID: tc.bare, Aff: tc.aff})
			if got := errors.Is(err, policies.ErrGuarded); got != tc.wantG {
				t.Fatalf("Do = %v, guarded %v, want %v", err, got, tc.wantG)
			}
		})
	}
}

// A guarded person whose real JID is hidden is still protected by the
// affiliation the room shows in their presence.
func TestGuardsHiddenJID(t *testing.T) {
	f := newFixture(t, Limits{})
	room := newTestRoom()
	room.Put(policies.Occupant{Nick: "anon-admin", Role: policies.RoleModerator, Affiliation: policies.AffAdmin})
	_, err := f.ex.Do(t.Context(), room, Request{Actor: "policy:test", Kind: KindKick, Nick: "anon-admin"})
	if !errors.Is(err, policies.ErrGuarded) || !strings.Contains(err.Error(), "refused: anon-admin is an admin here") {
		t.Fatalf("Do = %v, want a guarded refusal naming anon-admin", err)
	}
}

func TestGuardRefusalIsLoggedAtWarn(t *testing.T) {
	f := newFixture(t, Limits{})
	_, err := f.ex.Do(t.Context(), newTestRoom(), Request{Actor: "policy:antispam", Policy: "antispam", Kind: KindKick, Nick: "otto", Why: policies.Because("spam")})
	if err == nil {
		t.Fatal("kicking an officer succeeded")
	}
	want := "refused: otto@example.org is an officer here; Steward never acts against owners, admins, officers or itself"
	if err.Error() != want {
		t.Fatalf("error %q, want %q", err, want)
	}
	logs := f.logs.FilterLevelExact(zapcore.WarnLevel).FilterMessage("action refused by the guards").All()
	if len(logs) != 1 {
		t.Fatalf("got %d warn logs, want 1: %v", len(logs), f.logs.All())
	}
	ctx := logs[0].ContextMap()
	if ctx["policy"] != "antispam" || ctx["nick"] != "otto" || ctx["jid"] != "otto@example.org" {
		t.Fatalf("log fields %v lack policy, nick or jid", ctx)
	}
}
