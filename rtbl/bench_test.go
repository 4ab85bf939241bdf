package rtbl

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.uber.org/zap"
	"mellium.im/xmpp/jid"

	"github.com/steward-xmpp/steward/policies"
	"github.com/steward-xmpp/steward/policies/policytest"
	"github.com/steward-xmpp/steward/store/memstore"
)

// benchService returns a service whose apply list holds 100,000 entries:
// user0@spam0.example … and the domain evil.example.
func benchService(b *testing.B) *Service {
	b.Helper()
	entries := make([]Entry, 0, 100_000)
	for i := range 100_000 - 1 {
		entries = append(entries, Entry{ID: Hash(fmt.Sprintf("user%d@spam%d.example", i, i%97)), Reason: ReasonSpam})
	}
	entries = append(entries, Entry{ID: Hash("evil.example"), Reason: ReasonSpam})
	src := newSource()
	src.items[DefaultNode] = entries
	s := NewService(testLists[:1], nil, src, memstore.NewKV(), nil, zap.NewNop())
	if err := s.syncList(context.Background(), s.byName["xmppbl"]); err != nil {
		b.Fatal(err)
	}
	if n := s.Status()[0].Size; n != 100_000 {
		b.Fatalf("list holds %d entries", n)
	}
	return s
}

// BenchmarkMatch measures the membership check of the join path: two
// SHA-256 hashes and two map lookups per list. Goal: 0 allocs/op.
func BenchmarkMatch(b *testing.B) {
	s := benchService(b)
	cases := []struct {
		name, jid string
		hits      int
	}{
		{"hit_jid", "user4242@spam71.example", 1},
		{"hit_domain", "anyone@evil.example", 1},
		{"miss", "friend@example.org", 0},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			dst := make([]Hit, 0, 4)
			if got := len(s.AppendMatches(dst, tc.jid)); got != tc.hits {
				b.Fatalf("%d hits, want %d", got, tc.hits)
			}
			b.ReportAllocs()
			for b.Loop() {
				dst = s.AppendMatches(dst[:0], tc.jid)
			}
		})
	}
}

// BenchmarkJoin measures the policy's whole join path (Handle of an
// OccupantJoined) up to the outcast request, with actions that do nothing:
// the bot's internal share of join→ban latency.
func BenchmarkJoin(b *testing.B) {
	s := benchService(b)
	room := policytest.NewRoom("room@muc.example.org")
	p := New(s, *Defaults(), policies.Deps{Room: room.JID, Log: zap.NewNop(), KV: memstore.NewKV()})
	cases := []struct{ name, jid string }{
		{"listed", "user4242@spam71.example/res"},
		{"clean", "friend@example.org/res"},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			o := policytest.Occ("nick", tc.jid, policies.RoleParticipant)
			room.Put(o)
			ev := policies.OccupantJoined{EventMeta: policies.EventMeta{Room: room.JID, At: policytest.Start}, Occupant: o}
			var act nopActions
			b.ReportAllocs()
			for b.Loop() {
				clear(p.checked)
				if _, err := p.Handle(context.Background(), ev, room, act); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// nopActions accepts every action and does nothing.
type nopActions struct{}

func (nopActions) SetRole(context.Context, string, policies.Role, policies.Reason) error { return nil }
func (nopActions) SetAffiliation(context.Context, jid.JID, policies.Affiliation, policies.Reason) error {
	return nil
}
func (nopActions) Kick(context.Context, string, policies.Reason) error    { return nil }
func (nopActions) Retract(context.Context, string, policies.Reason) error { return nil }
func (nopActions) Say(context.Context, string) error                      { return nil }
func (nopActions) Whisper(context.Context, string, string) error          { return nil }
func (nopActions) Tell(context.Context, jid.JID, string) error            { return nil }
func (nopActions) NotifyOfficers(context.Context, string) error           { return nil }
func (nopActions) ConfigureRoom(context.Context, map[string][]string, policies.Reason) error {
	return nil
}
func (nopActions) Schedule(context.Context, string, time.Time) error { return nil }
func (nopActions) Cancel(context.Context, string) error              { return nil }
func (nopActions) Undo(context.Context, policies.UndoFilter, policies.Reason) (int, error) {
	return 0, nil
}

// TestMatchDoesNotAllocate keeps the benchmark's goal in the ordinary test run.
func TestMatchDoesNotAllocate(t *testing.T) {
	s := newService(t, memstore.NewKV(), newSource(), nil)
	must(t, s.OnEvent(t.Context(), "xmppbl.org", DefaultNode, []Entry{ent("spammer@example.com", "x"), ent("evil.example", "")}, nil))
	dst := make([]Hit, 0, 4)
	for _, j := range []string{"spammer@example.com", "a@evil.example", "friend@example.org"} {
		if n := testing.AllocsPerRun(100, func() { dst = s.AppendMatches(dst[:0], j) }); n != 0 {
			t.Errorf("AppendMatches(%q) allocates %v times", j, n)
		}
	}
}
