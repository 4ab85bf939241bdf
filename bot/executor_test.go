package bot

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"mellium.im/xmpp/jid"

	"github.com/steward-xmpp/steward/policies"
	"github.com/steward-xmpp/steward/policies/policytest"
	"github.com/steward-xmpp/steward/store"
	"github.com/steward-xmpp/steward/store/memstore"
)

var why = policies.Reason{Public: "please stop", Private: "matched rule 3", Group: "antispam", Ref: "r3"}

func TestDoSendsAndAudits(t *testing.T) {
	tests := []struct {
		name     string
		req      Request
		wantSent []sent
		wantRec  store.AuditRecord
	}{
		{
			name:     "devoice",
			req:      Request{Kind: KindRole, Nick: "uma", Role: policies.RoleVisitor, Why: why},
			wantSent: []sent{{Op: "role", Room: testRoom, Target: "uma", Value: "visitor", Reason: "please stop"}},
			wantRec:  store.AuditRecord{Action: "role", TargetJID: "uma@example.org", TargetNick: "uma", Value: "visitor", Prev: "participant"},
		},
		{
			name:     "kick",
			req:      Request{Kind: KindKick, Nick: "vic", Why: why},
			wantSent: []sent{{Op: "role", Room: testRoom, Target: "vic", Value: "none", Reason: "please stop"}},
			wantRec:  store.AuditRecord{Action: "kick", TargetJID: "vic@example.org", TargetNick: "vic", Value: "none", Prev: "visitor"},
		},
		{
			name:     "ban present",
			req:      Request{Kind: KindAffiliation, JID: "uma@example.org", Aff: policies.AffOutcast, Why: why},
			wantSent: []sent{{Op: "affiliation", Room: testRoom, Target: "uma@example.org", Value: "outcast", Reason: "please stop"}},
			wantRec:  store.AuditRecord{Action: "affiliation", TargetJID: "uma@example.org", TargetNick: "uma", Value: "outcast", Prev: "none"},
		},
		{
			name:     "ban absent",
			req:      Request{Kind: KindAffiliation, JID: "eve@evil.example", Aff: policies.AffOutcast, Why: why},
			wantSent: []sent{{Op: "affiliation", Room: testRoom, Target: "eve@evil.example", Value: "outcast", Reason: "please stop"}},
			wantRec:  store.AuditRecord{Action: "affiliation", TargetJID: "eve@evil.example", Value: "outcast", Prev: "none"},
		},
		{
			name:     "retract",
			req:      Request{Kind: KindRetract, StanzaID: "st-1", Nick: "uma", Why: why},
			wantSent: []sent{{Op: "retract", Room: testRoom, Target: "st-1", Value: "urn:xmpp:message-moderate:0", Reason: "please stop"}},
			wantRec:  store.AuditRecord{Action: "retract", TargetJID: "uma@example.org", TargetNick: "uma", Value: "st-1"},
		},
		{
			name:     "say",
			req:      Request{Kind: KindSay, Text: "hello", Why: why},
			wantSent: []sent{{Op: "groupchat", Room: testRoom, Value: "hello"}},
			wantRec:  store.AuditRecord{Action: "say", Value: "hello"},
		},
		{
			name:     "whisper",
			req:      Request{Kind: KindWhisper, Nick: "uma", Text: "psst", Why: why},
			wantSent: []sent{{Op: "private", Room: testRoom, Target: "uma", Value: "psst"}},
			wantRec:  store.AuditRecord{Action: "whisper", TargetJID: "uma@example.org", TargetNick: "uma", Value: "psst"},
		},
		{
			name:     "tell",
			req:      Request{Kind: KindTell, JID: "newbie@example.org/phone", Text: "welcome", Why: why},
			wantSent: []sent{{Op: "direct", Target: "newbie@example.org/phone", Value: "welcome"}},
			wantRec:  store.AuditRecord{Action: "tell", TargetJID: "newbie@example.org", Value: "welcome"},
		},
		{
			name: "notify",
			req:  Request{Kind: KindNotify, Text: "look", Why: why},
			wantSent: []sent{
				{Op: "direct", Target: "otto@example.org", Value: "look"},
				{Op: "direct", Target: "zoe@example.org", Value: "look"},
			},
			wantRec: store.AuditRecord{Action: "notify", Value: "look"},
		},
		{
			name:     "configure",
			req:      Request{Kind: KindConfigure, Fields: map[string][]string{"muc#roomconfig_moderatedroom": {"1"}, "muc#roomconfig_changesubject": {"0"}}, Why: why},
			wantSent: []sent{{Op: "configure", Room: testRoom, Value: "muc#roomconfig_changesubject=0; muc#roomconfig_moderatedroom=1"}},
			wantRec:  store.AuditRecord{Action: "configure", Value: "muc#roomconfig_changesubject=0; muc#roomconfig_moderatedroom=1"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, Limits{})
			room := newTestRoom()
			room.OfficerSet["zoe@example.org"] = true
			room.SelfOcc.Affiliation = policies.AffOwner
			tc.req.Actor, tc.req.Policy = "policy:antispam", "antispam"
			rec, err := f.ex.Do(t.Context(), room, tc.req)
			if err != nil {
				t.Fatalf("Do: %v", err)
			}
			if diff := cmp.Diff(tc.wantSent, f.tr.calls()); diff != "" {
				t.Errorf("sent (-want +got):\n%s", diff)
			}
			want := tc.wantRec
			want.Room, want.Actor, want.Policy, want.Result = testRoom, "policy:antispam", "antispam", ResultOK
			want.Public, want.Private, want.Group, want.Ref = why.Public, why.Private, why.Group, why.Ref
			if diff := cmp.Diff(want, rec, cmpopts.IgnoreFields(store.AuditRecord{}, "ID", "At")); diff != "" {
				t.Errorf("record (-want +got):\n%s", diff)
			}
			stored, err := f.st.Audit().Get(t.Context(), rec.ID)
			if err != nil || !cmp.Equal(stored, rec) {
				t.Errorf("stored record %+v (err %v), want %+v", stored, err, rec)
			}
			if got := testutil.ToFloat64(f.m.actions.WithLabelValues("antispam", tc.req.Kind, ResultOK)); got != 1 {
				t.Errorf("steward_actions_total = %v, want 1", got)
			}
		})
	}
}

func TestDoServerError(t *testing.T) {
	f := newFixture(t, Limits{})
	f.tr.fail["role"] = errors.New("forbidden: you are not allowed to do that")
	rec, err := f.ex.Do(t.Context(), newTestRoom(), Request{Actor: "mod@example.org", Kind: KindKick, Nick: "uma", Why: policies.Because("bye")})
	if err == nil || !strings.Contains(err.Error(), "forbidden") {
		t.Fatalf("Do = %v, want the server's error", err)
	}
	if rec.Result != ResultError || rec.Error != "forbidden: you are not allowed to do that" || rec.ID == "" {
		t.Fatalf("record %+v, want result error with the server's text", rec)
	}
	if got := testutil.ToFloat64(f.m.actions.WithLabelValues("command", KindKick, ResultError)); got != 1 {
		t.Errorf("steward_actions_total{policy=command,result=error} = %v, want 1", got)
	}
}

func TestDryRun(t *testing.T) {
	reqs := []Request{
		{Kind: KindRole, Nick: "uma", Role: policies.RoleVisitor},
		{Kind: KindKick, Nick: "uma"},
		{Kind: KindAffiliation, JID: "uma@example.org", Aff: policies.AffOutcast},
		{Kind: KindRetract, StanzaID: "s1"},
		{Kind: KindSay, Text: "hello"},
		{Kind: KindWhisper, Nick: "uma", Text: "psst"},
		{Kind: KindTell, JID: "uma@example.org", Text: "hi"},
		{Kind: KindConfigure, Fields: map[string][]string{"muc#roomconfig_moderatedroom": {"1"}}},
	}
	for _, req := range reqs {
		t.Run(req.Kind, func(t *testing.T) {
			f := newFixture(t, Limits{})
			room := newTestRoom()
			room.SelfOcc.Affiliation = policies.AffOwner
			req.Actor, req.Policy, req.DryRun = "policy:p", "p", true
			rec, err := f.ex.Do(t.Context(), room, req)
			if err != nil {
				t.Fatalf("Do: %v", err)
			}
			if got := f.tr.calls(); len(got) != 0 {
				t.Fatalf("dry-run sent %v", got)
			}
			if rec.Result != ResultDryRun || rec.ID == "" || rec.Error != "" {
				t.Fatalf("record %+v, want a stored dry-run record", rec)
			}
			if n := f.logs.FilterMessage("would have acted (dry-run)").Len(); n != 1 {
				t.Fatalf("%d would-have logs, want 1", n)
			}
		})
	}
}

func TestDryRunNotifySendsMarked(t *testing.T) {
	f := newFixture(t, Limits{})
	rec, err := f.ex.Do(t.Context(), newTestRoom(), Request{Actor: "policy:p", Policy: "p", DryRun: true, Kind: KindNotify, Text: "would ban eve"})
	if err != nil {
		t.Fatal(err)
	}
	want := []sent{{Op: "direct", Target: "otto@example.org", Value: "[dry-run] would ban eve"}}
	if diff := cmp.Diff(want, f.tr.calls()); diff != "" {
		t.Errorf("sent (-want +got):\n%s", diff)
	}
	if rec.Result != ResultDryRun {
		t.Errorf("result %q, want dry-run", rec.Result)
	}
}

// Guards apply in dry-run too: "would have" never includes acting against
// an officer.
func TestDryRunStillGuarded(t *testing.T) {
	f := newFixture(t, Limits{})
	rec, err := f.ex.Do(t.Context(), newTestRoom(), Request{Actor: "policy:p", Policy: "p", DryRun: true, Kind: KindKick, Nick: "olga"})
	if !errors.Is(err, policies.ErrGuarded) || rec.Result != ResultRefused {
		t.Fatalf("Do = %v, %q; want guarded refusal", err, rec.Result)
	}
}

func TestRefusals(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(r roomSetup)
		req     Request
		wantErr error
		wantMsg string
	}{
		{"not moderator: devoice", func(r roomSetup) { r.Moderator = false },
			Request{Kind: KindRole, Nick: "uma", Role: policies.RoleVisitor}, policies.ErrNotModerator, "not a moderator"},
		{"not moderator: grant voice", func(r roomSetup) { r.Moderator = false },
			Request{Kind: KindRole, Nick: "vic", Role: policies.RoleParticipant}, policies.ErrNotModerator, "not a moderator"},
		{"not moderator: ban", func(r roomSetup) { r.Moderator = false },
			Request{Kind: KindAffiliation, JID: "uma@example.org", Aff: policies.AffOutcast}, policies.ErrNotModerator, "not a moderator"},
		{"not owner: configure", func(r roomSetup) {},
			Request{Kind: KindConfigure, Fields: map[string][]string{"x": {"1"}}}, policies.ErrNotModerator, "not owner here"},
		{"not owner: make admin", func(r roomSetup) {},
			Request{Kind: KindAffiliation, JID: "uma@example.org", Aff: policies.AffAdmin}, policies.ErrNotModerator, "only a room owner"},
		{"retract unsupported", func(r roomSetup) { r.Feat.Moderation = "" },
			Request{Kind: KindRetract, StanzaID: "s1"}, policies.ErrUnsupported, "does not support XEP-0425 message moderation"},
		{"no such nick", func(r roomSetup) {},
			Request{Kind: KindKick, Nick: "ghost"}, policies.ErrNoSuchOccupant, `no occupant with the nick "ghost"`},
		{"invalid role", func(r roomSetup) {},
			Request{Kind: KindRole, Nick: "uma", Role: "king"}, nil, `invalid role "king"`},
		{"unknown kind", func(r roomSetup) {},
			Request{Kind: "smite", Nick: "uma"}, nil, `unknown action kind "smite"`},
		{"empty say", func(r roomSetup) {},
			Request{Kind: KindSay}, nil, "empty message"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, Limits{})
			room := newTestRoom()
			tc.setup(room)
			tc.req.Actor = "mod@example.org"
			rec, err := f.ex.Do(t.Context(), room, tc.req)
			if err == nil || (tc.wantErr != nil && !errors.Is(err, tc.wantErr)) || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("Do = %v, want %v containing %q", err, tc.wantErr, tc.wantMsg)
			}
			if got := f.tr.calls(); len(got) != 0 {
				t.Fatalf("sent %v despite the refusal", got)
			}
			if rec.Result != ResultRefused || rec.Error != err.Error() {
				t.Fatalf("record %+v, want refused with the error", rec)
			}
		})
	}
}

// roomSetup is the fake room the refusal table adjusts.
type roomSetup = *policytest.Room

// In dry-run a missing privilege does not hide what the policy would do: the
// record says both.
func TestDryRunWithoutPrivilege(t *testing.T) {
	f := newFixture(t, Limits{})
	room := newTestRoom()
	room.Moderator = false
	rec, err := f.ex.Do(t.Context(), room, Request{Actor: "policy:p", Policy: "p", DryRun: true, Kind: KindKick, Nick: "uma"})
	if err != nil {
		t.Fatal(err)
	}
	if rec.Result != ResultDryRun || !strings.Contains(rec.Error, "not a moderator") {
		t.Fatalf("record %+v, want dry-run noting the missing privilege", rec)
	}
}

func TestActionsBuildRequests(t *testing.T) {
	f := newFixture(t, Limits{})
	room := newTestRoom()
	timers := &fakeTimers{}
	received := time.Now().Add(-time.Millisecond)
	act := f.ex.Actions(room, "policy:vetting", "vetting", false, timers, received)
	ctx := t.Context()
	steps := []error{
		act.SetRole(ctx, "vic", policies.RoleParticipant, policies.Because("vetted")),
		act.SetAffiliation(ctx, jid.MustParse("vic@example.org/phone"), policies.AffMember, policies.Because("vetted")),
		act.Whisper(ctx, "vic", "welcome"),
		act.Tell(ctx, jid.MustParse("vic@example.org"), "welcome"),
		act.Say(ctx, "vic is in"),
		act.NotifyOfficers(ctx, "vic vetted"),
		act.Schedule(ctx, "remind", time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)),
		act.Cancel(ctx, "remind"),
	}
	if err := errors.Join(steps...); err != nil {
		t.Fatal(err)
	}
	want := []sent{
		{Op: "role", Room: testRoom, Target: "vic", Value: "participant", Reason: "vetted"},
		{Op: "affiliation", Room: testRoom, Target: "vic@example.org", Value: "member", Reason: "vetted"},
		{Op: "private", Room: testRoom, Target: "vic", Value: "welcome"},
		{Op: "direct", Target: "vic@example.org", Value: "welcome"},
		{Op: "groupchat", Room: testRoom, Value: "vic is in"},
		{Op: "direct", Target: "otto@example.org", Value: "vic vetted"},
	}
	if diff := cmp.Diff(want, f.tr.calls()); diff != "" {
		t.Errorf("sent (-want +got):\n%s", diff)
	}
	wantTimers := []string{
		"schedule " + testRoom + " vetting remind 2030-01-02T03:04:05Z",
		"cancel " + testRoom + " vetting remind",
	}
	if diff := cmp.Diff(wantTimers, timers.calls); diff != "" {
		t.Errorf("timers (-want +got):\n%s", diff)
	}
	for _, r := range f.records(t) {
		if r.Actor != "policy:vetting" || r.Policy != "vetting" {
			t.Errorf("record %s stamped %q/%q, want policy:vetting/vetting", r.ID, r.Actor, r.Policy)
		}
	}
	if n := testutil.CollectAndCount(f.m.latency); n != 1 {
		t.Errorf("latency histogram has %d series, want 1", n)
	}
}

// In dry-run, timers still work, so a policy's state machine advances.
func TestActionsDryRunKeepsTimers(t *testing.T) {
	f := newFixture(t, Limits{})
	timers := &fakeTimers{}
	act := f.ex.Actions(newTestRoom(), "policy:idle", "idle", true, timers, time.Time{})
	ctx := t.Context()
	if err := errors.Join(
		act.Kick(ctx, "uma", policies.Because("idle")),
		act.Schedule(ctx, "sweep", time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)),
	); err != nil {
		t.Fatal(err)
	}
	if got := f.tr.calls(); len(got) != 0 {
		t.Errorf("dry-run sent %v", got)
	}
	if len(timers.calls) != 1 {
		t.Errorf("timers %v, want one schedule", timers.calls)
	}
}

func TestActionsWithoutTimers(t *testing.T) {
	f := newFixture(t, Limits{})
	act := f.ex.Actions(newTestRoom(), "mod@example.org", "", false, nil, time.Time{})
	if err := act.Schedule(t.Context(), "k", time.Now()); !errors.Is(err, errNoTimers) {
		t.Fatalf("Schedule = %v, want errNoTimers", err)
	}
}

// An action whose context ends while queued is not sent, and says so.
func TestDoContextCancelled(t *testing.T) {
	f := newFixture(t, Limits{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	rec, err := f.ex.Do(ctx, newTestRoom(), Request{Actor: "policy:p", Policy: "p", Kind: KindSay, Text: "hi"})
	if !errors.Is(err, context.Canceled) || rec.Result != ResultError || rec.ID == "" {
		t.Fatalf("Do = %v, record %+v; want a cancelled, audited error", err, rec)
	}
	if got := f.tr.calls(); len(got) != 0 {
		t.Fatalf("sent %v", got)
	}
}

func BenchmarkExecutorDryRun(b *testing.B) {
	f := newFixture(b, Limits{})
	room := newTestRoom()
	req := Request{Actor: "policy:p", Policy: "p", DryRun: true, Kind: KindKick, Nick: "uma", Why: why}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.ex.Do(ctx, room, req); err != nil {
			b.Fatal(err)
		}
	}
}

func TestMetricsRegisterAndNilSafe(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := NewMetrics(reg)
	var nilM *Metrics
	for _, mm := range []*Metrics{m, nilM} {
		mm.event("occupant_joined")
		mm.action("p", KindKick, ResultOK)
		mm.actionLatency(time.Millisecond)
		mm.redisError("audit_append")
		mm.roomJoined(+1, true)
		mm.roomJoined(+1, false)
		mm.policyError("p")
		mm.timersPendingSet(3)
		mm.rtbl("xmppbl", 10, time.Minute)
		mm.reloaded(false)
		mm.connected(true)
		mm.rateLimitWait(time.Second)
	}
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range fams {
		names = append(names, f.GetName())
	}
	want := []string{
		"steward_action_latency_seconds", "steward_actions_total", "steward_config_last_reload_successful",
		"steward_events_total", "steward_policy_errors_total", "steward_ratelimit_wait_seconds",
		"steward_redis_errors_total", "steward_rooms_joined", "steward_rtbl_entries",
		"steward_rtbl_set_age_seconds", "steward_timers_pending", "steward_xmpp_connected",
	}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("registered series (-want +got):\n%s", diff)
	}
	if got := testutil.ToFloat64(m.roomsJoined); got != 1 {
		t.Errorf("steward_rooms_joined = %v, want 1 (apply=false ignored)", got)
	}
	if got := testutil.ToFloat64(m.reloadOK); got != 0 {
		t.Errorf("steward_config_last_reload_successful = %v, want 0", got)
	}
	// A nil executor's metrics still work: NewExecutor accepts nil.
	ex := NewExecutor(&fakeTransport{}, memstore.New().Audit(), Limits{}, nil, nil)
	if _, err := ex.Do(t.Context(), newTestRoom(), Request{Actor: "policy:p", Kind: KindSay, Text: "hi", Received: time.Now()}); err != nil {
		t.Fatal(err)
	}
}

// failingAudit fails every Append, like Redis down.
type failingAudit struct{ store.Audit }

func (failingAudit) Append(context.Context, store.AuditRecord) (store.AuditRecord, error) {
	return store.AuditRecord{}, errors.New("redis: connection refused")
}

// An action that was sent but could not be audited says so, and is counted.
func TestDoAuditFailure(t *testing.T) {
	tr := &fakeTransport{}
	m := NewMetrics(nil)
	ex := NewExecutor(tr, failingAudit{memstore.New().Audit()}, Limits{}, m, nil)
	_, err := ex.Do(t.Context(), newTestRoom(), Request{Actor: "policy:p", Policy: "p", Kind: KindKick, Nick: "uma"})
	if err == nil || !strings.Contains(err.Error(), "kick was done but not audited") {
		t.Fatalf("Do = %v, want a not-audited error", err)
	}
	if len(tr.calls()) != 1 {
		t.Fatalf("sent %v, want the kick", tr.calls())
	}
	if got := testutil.ToFloat64(m.redisErrors.WithLabelValues("audit_append")); got != 1 {
		t.Errorf("steward_redis_errors_total{op=audit_append} = %v, want 1", got)
	}
}
