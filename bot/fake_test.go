package bot

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"mellium.im/xmpp/jid"

	"github.com/steward-xmpp/steward/policies"
	"github.com/steward-xmpp/steward/policies/policytest"
	"github.com/steward-xmpp/steward/store"
	"github.com/steward-xmpp/steward/store/memstore"
)

// sent is one stanza the fake transport was asked to send.
type sent struct {
	Op     string // role, affiliation, retract, groupchat, private, direct, configure
	Room   string
	Target string // nick, bare JID, stanza-id or recipient
	Value  string // role, affiliation, namespace, text or fields
	Reason string
}

func (s sent) String() string {
	return fmt.Sprintf("%s(%s, %s, %q, %q)", s.Op, s.Room, s.Target, s.Value, s.Reason)
}

// fakeTransport records every call and fails the ops listed in fail.
type fakeTransport struct {
	mu   sync.Mutex
	sent []sent
	fail map[string]error
}

var _ Transport = (*fakeTransport)(nil)

func (f *fakeTransport) rec(op string, room jid.JID, target, value, reason string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fail[op]; err != nil {
		return err
	}
	f.sent = append(f.sent, sent{Op: op, Room: room.String(), Target: target, Value: value, Reason: reason})
	return nil
}

func (f *fakeTransport) calls() []sent {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sent(nil), f.sent...)
}

func (f *fakeTransport) SetRole(_ context.Context, room jid.JID, nick string, role policies.Role, reason string) error {
	return f.rec("role", room, nick, string(role), reason)
}

func (f *fakeTransport) SetAffiliation(_ context.Context, room jid.JID, bare string, aff policies.Affiliation, reason string) error {
	return f.rec("affiliation", room, bare, string(aff), reason)
}

func (f *fakeTransport) Retract(_ context.Context, room jid.JID, ns, stanzaID, reason string) error {
	return f.rec("retract", room, stanzaID, ns, reason)
}

func (f *fakeTransport) SendGroupchat(_ context.Context, room jid.JID, body string) error {
	return f.rec("groupchat", room, "", body, "")
}

func (f *fakeTransport) SendPrivate(_ context.Context, room jid.JID, nick, body string) error {
	return f.rec("private", room, nick, body, "")
}

func (f *fakeTransport) SendDirect(_ context.Context, to string, body string) error {
	return f.rec("direct", jid.JID{}, to, body, "")
}

func (f *fakeTransport) Configure(_ context.Context, room jid.JID, fields map[string][]string) error {
	return f.rec("configure", room, "", formatFields(fields), "")
}

const testRoom = "agora@muc.example.org"

// newTestRoom returns a room where the bot is admin, with an owner (olga),
// an admin (adam), an officer who is a member (otto), a participant (uma)
// and a visitor (vic).
func newTestRoom() *policytest.Room {
	r := policytest.NewRoom(testRoom)
	seat := func(nick, bare string, role policies.Role, aff policies.Affiliation) {
		r.Put(policies.Occupant{Nick: nick, RealJID: jid.MustParse(bare + "/res"), RealRaw: bare + "/res",
			OccupantID: "id-" + nick, Role: role, Affiliation: aff})
	}
	seat("olga", "olga@example.org", policies.RoleModerator, policies.AffOwner)
	seat("adam", "adam@example.org", policies.RoleModerator, policies.AffAdmin)
	seat("otto", "otto@example.org", policies.RoleParticipant, policies.AffMember)
	seat("uma", "uma@example.org", policies.RoleParticipant, policies.AffNone)
	seat("vic", "vic@example.org", policies.RoleVisitor, policies.AffNone)
	r.OfficerSet["otto@example.org"] = true
	return r
}

// fixture is an executor over a fake transport and a memstore audit log,
// logging into an observer.
type fixture struct {
	ex   *Executor
	tr   *fakeTransport
	st   *memstore.Store
	logs *observer.ObservedLogs
	m    *Metrics
}

func newFixture(t testing.TB, lim Limits) *fixture {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	f := &fixture{tr: &fakeTransport{fail: map[string]error{}}, st: memstore.New(), logs: logs, m: NewMetrics(nil)}
	f.ex = NewExecutor(f.tr, f.st.Audit(), lim, f.m, zap.New(core))
	return f
}

// records returns the room's audit log, oldest first.
func (f *fixture) records(t testing.TB) []store.AuditRecord {
	t.Helper()
	recs, err := f.st.Audit().Recent(context.Background(), testRoom, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for i, j := 0, len(recs)-1; i < j; i, j = i+1, j-1 {
		recs[i], recs[j] = recs[j], recs[i]
	}
	return recs
}

// fakeTimers is a TimerSetter that records calls.
type fakeTimers struct {
	calls []string
}

func (ft *fakeTimers) Schedule(_ context.Context, room, policy, key string, at time.Time) error {
	ft.calls = append(ft.calls, strings.Join([]string{"schedule", room, policy, key, at.UTC().Format(time.RFC3339)}, " "))
	return nil
}

func (ft *fakeTimers) Cancel(_ context.Context, room, policy, key string) error {
	ft.calls = append(ft.calls, strings.Join([]string{"cancel", room, policy, key}, " "))
	return nil
}
