// Package storetest is the conformance suite every store.All implementation
// must pass, in the manner of testing/fstest.TestFS: the implementation's
// own test calls Run with a function that opens a fresh, empty store.
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.All { return memstore.New() })
//	}
//
// What the suite pins down beyond store.go's comments:
//   - audit IDs are short lowercase base36 strings, unique under concurrency;
//   - rooms are compared without case in Audit, Rooms and Settings;
//   - timer deadlines keep millisecond precision (redisstore stores unix ms);
//   - KV values are copied in and out, and Replace with an empty map
//     deletes the namespace.
package storetest

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/steward-xmpp/steward/store"
)

// Run runs every conformance test. open is called once per subtest and
// must return an empty store; it should register its own cleanup.
func Run(t *testing.T, open func(t *testing.T) store.All) {
	t.Helper()
	groups := []struct {
		name  string
		tests []test
	}{
		{"Audit", auditTests},
		{"Timers", timerTests},
		{"Rooms", roomTests},
		{"Settings", settingsTests},
		{"KV", kvTests},
		{"All", allTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
			}
		})
	}
}

type test struct {
	name string
	fn   func(t *testing.T, st store.All)
}

// base is a millisecond-aligned instant so that every backend can store it
// exactly.
var base = time.UnixMilli(1_760_000_000_000).UTC()

const (
	roomA = "a@muc.example.org"
	roomB = "b@muc.example.org"
)

// must fails the test on err; it keeps the tables short.
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func diff(t *testing.T, what string, want, got any, opts ...gocmp.Option) {
	t.Helper()
	if d := gocmp.Diff(want, got, append(opts, cmpopts.EquateEmpty())...); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", what, d)
	}
}

func wantNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("%s: err = %v, want store.ErrNotFound", what, err)
	}
}

// appendAll appends recs in order and returns them as stored.
func appendAll(t *testing.T, a store.Audit, recs ...store.AuditRecord) []store.AuditRecord {
	t.Helper()
	out := make([]store.AuditRecord, len(recs))
	for i, r := range recs {
		got, err := a.Append(t.Context(), r)
		must(t, err)
		out[i] = got
	}
	return out
}

func rec(room, action, target, group string, i int) store.AuditRecord {
	return store.AuditRecord{
		At:        base.Add(time.Duration(i) * time.Second),
		Room:      room,
		Actor:     "policy:test",
		Policy:    "test",
		Action:    action,
		TargetJID: target,
		Group:     group,
		Value:     fmt.Sprint(i),
		Result:    "ok",
	}
}

func ids(recs []store.AuditRecord) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.ID
	}
	return out
}

func reversed[T any](s []T) []T {
	out := make([]T, len(s))
	for i, v := range s {
		out[len(s)-1-i] = v
	}
	return out
}

var auditTests = []test{
	{"AppendRoundTrip", func(t *testing.T, st store.All) {
		ctx := t.Context()
		in := store.AuditRecord{
			ID:         "ignored",
			At:         base.In(time.FixedZone("X", 3600)).Add(123456789 * time.Nanosecond),
			Room:       roomA,
			Actor:      "mod@example.org",
			Policy:     "vetting",
			Action:     "role",
			TargetJID:  "alice@example.org",
			TargetNick: `ali"ce {x} ☃`,
			Value:      "participant",
			Prev:       "visitor",
			Public:     "welcome",
			Private:    "vouched by bob",
			Group:      "g1",
			Ref:        "ref-1",
			Result:     "ok",
			Error:      "",
			UndoOf:     "zz",
		}
		got, err := st.Audit().Append(ctx, in)
		must(t, err)
		if got.ID == "" || got.ID == "ignored" {
			t.Fatalf("Append ID = %q, want a new ID", got.ID)
		}
		want := in
		want.ID = got.ID
		diff(t, "Append result", want, got)
		back, err := st.Audit().Get(ctx, got.ID)
		must(t, err)
		diff(t, "Get", want, back)
	}},
	{"IDsShortUniqueTypeable", func(t *testing.T, st store.All) {
		seen := map[string]bool{}
		for i := range 100 {
			r, err := st.Audit().Append(t.Context(), rec([]string{roomA, roomB}[i%2], "kick", "", "", i))
			must(t, err)
			if len(r.ID) == 0 || len(r.ID) > 8 || strings.Trim(r.ID, "0123456789abcdefghijklmnopqrstuvwxyz") != "" {
				t.Fatalf("ID %q: want 1-8 characters of [0-9a-z]", r.ID)
			}
			if seen[r.ID] {
				t.Fatalf("ID %q given twice", r.ID)
			}
			seen[r.ID] = true
		}
	}},
	{"IDsUniqueUnderConcurrency", func(t *testing.T, st store.All) {
		const workers, each = 8, 25
		var (
			mu   sync.Mutex
			seen = map[string]bool{}
			wg   sync.WaitGroup
			errs = make(chan error, workers*each)
		)
		for w := range workers {
			wg.Go(func() {
				for i := range each {
					r, err := st.Audit().Append(context.Background(), rec(roomA, "say", "", "", w*each+i))
					if err != nil {
						errs <- err
						return
					}
					mu.Lock()
					if seen[r.ID] {
						errs <- fmt.Errorf("ID %q given twice", r.ID)
					}
					seen[r.ID] = true
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		got, err := st.Audit().Recent(t.Context(), roomA, 1000)
		must(t, err)
		if len(got) != workers*each {
			t.Errorf("Recent has %d records, want %d", len(got), workers*each)
		}
	}},
	{"GetMissing", func(t *testing.T, st store.All) {
		_, err := st.Audit().Get(t.Context(), "nosuchid")
		wantNotFound(t, "Get", err)
		_, err = st.Audit().Get(t.Context(), "")
		wantNotFound(t, "Get empty id", err)
	}},
	{"Recent", func(t *testing.T, st store.All) {
		var in []store.AuditRecord
		for i := range 7 {
			in = append(in, rec([]string{roomA, roomA, roomB}[i%3], "kick", "", "", i))
		}
		all := appendAll(t, st.Audit(), in...)
		var a, b []store.AuditRecord
		for _, r := range all {
			if r.Room == roomA {
				a = append(a, r)
			} else {
				b = append(b, r)
			}
		}
		tests := []struct {
			name string
			room string
			n    int
			want []store.AuditRecord
		}{
			{"newest three", roomA, 3, reversed(a)[:3]},
			{"more than stored", roomA, 100, reversed(a)},
			{"exactly all", roomA, len(a), reversed(a)},
			{"other room", roomB, 100, reversed(b)},
			{"one", roomB, 1, reversed(b)[:1]},
			{"zero", roomA, 0, nil},
			{"negative", roomA, -1, nil},
			{"room case-insensitive", strings.ToUpper(roomA), 2, reversed(a)[:2]},
			{"unknown room", "nobody@muc.example.org", 10, nil},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				got, err := st.Audit().Recent(t.Context(), tc.room, tc.n)
				must(t, err)
				diff(t, "Recent", tc.want, got)
			})
		}
	}},
	{"ByTarget", func(t *testing.T, st store.All) {
		all := appendAll(t, st.Audit(),
			rec(roomA, "role", "Alice@Example.org/phone", "", 0),
			rec(roomA, "role", "bob@example.org", "", 1),
			rec(roomB, "kick", "alice@example.org", "", 2),
			rec(roomA, "kick", "alice@example.org", "", 3),
			rec(roomA, "say", "", "", 4),
			rec(roomA, "affiliation", "ALICE@EXAMPLE.ORG", "", 5),
		)
		tests := []struct {
			name, room, jid string
			want            []store.AuditRecord
		}{
			{"oldest first, any case or resource", roomA, "alice@example.org", []store.AuditRecord{all[0], all[3], all[5]}},
			{"query case-insensitive", roomA, "ALICE@example.ORG", []store.AuditRecord{all[0], all[3], all[5]}},
			{"query with resource", roomA, "alice@example.org/laptop", []store.AuditRecord{all[0], all[3], all[5]}},
			{"other target", roomA, "bob@example.org", all[1:2]},
			{"other room", roomB, "alice@example.org", all[2:3]},
			{"unknown target", roomA, "carol@example.org", nil},
			{"empty target matches nothing", roomA, "", nil},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				got, err := st.Audit().ByTarget(t.Context(), tc.room, tc.jid)
				must(t, err)
				diff(t, "ByTarget", tc.want, got)
			})
		}
	}},
	{"ByGroup", func(t *testing.T, st store.All) {
		all := appendAll(t, st.Audit(),
			rec(roomA, "role", "alice@example.org", "g1", 0),
			rec(roomA, "role", "bob@example.org", "g2", 1),
			rec(roomA, "say", "", "g1", 2),
			rec(roomB, "say", "", "g1", 3),
			rec(roomA, "say", "", "", 4),
			rec(roomA, "say", "", "G1", 5),
		)
		tests := []struct {
			name, room, group string
			want              []store.AuditRecord
		}{
			{"oldest first", roomA, "g1", []store.AuditRecord{all[0], all[2]}},
			{"groups are case-sensitive", roomA, "G1", all[5:6]},
			{"other group", roomA, "g2", all[1:2]},
			{"other room", roomB, "g1", all[3:4]},
			{"unknown group", roomA, "g3", nil},
			{"empty group matches nothing", roomA, "", nil},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				got, err := st.Audit().ByGroup(t.Context(), tc.room, tc.group)
				must(t, err)
				diff(t, "ByGroup", tc.want, got)
			})
		}
	}},
	{"MarkUndone", func(t *testing.T, st store.All) {
		ctx := t.Context()
		a := st.Audit()
		all := appendAll(t, a,
			rec(roomA, "role", "alice@example.org", "g", 0),
			rec(roomA, "role", "bob@example.org", "g", 1),
		)
		undo := rec(roomA, "undo", "alice@example.org", "", 2)
		undo.UndoOf = all[0].ID
		undo = appendAll(t, a, undo)[0]
		must(t, a.MarkUndone(ctx, all[0].ID, undo.ID))

		want := all[0]
		want.UndoneBy = undo.ID
		got, err := a.Get(ctx, all[0].ID)
		must(t, err)
		diff(t, "Get after MarkUndone", want, got)
		recent, err := a.Recent(ctx, roomA, 10)
		must(t, err)
		diff(t, "Recent after MarkUndone", []store.AuditRecord{undo, all[1], want}, recent)
		byTarget, err := a.ByTarget(ctx, roomA, "alice@example.org")
		must(t, err)
		diff(t, "ByTarget after MarkUndone", []store.AuditRecord{want, undo}, byTarget)
		byGroup, err := a.ByGroup(ctx, roomA, "g")
		must(t, err)
		diff(t, "ByGroup after MarkUndone", []store.AuditRecord{want, all[1]}, byGroup)
		other, err := a.Get(ctx, all[1].ID)
		must(t, err)
		diff(t, "untouched record", all[1], other)

		wantNotFound(t, "MarkUndone missing", a.MarkUndone(ctx, "nosuchid", undo.ID))
		if _, err := a.Get(ctx, "nosuchid"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("MarkUndone of a missing record created it: Get err = %v", err)
		}
	}},
}

func timer(room, policy, key string, sec int) store.Timer {
	return store.Timer{Room: room, Policy: policy, Key: key, At: base.Add(time.Duration(sec) * time.Second)}
}

// timerOpts compares timers by instant and ignores the order of timers with
// the same deadline, which the interface leaves open.
var timerOpts = gocmp.Options{
	cmpopts.SortSlices(func(a, b store.Timer) bool {
		return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.Room, b.Room),
			cmp.Compare(a.Policy, b.Policy), cmp.Compare(a.Key, b.Key)) < 0
	}),
}

func allTimers(t *testing.T, ts store.Timers) []store.Timer {
	t.Helper()
	got, err := ts.All(t.Context())
	must(t, err)
	for i := 1; i < len(got); i++ {
		if got[i].At.Before(got[i-1].At) {
			t.Errorf("All not earliest first: %v before %v", got[i-1], got[i])
		}
	}
	return got
}

var timerTests = []test{
	{"Empty", func(t *testing.T, st store.All) {
		diff(t, "All", []store.Timer(nil), allTimers(t, st.Timers()))
	}},
	{"AllEarliestFirst", func(t *testing.T, st store.All) {
		in := []store.Timer{
			timer(roomA, "debate", "turn", 30),
			timer(roomA, "idle", "sweep", -5),
			timer(roomB, "debate", "turn", 10),
			timer(roomB, "vetting", "alice@example.org", 3600),
		}
		for _, tm := range in {
			must(t, st.Timers().Put(t.Context(), tm))
		}
		want := []store.Timer{in[1], in[2], in[0], in[3]}
		diff(t, "All", want, allTimers(t, st.Timers()))
	}},
	{"PutMoves", func(t *testing.T, st store.All) {
		ts := st.Timers()
		must(t, ts.Put(t.Context(), timer(roomA, "debate", "turn", 10)))
		must(t, ts.Put(t.Context(), timer(roomA, "debate", "other", 20)))
		must(t, ts.Put(t.Context(), timer(roomA, "debate", "turn", 30)))
		want := []store.Timer{timer(roomA, "debate", "other", 20), timer(roomA, "debate", "turn", 30)}
		diff(t, "All after move", want, allTimers(t, ts))
		must(t, ts.Put(t.Context(), timer(roomA, "debate", "turn", 5)))
		want = []store.Timer{timer(roomA, "debate", "turn", 5), timer(roomA, "debate", "other", 20)}
		diff(t, "All after move earlier", want, allTimers(t, ts))
	}},
	{"IdentityIsRoomPolicyKey", func(t *testing.T, st store.All) {
		in := []store.Timer{
			timer(roomA, "p", "k", 1),
			timer(roomB, "p", "k", 2),
			timer(roomA, "q", "k", 3),
			timer(roomA, "p", "j", 4),
			// Separators inside fields must not make two timers collide.
			timer("a:b", "c", "d", 5),
			timer("a", "b:c", "d", 6),
			timer("a", "b", "c:d", 7),
		}
		for _, tm := range in {
			must(t, st.Timers().Put(t.Context(), tm))
		}
		diff(t, "All", in, allTimers(t, st.Timers()), timerOpts)
	}},
	{"OddCharacters", func(t *testing.T, st store.All) {
		in := []store.Timer{
			timer(roomA, "p", `quote" back\slash {brace} ☃ `+"\x00nul\nnl", 1),
			timer(roomA, "p", "", 2),
			timer("", "", "", 3),
		}
		for _, tm := range in {
			must(t, st.Timers().Put(t.Context(), tm))
		}
		diff(t, "All", in, allTimers(t, st.Timers()), timerOpts)
	}},
	{"MillisecondPrecision", func(t *testing.T, st store.All) {
		at := base.Add(1500 * time.Millisecond)
		must(t, st.Timers().Put(t.Context(), store.Timer{Room: roomA, Policy: "p", Key: "k", At: at.Local()}))
		got := allTimers(t, st.Timers())
		if len(got) != 1 || !got[0].At.Equal(at) {
			t.Errorf("All = %v, want one timer at %v", got, at)
		}
	}},
	{"Delete", func(t *testing.T, st store.All) {
		ts := st.Timers()
		ctx := t.Context()
		must(t, ts.Put(ctx, timer(roomA, "p", "k1", 1)))
		must(t, ts.Put(ctx, timer(roomA, "p", "k2", 2)))
		must(t, ts.Delete(ctx, roomA, "p", "k1"))
		diff(t, "All after Delete", []store.Timer{timer(roomA, "p", "k2", 2)}, allTimers(t, ts))
		must(t, ts.Delete(ctx, roomA, "p", "k1")) // again: not an error
		must(t, ts.Delete(ctx, roomB, "p", "k2")) // other room: no effect
		diff(t, "All after no-op Deletes", []store.Timer{timer(roomA, "p", "k2", 2)}, allTimers(t, ts))
		must(t, ts.Delete(ctx, roomA, "p", "k2"))
		diff(t, "All after last Delete", []store.Timer(nil), allTimers(t, ts))
	}},
}

var roomOpts = cmpopts.SortSlices(func(a, b store.RoomRecord) bool { return a.JID < b.JID })

var roomTests = []test{
	{"PutGet", func(t *testing.T, st store.All) {
		ctx := t.Context()
		in := store.RoomRecord{
			JID: roomA, InvitedBy: "owner@example.org", At: base, Password: "s3cret",
			Banned: true, Destroyed: true, Note: "left after ban",
		}
		must(t, st.Rooms().Put(ctx, in))
		got, err := st.Rooms().Get(ctx, roomA)
		must(t, err)
		diff(t, "Get", in, got)
		got, err = st.Rooms().Get(ctx, strings.ToUpper(roomA))
		must(t, err)
		diff(t, "Get in upper case", in, got)
	}},
	{"GetMissing", func(t *testing.T, st store.All) {
		_, err := st.Rooms().Get(t.Context(), roomA)
		wantNotFound(t, "Get", err)
	}},
	{"PutReplaces", func(t *testing.T, st store.All) {
		ctx := t.Context()
		must(t, st.Rooms().Put(ctx, store.RoomRecord{JID: roomA, Password: "old", Note: "n"}))
		in := store.RoomRecord{JID: roomA, At: base}
		must(t, st.Rooms().Put(ctx, in))
		got, err := st.Rooms().Get(ctx, roomA)
		must(t, err)
		diff(t, "Get", in, got)
	}},
	{"DeleteAll", func(t *testing.T, st store.All) {
		ctx := t.Context()
		rs := st.Rooms()
		in := []store.RoomRecord{{JID: roomA, At: base}, {JID: roomB, At: base.Add(time.Hour)}, {JID: "c@muc.example.org"}}
		for _, r := range in {
			must(t, rs.Put(ctx, r))
		}
		all, err := rs.All(ctx)
		must(t, err)
		diff(t, "All", in, all, roomOpts)
		must(t, rs.Delete(ctx, roomB))
		_, err = rs.Get(ctx, roomB)
		wantNotFound(t, "Get after Delete", err)
		must(t, rs.Delete(ctx, roomB)) // again: not an error
		all, err = rs.All(ctx)
		must(t, err)
		diff(t, "All after Delete", []store.RoomRecord{in[0], in[2]}, all, roomOpts)
	}},
	{"AllEmpty", func(t *testing.T, st store.All) {
		all, err := st.Rooms().All(t.Context())
		must(t, err)
		diff(t, "All", []store.RoomRecord(nil), all)
	}},
}

func ptr[T any](v T) *T { return &v }

var settingsTests = []test{
	{"UnknownRoomIsZero", func(t *testing.T, st store.All) {
		got, err := st.Settings().Get(t.Context(), roomA)
		must(t, err)
		diff(t, "Get", store.RoomSettings{}, got)
	}},
	{"RoundTrip", func(t *testing.T, st store.All) {
		ctx := t.Context()
		in := store.RoomSettings{
			OfficersAdded:   []string{"mod@example.org", "mod2@example.org"},
			OfficersRemoved: []string{"old@example.org"},
			Policies: map[string]store.PolicyOverride{
				"debate":  {Enabled: ptr(false)},
				"vetting": {Enabled: ptr(true), DryRun: ptr(true)},
				"idle":    {},
			},
		}
		must(t, st.Settings().Put(ctx, roomA, in))
		got, err := st.Settings().Get(ctx, roomA)
		must(t, err)
		diff(t, "Get", in, got)
		got, err = st.Settings().Get(ctx, strings.ToUpper(roomA))
		must(t, err)
		diff(t, "Get in upper case", in, got)
		other, err := st.Settings().Get(ctx, roomB)
		must(t, err)
		diff(t, "other room", store.RoomSettings{}, other)
	}},
	{"PutReplaces", func(t *testing.T, st store.All) {
		ctx := t.Context()
		must(t, st.Settings().Put(ctx, roomA, store.RoomSettings{OfficersAdded: []string{"x@example.org"}}))
		in := store.RoomSettings{Policies: map[string]store.PolicyOverride{"idle": {DryRun: ptr(false)}}}
		must(t, st.Settings().Put(ctx, roomA, in))
		got, err := st.Settings().Get(ctx, roomA)
		must(t, err)
		diff(t, "Get", in, got)
	}},
	{"CallerMutationDoesNotLeak", func(t *testing.T, st store.All) {
		ctx := t.Context()
		in := store.RoomSettings{OfficersAdded: []string{"a@example.org"}, Policies: map[string]store.PolicyOverride{"p": {Enabled: ptr(true)}}}
		must(t, st.Settings().Put(ctx, roomA, in))
		in.OfficersAdded[0] = "changed@example.org"
		*in.Policies["p"].Enabled = false
		in.Policies["q"] = store.PolicyOverride{}
		got, err := st.Settings().Get(ctx, roomA)
		must(t, err)
		want := store.RoomSettings{OfficersAdded: []string{"a@example.org"}, Policies: map[string]store.PolicyOverride{"p": {Enabled: ptr(true)}}}
		diff(t, "Get", want, got)
	}},
}

func kvAll(t *testing.T, kv store.KV, ns string) map[string][]byte {
	t.Helper()
	m, err := kv.All(t.Context(), ns)
	must(t, err)
	return m
}

func kvLen(t *testing.T, kv store.KV, ns string) int {
	t.Helper()
	n, err := kv.Len(t.Context(), ns)
	must(t, err)
	return n
}

var kvTests = []test{
	{"PutGet", func(t *testing.T, st store.All) {
		ctx := t.Context()
		kv := st.KV()
		vals := map[string][]byte{
			"json":   []byte(`{"a":1}`),
			"binary": {0, 0xff, 0xfe, '\n', 0},
			"empty":  {},
			"":       []byte("empty field name"),
			"☃:{x}":  []byte("odd field"),
		}
		for f, v := range vals {
			must(t, kv.Put(ctx, "ns", f, v))
		}
		for f, want := range vals {
			got, err := kv.Get(ctx, "ns", f)
			must(t, err)
			if !bytes.Equal(got, want) {
				t.Errorf("Get(%q) = %q, want %q", f, got, want)
			}
		}
		must(t, kv.Put(ctx, "ns", "json", []byte("v2")))
		got, err := kv.Get(ctx, "ns", "json")
		must(t, err)
		if string(got) != "v2" {
			t.Errorf("Get after overwrite = %q, want v2", got)
		}
		if n := kvLen(t, kv, "ns"); n != len(vals) {
			t.Errorf("Len = %d, want %d", n, len(vals))
		}
	}},
	{"GetMissing", func(t *testing.T, st store.All) {
		ctx := t.Context()
		_, err := st.KV().Get(ctx, "nons", "f")
		wantNotFound(t, "Get in missing namespace", err)
		must(t, st.KV().Put(ctx, "ns", "f", []byte("v")))
		_, err = st.KV().Get(ctx, "ns", "g")
		wantNotFound(t, "Get of missing field", err)
	}},
	{"Delete", func(t *testing.T, st store.All) {
		ctx := t.Context()
		kv := st.KV()
		for _, f := range []string{"a", "b", "c", "d"} {
			must(t, kv.Put(ctx, "ns", f, []byte(f)))
		}
		must(t, kv.Delete(ctx, "ns", "a", "c", "zz"))
		diff(t, "All after Delete", map[string][]byte{"b": []byte("b"), "d": []byte("d")}, kvAll(t, kv, "ns"))
		must(t, kv.Delete(ctx, "ns"))           // no fields: no-op
		must(t, kv.Delete(ctx, "nons", "a"))    // missing namespace: no-op
		must(t, kv.Delete(ctx, "ns", "b", "d")) // last fields
		if n := kvLen(t, kv, "ns"); n != 0 {
			t.Errorf("Len after deleting everything = %d", n)
		}
		diff(t, "All after deleting everything", map[string][]byte{}, kvAll(t, kv, "ns"))
	}},
	{"AllAndLen", func(t *testing.T, st store.All) {
		ctx := t.Context()
		kv := st.KV()
		diff(t, "All of missing namespace", map[string][]byte{}, kvAll(t, kv, "ns"))
		if n := kvLen(t, kv, "ns"); n != 0 {
			t.Errorf("Len of missing namespace = %d", n)
		}
		want := map[string][]byte{}
		for i := range 50 {
			f := fmt.Sprintf("f%d", i)
			want[f] = []byte(fmt.Sprintf(`{"i":%d}`, i))
			must(t, kv.Put(ctx, "ns", f, want[f]))
		}
		diff(t, "All", want, kvAll(t, kv, "ns"))
		if n := kvLen(t, kv, "ns"); n != 50 {
			t.Errorf("Len = %d, want 50", n)
		}
	}},
	{"Replace", func(t *testing.T, st store.All) {
		ctx := t.Context()
		kv := st.KV()
		must(t, kv.Put(ctx, "ns", "old", []byte("x")))
		must(t, kv.Put(ctx, "ns", "kept", []byte("old value")))
		must(t, kv.Put(ctx, "other", "f", []byte("y")))
		want := map[string][]byte{"kept": []byte("new value"), "new": {0, 1}}
		must(t, kv.Replace(ctx, "ns", want))
		diff(t, "All after Replace", want, kvAll(t, kv, "ns"))
		if n := kvLen(t, kv, "ns"); n != 2 {
			t.Errorf("Len after Replace = %d, want 2", n)
		}
		diff(t, "other namespace", map[string][]byte{"f": []byte("y")}, kvAll(t, kv, "other"))

		must(t, kv.Replace(ctx, "fresh", map[string][]byte{"a": []byte("1")}))
		diff(t, "Replace of a missing namespace", map[string][]byte{"a": []byte("1")}, kvAll(t, kv, "fresh"))
	}},
	{"ReplaceEmptyDeletes", func(t *testing.T, st store.All) {
		for _, empty := range []map[string][]byte{nil, {}} {
			ctx := t.Context()
			kv := st.KV()
			must(t, kv.Put(ctx, "ns", "a", []byte("1")))
			must(t, kv.Replace(ctx, "ns", empty))
			if n := kvLen(t, kv, "ns"); n != 0 {
				t.Errorf("Len after Replace(%#v) = %d", empty, n)
			}
			_, err := kv.Get(ctx, "ns", "a")
			wantNotFound(t, "Get after empty Replace", err)
		}
	}},
	{"NamespaceIsolation", func(t *testing.T, st store.All) {
		ctx := t.Context()
		kv := st.KV()
		nss := []string{"a", "ab", "a:b", "a:", ":a", "A", "", "{a}", "a b"}
		for _, ns := range nss {
			must(t, kv.Put(ctx, ns, "f", []byte(ns)))
		}
		for _, ns := range nss {
			diff(t, fmt.Sprintf("All(%q)", ns), map[string][]byte{"f": []byte(ns)}, kvAll(t, kv, ns))
		}
		must(t, kv.Replace(ctx, "a", nil))
		for _, ns := range nss[1:] {
			if n := kvLen(t, kv, ns); n != 1 {
				t.Errorf("Len(%q) = %d after replacing \"a\", want 1", ns, n)
			}
		}
	}},
	{"Scoped", func(t *testing.T, st store.All) {
		ctx := t.Context()
		raw := st.KV()
		p1 := store.Scoped(raw, "policy:vetting:"+roomA+":")
		p2 := store.Scoped(raw, "policy:vetting:"+roomB+":")
		must(t, p1.Put(ctx, "queue", "alice", []byte("1")))
		must(t, p2.Put(ctx, "queue", "bob", []byte("2")))

		diff(t, "scope 1", map[string][]byte{"alice": []byte("1")}, kvAll(t, p1, "queue"))
		diff(t, "scope 2", map[string][]byte{"bob": []byte("2")}, kvAll(t, p2, "queue"))
		diff(t, "raw view", map[string][]byte{"alice": []byte("1")}, kvAll(t, raw, "policy:vetting:"+roomA+":queue"))
		diff(t, "unscoped namespace", map[string][]byte{}, kvAll(t, raw, "queue"))

		got, err := p1.Get(ctx, "queue", "alice")
		must(t, err)
		if string(got) != "1" {
			t.Errorf("scoped Get = %q", got)
		}
		_, err = p1.Get(ctx, "queue", "bob")
		wantNotFound(t, "scoped Get of other scope's field", err)
		if n := kvLen(t, p1, "queue"); n != 1 {
			t.Errorf("scoped Len = %d", n)
		}
		must(t, p1.Replace(ctx, "queue", map[string][]byte{"carol": []byte("3")}))
		diff(t, "scope 1 after Replace", map[string][]byte{"carol": []byte("3")}, kvAll(t, p1, "queue"))
		must(t, p1.Delete(ctx, "queue", "carol"))
		diff(t, "scope 1 after Delete", map[string][]byte{}, kvAll(t, p1, "queue"))
		diff(t, "scope 2 untouched", map[string][]byte{"bob": []byte("2")}, kvAll(t, p2, "queue"))
	}},
	{"ValuesAreCopied", func(t *testing.T, st store.All) {
		ctx := t.Context()
		kv := st.KV()
		v := []byte("abc")
		must(t, kv.Put(ctx, "ns", "f", v))
		v[0] = 'X'
		got, err := kv.Get(ctx, "ns", "f")
		must(t, err)
		if string(got) != "abc" {
			t.Fatalf("Get = %q after caller changed its slice, want abc", got)
		}
		got[0] = 'Y'
		all := kvAll(t, kv, "ns")
		all["f"][1] = 'Z'
		again, err := kv.Get(ctx, "ns", "f")
		must(t, err)
		if string(again) != "abc" {
			t.Errorf("Get = %q after caller changed returned slices, want abc", again)
		}
	}},
}

var allTests = []test{
	{"Ping", func(t *testing.T, st store.All) {
		must(t, st.Ping(t.Context()))
	}},
	{"ConcernsAreIndependent", func(t *testing.T, st store.All) {
		ctx := t.Context()
		// The same names in every concern must not collide.
		must(t, st.Rooms().Put(ctx, store.RoomRecord{JID: roomA}))
		must(t, st.Settings().Put(ctx, roomA, store.RoomSettings{OfficersAdded: []string{"m@example.org"}}))
		must(t, st.Timers().Put(ctx, timer(roomA, "p", "k", 1)))
		must(t, st.KV().Put(ctx, roomA, roomA, []byte("v")))
		_, err := st.Audit().Append(ctx, rec(roomA, "say", "", "", 0))
		must(t, err)

		rooms, err := st.Rooms().All(ctx)
		must(t, err)
		diff(t, "Rooms", []store.RoomRecord{{JID: roomA}}, rooms)
		s, err := st.Settings().Get(ctx, roomA)
		must(t, err)
		diff(t, "Settings", store.RoomSettings{OfficersAdded: []string{"m@example.org"}}, s)
		diff(t, "Timers", []store.Timer{timer(roomA, "p", "k", 1)}, allTimers(t, st.Timers()))
		diff(t, "KV", map[string][]byte{roomA: []byte("v")}, kvAll(t, st.KV(), roomA))
		recent, err := st.Audit().Recent(ctx, roomA, 10)
		must(t, err)
		if len(recent) != 1 {
			t.Errorf("Recent has %d records, want 1", len(recent))
		}
	}},
}
