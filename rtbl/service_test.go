package rtbl

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/steward-xmpp/steward/store"
	"github.com/steward-xmpp/steward/store/memstore"
)

// fakeSource is an in-memory pubsub service.
type fakeSource struct {
	mu        sync.Mutex
	items     map[string][]Entry // node -> items
	fail      error              // returned by Fetch and Subscribe while set
	failN     int                // fail only this many more calls (0: while fail is set)
	attempts  []time.Time        // Fetch calls
	subs      int
	published []Entry
	retracted []string
}

func newSource() *fakeSource { return &fakeSource{items: map[string][]Entry{}} }

func (f *fakeSource) failing() error {
	if f.fail == nil {
		return nil
	}
	if f.failN > 0 {
		f.failN--
		if f.failN == 0 {
			err := f.fail
			f.fail = nil
			return err
		}
	}
	return f.fail
}

func (f *fakeSource) Fetch(_ context.Context, _, node string) ([]Entry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.attempts = append(f.attempts, time.Now())
	if err := f.failing(); err != nil {
		return nil, err
	}
	return slices.Clone(f.items[node]), nil
}

func (f *fakeSource) Subscribe(context.Context, string, string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.subs++
	if f.fail != nil {
		return f.fail
	}
	return nil
}

func (f *fakeSource) Publish(_ context.Context, _, _ string, e Entry) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.published = append(f.published, e)
	return nil
}

func (f *fakeSource) Retract(_ context.Context, _, _, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.retracted = append(f.retracted, id)
	return nil
}

// fakeNotifier records what the service tells the rooms.
type fakeNotifier struct {
	mu  sync.Mutex
	got []any
}

func (n *fakeNotifier) NotifyRooms(topic string, payload any) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if topic != Topic {
		panic("unexpected topic " + topic)
	}
	n.got = append(n.got, payload)
}

func (n *fakeNotifier) take() []any {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := n.got
	n.got = nil
	return out
}

var testLists = []ListConfig{
	{Name: "xmppbl", Service: "xmppbl.org", Node: DefaultNode, Mode: ModeApply},
	{Name: "watch", Service: "pubsub.example.org", Node: "watch", Mode: ModeAlert},
	{Name: "dormant", Service: "pubsub.example.org", Node: "dormant", Mode: ModeOff},
	{Name: "forgiving", Service: "pubsub.example.org", Node: "forgiving", Mode: ModeApply, AutoUnban: true},
}

func newService(t *testing.T, kv store.KV, src Source, n Notifier, opts ...Option) *Service {
	t.Helper()
	if err := ValidateConfig(testLists, nil); err != nil {
		t.Fatal(err)
	}
	s := NewService(testLists, &PublishConfig{Name: "ours", Service: "pubsub.example.org", Node: "ours"}, src, kv, n, zaptest.NewLogger(t), opts...)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func ent(target, text string) Entry {
	return Entry{ID: Hash(target), Reason: ReasonSpam, Text: text}
}

func TestValidateConfig(t *testing.T) {
	lists := []ListConfig{
		{Name: "ok", Service: "xmppbl.org", Node: "n", Mode: ModeApply},
		{Name: "ok", Service: "xmppbl.org", Node: "n", Mode: ModeApply},
		{Name: "Bad Name", Service: "", Node: " ", Mode: "on"},
	}
	err := ValidateConfig(lists, &PublishConfig{Name: "p", Service: "", Node: ""})
	want := []string{
		`lists[1].name: duplicate list name "ok"`,
		`lists[2].name: must be lowercase letters, digits, '.', '_' or '-', got "Bad Name"`,
		`lists[2].service: must be a pubsub service JID, got ""`,
		`lists[2].node: must not be empty`,
		`lists[2].mode: must be "apply", "alert" or "off", got "on"`,
		`publish.service: must be a pubsub service JID, got ""`,
		`publish.node: must not be empty`,
	}
	if err == nil || err.Error() != strings.Join(want, "\n") {
		t.Errorf("got:\n%v\nwant:\n%s", err, strings.Join(want, "\n"))
	}
}

func TestMatch(t *testing.T) {
	ctx := t.Context()
	s := newService(t, memstore.NewKV(), newSource(), nil)
	must(t, s.OnEvent(ctx, "xmppbl.org", DefaultNode, []Entry{ent("spammer@example.com", "flood"), ent("evil.example", "")}, nil))
	must(t, s.OnEvent(ctx, "pubsub.example.org", "watch", []Entry{ent("spammer@example.com", "")}, nil))
	must(t, s.OnEvent(ctx, "pubsub.example.org", "dormant", []Entry{ent("quiet@example.com", "")}, nil))

	tests := []struct {
		in   string
		want []Hit
	}{
		{"spammer@example.com", []Hit{
			{List: "xmppbl", Mode: ModeApply, ItemID: hashSpammer, Reason: "spam: flood"},
			{List: "watch", Mode: ModeAlert, ItemID: hashSpammer, Reason: "spam"},
		}},
		{"SPAMMER@example.com/res", []Hit{
			{List: "xmppbl", Mode: ModeApply, ItemID: hashSpammer, Reason: "spam: flood"},
			{List: "watch", Mode: ModeAlert, ItemID: hashSpammer, Reason: "spam"},
		}},
		{"anyone@evil.example", []Hit{{List: "xmppbl", Mode: ModeApply, ItemID: hashEvil, Reason: "spam", Domain: true}}},
		{"evil.example", []Hit{{List: "xmppbl", Mode: ModeApply, ItemID: hashEvil, Reason: "spam", Domain: true}}},
		{"quiet@example.com", nil}, // off lists are never filled nor matched
		{"friend@example.com", nil},
		{"", nil},
	}
	for _, tc := range tests {
		if got := s.Match(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("Match(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestOnEvent(t *testing.T) {
	ctx := t.Context()
	kv := memstore.NewKV()
	n := &fakeNotifier{}
	s := newService(t, kv, newSource(), n)
	a, b := ent("a@example.com", "first"), ent("b@example.com", "")

	must(t, s.OnEvent(ctx, "XMPPBL.org", DefaultNode, []Entry{a, b, {ID: "not-a-hash"}}, nil))
	got := n.take()
	if len(got) != 1 || !slices.Equal(got[0].(Published).Entries, sortedEntries(a, b)) {
		t.Fatalf("publish notified %+v", got)
	}
	// Servers resend the last item at each login: nothing changes.
	must(t, s.OnEvent(ctx, "xmppbl.org", DefaultNode, []Entry{a}, nil))
	if got := n.take(); len(got) != 0 {
		t.Fatalf("republish notified %+v", got)
	}
	// A changed report is stored without a new sweep.
	a2 := a
	a2.Text = "updated"
	must(t, s.OnEvent(ctx, "xmppbl.org", DefaultNode, []Entry{a2}, nil))
	if got := n.take(); len(got) != 0 {
		t.Fatalf("payload update notified %+v", got)
	}
	if raw, _ := kv.Get(ctx, nsListPrefix+"xmppbl", a.ID); !strings.Contains(string(raw), "updated") {
		t.Errorf("stored payload = %s", raw)
	}
	must(t, s.OnEvent(ctx, "xmppbl.org", DefaultNode, nil, []string{b.ID, Hash("never@listed.example")}))
	got = n.take()
	if len(got) != 1 || !slices.Equal(got[0].(Retracted).IDs, []string{b.ID}) {
		t.Fatalf("retract notified %+v", got)
	}
	if all, _ := kv.All(ctx, nsListPrefix+"xmppbl"); len(all) != 1 || all[a.ID] == nil {
		t.Errorf("stored list = %v", all)
	}
	// Unknown nodes and lists that are off are ignored.
	must(t, s.OnEvent(ctx, "xmppbl.org", "other", []Entry{b}, nil))
	must(t, s.OnEvent(ctx, "pubsub.example.org", "dormant", []Entry{b}, nil))
	if got := n.take(); len(got) != 0 || len(s.Match("b@example.com")) != 0 {
		t.Fatalf("ignored events changed something: %+v", got)
	}
}

func sortedEntries(es ...Entry) []Entry {
	slices.SortFunc(es, func(a, b Entry) int { return strings.Compare(a.ID, b.ID) })
	return es
}

func TestResyncReportsDifferences(t *testing.T) {
	ctx := t.Context()
	kv := memstore.NewKV()
	stay, gone, fresh := ent("stay@example.com", ""), ent("gone@example.com", ""), ent("fresh@example.com", "new")
	must(t, kv.Replace(ctx, nsListPrefix+"xmppbl", map[string][]byte{stay.ID: encodeEntry(stay), gone.ID: encodeEntry(gone)}))

	src := newSource()
	src.items[DefaultNode] = []Entry{stay, fresh, {ID: "junk"}}
	n := &fakeNotifier{}
	s := newService(t, kv, src, n)
	must(t, s.Start(ctx))
	if len(s.Match("gone@example.com")) != 1 {
		t.Fatal("Start did not load the stored set")
	}
	must(t, s.syncList(ctx, s.byName["xmppbl"]))

	got := n.take()
	want := []any{NewPublished("xmppbl", []Entry{fresh}), Retracted{List: "xmppbl", IDs: []string{gone.ID}}}
	if len(got) != 2 || !slices.Equal(got[0].(Published).Entries, want[0].(Published).Entries) ||
		!slices.Equal(got[1].(Retracted).IDs, want[1].(Retracted).IDs) {
		t.Fatalf("notified %+v, want %+v", got, want)
	}
	if len(s.Match("gone@example.com")) != 0 || len(s.Match("fresh@example.com")) != 1 {
		t.Error("in-memory set not replaced")
	}
	all, _ := kv.All(ctx, nsListPrefix+"xmppbl")
	if len(all) != 2 || all[fresh.ID] == nil || all[gone.ID] != nil {
		t.Errorf("stored set = %v", all)
	}
	// A second resync with the same items is silent.
	must(t, s.syncList(ctx, s.byName["xmppbl"]))
	if got := n.take(); len(got) != 0 {
		t.Errorf("unchanged resync notified %+v", got)
	}
}

func TestRestartWithServiceDown(t *testing.T) {
	ctx := t.Context()
	kv := memstore.NewKV()
	synced := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	now := synced
	clock := func() time.Time { return now }

	src := newSource()
	src.items[DefaultNode] = []Entry{ent("spammer@example.com", "flood")}
	first := newService(t, kv, src, nil, WithClock(clock))
	must(t, first.Start(ctx))
	must(t, first.syncList(ctx, first.byName["xmppbl"]))
	must(t, first.Exempt(ctx, "Friend@Example.com", "by owner"))

	// The process restarts two hours later; the list's service is down.
	now = synced.Add(2 * time.Hour)
	down := newSource()
	down.fail = errors.New("remote-server-not-found")
	second := newService(t, kv, down, nil, WithClock(clock))
	must(t, second.Start(ctx))
	if err := second.syncList(ctx, second.byName["xmppbl"]); err == nil {
		t.Fatal("sync with the service down succeeded")
	}
	if hits := second.Match("spammer@example.com"); len(hits) != 1 || hits[0].Reason != "spam: flood" {
		t.Errorf("Match after restart = %+v", hits)
	}
	if !second.IsExempt("friend@example.com") {
		t.Error("global exemption lost across restart")
	}
	if age, ok := second.Age("xmppbl"); !ok || age != 2*time.Hour {
		t.Errorf("Age = %v, %v; want 2h", age, ok)
	}
	st := second.Status()[0]
	if st.Size != 1 || st.Subscribed || st.Failures != 1 || !strings.Contains(st.LastError, "remote-server-not-found") {
		t.Errorf("status = %+v", st)
	}
}

func TestSyncRetriesWithBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := newSource()
		src.items[DefaultNode] = []Entry{ent("spammer@example.com", "")}
		src.fail, src.failN = errors.New("timeout"), 3 // the 4th attempt works
		lists := []ListConfig{testLists[0]}
		s := NewService(lists, nil, src, memstore.NewKV(), nil, zaptest.NewLogger(t), WithBackoff(time.Second, 3*time.Second))
		start := time.Now()
		s.OnConnected(t.Context())
		time.Sleep(time.Minute)
		synctest.Wait()

		src.mu.Lock()
		var offsets []time.Duration
		for _, at := range src.attempts {
			offsets = append(offsets, at.Sub(start))
		}
		src.mu.Unlock()
		// 1s, 2s, then capped at 3s.
		want := []time.Duration{0, time.Second, 3 * time.Second, 6 * time.Second}
		if !slices.Equal(offsets, want) {
			t.Errorf("attempts at %v, want %v", offsets, want)
		}
		if len(s.Match("spammer@example.com")) != 1 {
			t.Error("set not loaded after the retries")
		}
		if st := s.Status()[0]; !st.Subscribed || st.LastError != "" || st.Failures != 0 {
			t.Errorf("status after recovery = %+v", st)
		}
		must(t, s.Close())
	})
}

func TestOnConnectedCancelsPreviousRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := newSource()
		src.fail = errors.New("down")
		s := NewService([]ListConfig{testLists[0]}, nil, src, memstore.NewKV(), nil, zaptest.NewLogger(t), WithBackoff(time.Second, time.Second))
		s.OnConnected(t.Context())
		time.Sleep(1500 * time.Millisecond) // attempts at 0s and 1s
		s.OnConnected(t.Context())          // reconnect: attempt now, then every second
		time.Sleep(1200 * time.Millisecond)
		synctest.Wait()
		must(t, s.Close())
		src.mu.Lock()
		defer src.mu.Unlock()
		if len(src.attempts) != 4 {
			t.Errorf("%d attempts, want 4 (two loops would make more)", len(src.attempts))
		}
	})
}

func TestShare(t *testing.T) {
	ctx := t.Context()
	src := newSource()
	s := newService(t, memstore.NewKV(), src, nil)
	id, err := s.Share(ctx, "Spammer@example.com/x", "  invites to scam rooms ")
	must(t, err)
	if id != hashSpammer || len(src.published) != 1 || src.published[0] != (Entry{ID: hashSpammer, Reason: ReasonSpam, Text: "invites to scam rooms"}) {
		t.Errorf("Share = %s, published %+v", id, src.published)
	}
	id, err = s.Unshare(ctx, "spammer@example.com")
	must(t, err)
	if id != hashSpammer || !slices.Equal(src.retracted, []string{hashSpammer}) {
		t.Errorf("Unshare = %s, retracted %v", id, src.retracted)
	}
	if _, err := s.Share(ctx, "not a jid@@", "x"); err == nil {
		t.Error("Share accepted an invalid JID")
	}

	none := NewService(testLists, nil, src, memstore.NewKV(), nil, zaptest.NewLogger(t))
	if _, err := none.Share(ctx, "a@b.example", "x"); !errors.Is(err, ErrNoPublish) || err.Error() != "no rtbl.publish list is configured" {
		t.Errorf("Share without publish: %v", err)
	}
}

func TestGlobalExemptions(t *testing.T) {
	ctx := t.Context()
	s := newService(t, memstore.NewKV(), newSource(), nil)
	must(t, s.Exempt(ctx, "trusted.example", "by owner"))
	tests := []struct {
		in   string
		want bool
	}{
		{"anyone@trusted.example", true},
		{"trusted.example", true},
		{"someone@other.example", false},
	}
	for _, tc := range tests {
		if got := s.IsExempt(tc.in); got != tc.want {
			t.Errorf("IsExempt(%q) = %v", tc.in, got)
		}
	}
	ok, err := s.Unexempt(ctx, "trusted.example")
	must(t, err)
	if !ok || s.IsExempt("anyone@trusted.example") {
		t.Error("Unexempt did not remove the exemption")
	}
	if ok, _ := s.Unexempt(ctx, "trusted.example"); ok {
		t.Error("second Unexempt reported a removal")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

type errFake string

func (e errFake) Error() string { return string(e) }

func nopLog(t *testing.T) *zap.Logger { return zaptest.NewLogger(t) }

// racingSource answers Fetch with its stored items, but first lets a live
// event arrive, as a pubsub event can while the items request is in flight.
type racingSource struct {
	*fakeSource
	during func()
}

func (r *racingSource) Fetch(ctx context.Context, service, node string) ([]Entry, error) {
	items, err := r.fakeSource.Fetch(ctx, service, node)
	if r.during != nil {
		r.during()
	}
	return items, err
}

// TestEventDuringFetchIsKept: an event newer than the fetched items must
// survive the resync that follows, for publishes and retractions alike.
func TestEventDuringFetchIsKept(t *testing.T) {
	ctx := context.Background()
	src := &racingSource{fakeSource: newSource()}
	old, gone, fresh := ent("old@evil.example", "old"), ent("gone@evil.example", "gone"), ent("fresh@evil.example", "fresh")
	src.items[DefaultNode] = []Entry{old, gone}
	s := newService(t, memstore.NewKV(), src, nil)
	src.during = func() {
		if err := s.OnEvent(ctx, "xmppbl.org", DefaultNode, []Entry{fresh}, []string{gone.ID}); err != nil {
			t.Errorf("OnEvent: %v", err)
		}
	}
	var l *list
	for _, x := range s.lists {
		if x.cfg.Name == "xmppbl" {
			l = x
		}
	}
	if err := s.syncList(ctx, l); err != nil {
		t.Fatalf("sync: %v", err)
	}
	for _, tc := range []struct {
		bare   string
		listed bool
	}{{"old@evil.example", true}, {"fresh@evil.example", true}, {"gone@evil.example", false}} {
		if got := len(s.Match(tc.bare)) > 0; got != tc.listed {
			t.Errorf("%s listed = %v after the resync, want %v", tc.bare, got, tc.listed)
		}
	}
}
