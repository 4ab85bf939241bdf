package bot

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"mellium.im/xmpp/jid"

	"github.com/steward-xmpp/steward/policies"
	"github.com/steward-xmpp/steward/store"
)

func TestUndoBanByID(t *testing.T) {
	f := newFixture(t, Limits{})
	room := newTestRoom()
	ctx := t.Context()
	ban, err := f.ex.Do(ctx, room, Request{Actor: "policy:rtbl", Policy: "rtbl", Kind: KindAffiliation, JID: "uma@example.org", Aff: policies.AffOutcast, Why: policies.Because("listed")})
	if err != nil {
		t.Fatal(err)
	}
	n, err := f.ex.Undo(ctx, room, "mod@example.org", policies.UndoFilter{ID: ban.ID}, policies.Because("false positive"))
	if err != nil || n != 1 {
		t.Fatalf("Undo = %d, %v; want 1, nil", n, err)
	}
	want := []sent{
		{Op: "affiliation", Room: testRoom, Target: "uma@example.org", Value: "outcast", Reason: "listed"},
		{Op: "affiliation", Room: testRoom, Target: "uma@example.org", Value: "none", Reason: "false positive"},
	}
	if diff := cmp.Diff(want, f.tr.calls()); diff != "" {
		t.Errorf("sent (-want +got):\n%s", diff)
	}
	recs := f.records(t)
	if len(recs) != 2 {
		t.Fatalf("audit log has %d records, want 2", len(recs))
	}
	orig, rev := recs[0], recs[1]
	if orig.UndoneBy != rev.ID || rev.UndoOf != orig.ID || rev.Actor != "mod@example.org" || rev.Policy != "" || rev.Value != "none" {
		t.Fatalf("records not linked: %+v / %+v", orig, rev)
	}

	_, err = f.ex.Undo(ctx, room, "mod@example.org", policies.UndoFilter{ID: ban.ID}, policies.Reason{})
	if !errors.Is(err, ErrAlreadyUndone) || !strings.Contains(err.Error(), "already undone (by action "+rev.ID+")") {
		t.Fatalf("second Undo = %v, want a clear already-undone error", err)
	}
}

func TestUndoRefusesWithClearReasons(t *testing.T) {
	f := newFixture(t, Limits{})
	room := newTestRoom()
	ctx := t.Context()
	do := func(req Request) store.AuditRecord {
		t.Helper()
		req.Actor = "mod@example.org"
		rec, _ := f.ex.Do(ctx, room, req)
		if rec.ID == "" {
			t.Fatalf("no record for %+v", req)
		}
		return rec
	}
	kick := do(Request{Kind: KindKick, Nick: "vic"})
	say := do(Request{Kind: KindSay, Text: "hi"})
	retract := do(Request{Kind: KindRetract, StanzaID: "s1"})
	dry := do(Request{Kind: KindAffiliation, JID: "uma@example.org", Aff: policies.AffOutcast, DryRun: true})
	refused := do(Request{Kind: KindKick, Nick: "olga"})
	other, err := f.st.Audit().Append(ctx, store.AuditRecord{Room: "other@muc.example.org", Action: KindAffiliation, Result: ResultOK, TargetJID: "x@example.org", Value: "outcast"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		id      string
		wantErr error
		wantMsg string
	}{
		{kick.ID, ErrNotReversible, "was a kick: nothing can undo a kick"},
		{say.ID, ErrNotReversible, "a sent message cannot be unsent"},
		{retract.ID, ErrNotReversible, "a retracted message cannot be restored"},
		{dry.ID, ErrNotReversible, "was a dry-run: nothing was done"},
		{refused.ID, ErrNotReversible, "was refused: nothing was done"},
		{other.ID, ErrUnknownAction, "there is no action \"" + other.ID + "\" in this room"},
		{"zzzz", ErrUnknownAction, `there is no action "zzzz" in this room`},
	}
	sentBefore := len(f.tr.calls())
	for _, tc := range tests {
		n, err := f.ex.Undo(ctx, room, "mod@example.org", policies.UndoFilter{ID: tc.id}, policies.Reason{})
		if n != 0 || !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.wantMsg) {
			t.Errorf("Undo(%s) = %d, %v; want %v containing %q", tc.id, n, err, tc.wantErr, tc.wantMsg)
		}
	}
	if got := f.tr.calls(); len(got) != sentBefore {
		t.Errorf("refused undos sent %v", got[sentBefore:])
	}
}

func TestUndoGroupSince(t *testing.T) {
	f := newFixture(t, Limits{})
	room := newTestRoom()
	ctx := t.Context()
	t0 := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	add := func(r store.AuditRecord) store.AuditRecord {
		t.Helper()
		r.Room, r.Result = testRoom, ResultOK
		rec, err := f.st.Audit().Append(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		return rec
	}
	old := add(store.AuditRecord{At: t0, Action: KindAffiliation, TargetJID: "a@evil.example", Value: "outcast", Prev: "none", Group: "rtbl:list", Ref: "item1"})
	b := add(store.AuditRecord{At: t0.Add(time.Hour), Action: KindAffiliation, TargetJID: "b@evil.example", Value: "outcast", Prev: "member", Group: "rtbl:list", Ref: "item2"})
	c := add(store.AuditRecord{At: t0.Add(2 * time.Hour), Action: KindAffiliation, TargetJID: "c@evil.example", Value: "outcast", Group: "rtbl:list", Ref: "item2"})
	add(store.AuditRecord{At: t0.Add(2 * time.Hour), Action: KindKick, TargetNick: "c", Value: "none", Group: "rtbl:list", Ref: "item2"})
	add(store.AuditRecord{At: t0.Add(2 * time.Hour), Action: KindAffiliation, TargetJID: "d@evil.example", Value: "outcast", Group: "other"})

	n, err := f.ex.Undo(ctx, room, "policy:rtbl", policies.UndoFilter{Group: "rtbl:list", Since: t0.Add(time.Minute)}, policies.Because("delisted"))
	if err != nil || n != 2 {
		t.Fatalf("Undo = %d, %v; want 2, nil", n, err)
	}
	want := []sent{
		{Op: "affiliation", Room: testRoom, Target: "c@evil.example", Value: "none", Reason: "delisted"},
		{Op: "affiliation", Room: testRoom, Target: "b@evil.example", Value: "member", Reason: "delisted"},
	}
	if diff := cmp.Diff(want, f.tr.calls()); diff != "" {
		t.Errorf("sent (-want +got):\n%s", diff)
	}
	for _, id := range []string{b.ID, c.ID} {
		if r, _ := f.st.Audit().Get(ctx, id); r.UndoneBy == "" {
			t.Errorf("record %s not marked undone", id)
		}
	}
	if r, _ := f.st.Audit().Get(ctx, old.ID); r.UndoneBy != "" {
		t.Errorf("record %s before Since was undone", old.ID)
	}
	// The reversals are policy-stamped, and a second group undo finds nothing.
	for _, r := range f.records(t) {
		if r.UndoOf != "" && (r.Actor != "policy:rtbl" || r.Policy != "rtbl") {
			t.Errorf("reversal %s stamped %q/%q", r.ID, r.Actor, r.Policy)
		}
	}
	n, err = f.ex.Undo(ctx, room, "policy:rtbl", policies.UndoFilter{Group: "rtbl:list"}, policies.Reason{})
	if err != nil || n != 1 {
		t.Fatalf("second group Undo = %d, %v; want only the old record", n, err)
	}
}

func TestUndoGroupRef(t *testing.T) {
	f := newFixture(t, Limits{})
	room := newTestRoom()
	act := f.ex.Actions(room, "policy:rtbl", "rtbl", false, nil, time.Time{})
	ctx := t.Context()
	for _, who := range []string{"a@evil.example", "b@evil.example"} {
		if err := act.SetAffiliation(ctx, jid.MustParse(who), policies.AffOutcast, policies.Reason{Public: "listed", Group: "rtbl:x", Ref: who}); err != nil {
			t.Fatal(err)
		}
	}
	n, err := act.Undo(ctx, policies.UndoFilter{Group: "rtbl:x", Ref: "b@evil.example"}, policies.Because("retracted"))
	if err != nil || n != 1 {
		t.Fatalf("Undo = %d, %v; want 1", n, err)
	}
	if got := f.tr.calls(); got[len(got)-1].Target != "b@evil.example" {
		t.Fatalf("undid %v, want b", got[len(got)-1])
	}
}

func TestUndoRole(t *testing.T) {
	tests := []struct {
		name    string
		after   func(r roomSetup)
		wantErr string
	}{
		{"restored", func(r roomSetup) {}, ""},
		{"left", func(r roomSetup) { delete(r.Seats, "uma") }, "uma is not in the room any more"},
		{"nick reused", func(r roomSetup) {
			r.Seats["uma"] = policies.Occupant{Nick: "uma", RealJID: jid.MustParse("impostor@example.org/x"), RealRaw: "impostor@example.org/x", Role: policies.RoleVisitor, Affiliation: policies.AffNone}
		}, "now belongs to someone else"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, Limits{})
			room := newTestRoom()
			ctx := t.Context()
			rec, err := f.ex.Do(ctx, room, Request{Actor: "policy:flood", Policy: "flood", Kind: KindRole, Nick: "uma", Role: policies.RoleVisitor})
			if err != nil {
				t.Fatal(err)
			}
			o := room.Seats["uma"]
			o.Role = policies.RoleVisitor
			room.Seats["uma"] = o
			tc.after(room)
			n, err := f.ex.Undo(ctx, room, "mod@example.org", policies.UndoFilter{ID: rec.ID}, policies.Reason{})
			if tc.wantErr != "" {
				if n != 0 || err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Undo = %d, %v; want error containing %q", n, err, tc.wantErr)
				}
				return
			}
			if err != nil || n != 1 {
				t.Fatalf("Undo = %d, %v", n, err)
			}
			last := f.tr.calls()[1]
			if last != (sent{Op: "role", Room: testRoom, Target: "uma", Value: "participant", Reason: "undo of action " + rec.ID}) {
				t.Fatalf("sent %v, want voice back for uma", last)
			}
		})
	}
}

// A reversal goes through the guards: someone made an officer since the
// membership grant is not stripped of it by an undo.
func TestUndoIsGuarded(t *testing.T) {
	f := newFixture(t, Limits{})
	room := newTestRoom()
	ctx := t.Context()
	rec, err := f.ex.Do(ctx, room, Request{Actor: "policy:vetting", Policy: "vetting", Kind: KindAffiliation, JID: "uma@example.org", Aff: policies.AffMember})
	if err != nil {
		t.Fatal(err)
	}
	room.Affs["uma@example.org"] = policies.AffMember
	room.OfficerSet["uma@example.org"] = true
	n, err := f.ex.Undo(ctx, room, "mod@example.org", policies.UndoFilter{ID: rec.ID}, policies.Reason{})
	if n != 0 || !errors.Is(err, policies.ErrGuarded) {
		t.Fatalf("Undo = %d, %v; want guarded", n, err)
	}
	if r, _ := f.st.Audit().Get(ctx, rec.ID); r.UndoneBy != "" {
		t.Fatalf("refused undo marked the record undone")
	}
}

// An undo in dry-run is recorded as would-have and leaves the original
// record reversible.
func TestUndoDryRun(t *testing.T) {
	f := newFixture(t, Limits{})
	room := newTestRoom()
	ctx := t.Context()
	rec, err := f.ex.Do(ctx, room, Request{Actor: "policy:rtbl", Policy: "rtbl", Kind: KindAffiliation, JID: "uma@example.org", Aff: policies.AffOutcast})
	if err != nil {
		t.Fatal(err)
	}
	act := f.ex.Actions(room, "policy:rtbl", "rtbl", true, nil, time.Time{})
	if n, err := act.Undo(ctx, policies.UndoFilter{ID: rec.ID}, policies.Reason{}); err != nil || n != 1 {
		t.Fatalf("Undo = %d, %v", n, err)
	}
	if got := f.tr.calls(); len(got) != 1 {
		t.Fatalf("dry-run undo sent %v", got[1:])
	}
	if r, _ := f.st.Audit().Get(ctx, rec.ID); r.UndoneBy != "" {
		t.Fatal("dry-run undo marked the record undone")
	}
}
