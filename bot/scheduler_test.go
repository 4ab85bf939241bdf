package bot

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/steward-xmpp/steward/store"
	"github.com/steward-xmpp/steward/store/memstore"
)

// fired is one delivery seen by a test.
type fired struct {
	Key  string
	Due  time.Time // the timer's At: TimerFired.Due
	When time.Time // when it was delivered: TimerFired.At
	done func()
}

// schedHarness runs a Scheduler over st inside a synctest bubble. Deliveries
// are collected; autoDone calls done at once, as a room would after handling.
type schedHarness struct {
	s        *Scheduler
	st       store.Timers
	mu       sync.Mutex
	got      []fired
	autoDone bool
	stop     func()
}

func startScheduler(t *testing.T, st store.Timers, autoDone bool) *schedHarness {
	t.Helper()
	h := &schedHarness{st: st, autoDone: autoDone}
	h.s = NewScheduler(st, func(tm store.Timer, done func()) {
		h.mu.Lock()
		h.got = append(h.got, fired{Key: tm.Key, Due: tm.At, When: time.Now(), done: done})
		h.mu.Unlock()
		if h.autoDone {
			done()
		}
	}, nil, NewMetrics(nil))
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := h.s.Run(ctx); err != nil {
			t.Error(err)
		}
	})
	h.stop = func() { cancel(); wg.Wait() }
	t.Cleanup(h.stop)
	synctest.Wait() // Run has loaded the store
	return h
}

func (h *schedHarness) fired() []fired {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]fired(nil), h.got...)
}

func keys(fs []fired) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Key)
	}
	return out
}

func stored(t *testing.T, st store.Timers) []string {
	t.Helper()
	all, err := st.All(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, tm := range all {
		out = append(out, tm.Key)
	}
	return out
}

func TestSchedulerFiresInOrderOnTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startScheduler(t, memstore.New().Timers(), true)
		ctx := t.Context()
		t0 := time.Now()
		for _, k := range []struct {
			key string
			in  time.Duration
		}{{"c", 3 * time.Second}, {"a", time.Second}, {"b", 2 * time.Second}, {"b2", 2 * time.Second}} {
			if err := h.s.Schedule(ctx, testRoom, "debate", k.key, t0.Add(k.in)); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(1500 * time.Millisecond)
		synctest.Wait()
		if got := keys(h.fired()); !cmp.Equal(got, []string{"a"}) {
			t.Fatalf("after 1.5s fired %v, want [a]", got)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		got := h.fired()
		if diff := cmp.Diff([]string{"a", "b", "b2", "c"}, keys(got)); diff != "" {
			t.Fatalf("order (-want +got):\n%s", diff)
		}
		for _, f := range got {
			if !f.When.Equal(f.Due) {
				t.Errorf("%s delivered at %v, due %v", f.Key, f.When.Sub(t0), f.Due.Sub(t0))
			}
		}
		if s := stored(t, h.st); len(s) != 0 {
			t.Errorf("store still holds %v after done", s)
		}
	})
}

func TestSchedulerMoveAndCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startScheduler(t, memstore.New().Timers(), true)
		ctx := t.Context()
		t0 := time.Now()
		if err := errors.Join(
			h.s.Schedule(ctx, testRoom, "idle", "moved", t0.Add(time.Second)),
			h.s.Schedule(ctx, testRoom, "idle", "cancelled", t0.Add(2*time.Second)),
			h.s.Schedule(ctx, testRoom, "idle", "moved", t0.Add(5*time.Second)),
			h.s.Cancel(ctx, testRoom, "idle", "cancelled"),
			h.s.Cancel(ctx, testRoom, "idle", "never-scheduled"),
		); err != nil {
			t.Fatal(err)
		}
		if h.s.Len() != 1 {
			t.Fatalf("Len = %d, want 1", h.s.Len())
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		got := h.fired()
		if len(got) != 1 || got[0].Key != "moved" || !got[0].When.Equal(t0.Add(5*time.Second)) {
			t.Fatalf("fired %v, want only moved at +5s", got)
		}
	})
}

// A timer scheduled earlier than the one Run sleeps on wakes it.
func TestSchedulerWakesForEarlierTimer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startScheduler(t, memstore.New().Timers(), true)
		ctx := t.Context()
		t0 := time.Now()
		if err := h.s.Schedule(ctx, testRoom, "p", "late", t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if err := h.s.Schedule(ctx, testRoom, "p", "soon", t0.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if got := h.fired(); len(got) != 1 || got[0].Key != "soon" || !got[0].When.Equal(t0.Add(time.Second)) {
			t.Fatalf("fired %v, want soon at +1s", got)
		}
	})
}

// After a restart, a deadline passed while the bot was down fires at once,
// with its original due time; later ones wait their turn.
func TestSchedulerRestartFiresPastDue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := memstore.New().Timers()
		ctx := t.Context()
		t0 := time.Now()
		past, future := t0.Add(-10*time.Minute), t0.Add(90*time.Second)
		if err := errors.Join(
			st.Put(ctx, store.Timer{Room: testRoom, Policy: "debate", Key: "turn", At: past}),
			st.Put(ctx, store.Timer{Room: testRoom, Policy: "idle", Key: "sweep", At: future}),
		); err != nil {
			t.Fatal(err)
		}
		h := startScheduler(t, st, true)
		got := h.fired()
		if len(got) != 1 || got[0].Key != "turn" || !got[0].Due.Equal(past) || !got[0].When.Equal(t0) {
			t.Fatalf("at start fired %v, want turn due %v delivered now", got, past)
		}
		time.Sleep(90 * time.Second)
		synctest.Wait()
		if got := keys(h.fired()); !cmp.Equal(got, []string{"turn", "sweep"}) {
			t.Fatalf("fired %v, want turn then sweep", got)
		}
	})
}

// done deletes the timer from the store; until then it survives a crash.
// An old done must not delete the same key scheduled again meanwhile.
func TestSchedulerDone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startScheduler(t, memstore.New().Timers(), false)
		ctx := t.Context()
		t0 := time.Now()
		if err := errors.Join(
			h.s.Schedule(ctx, testRoom, "p", "plain", t0.Add(time.Second)),
			h.s.Schedule(ctx, testRoom, "p", "moved", t0.Add(time.Second)),
		); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		got := h.fired()
		if len(got) != 2 {
			t.Fatalf("fired %v, want 2", got)
		}
		if s := stored(t, h.st); !cmp.Equal(s, []string{"moved", "plain"}) {
			t.Fatalf("before done the store holds %v, want both (at-least-once)", s)
		}
		// The policy handling "moved" schedules it again before the room
		// calls done.
		if err := h.s.Schedule(ctx, testRoom, "p", "moved", t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		for _, f := range got {
			f.done()
			f.done() // idempotent
		}
		if s := stored(t, h.st); !cmp.Equal(s, []string{"moved"}) {
			t.Fatalf("after done the store holds %v, want only the re-scheduled key", s)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		if got := h.fired(); len(got) != 3 || got[2].Key != "moved" || !got[2].Due.Equal(t0.Add(time.Minute)) {
			t.Fatalf("fired %v, want moved again at +1m", keys(got))
		}
	})
}

func TestSchedulerDrop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startScheduler(t, memstore.New().Timers(), true)
		ctx := t.Context()
		at := time.Now().Add(time.Minute)
		if err := errors.Join(
			h.s.Schedule(ctx, testRoom, "idle", "a", at),
			h.s.Schedule(ctx, testRoom, "debate", "b", at),
			h.s.Schedule(ctx, "other@muc.example.org", "idle", "c", at),
			h.s.Drop(ctx, testRoom, "idle"),
		); err != nil {
			t.Fatal(err)
		}
		if s := stored(t, h.st); !cmp.Equal(s, []string{"c", "b"}) && !cmp.Equal(s, []string{"b", "c"}) {
			t.Fatalf("after Drop(idle) store holds %v", s)
		}
		if err := h.s.Drop(ctx, testRoom, ""); err != nil {
			t.Fatal(err)
		}
		if s := stored(t, h.st); !cmp.Equal(s, []string{"c"}) {
			t.Fatalf("after Drop(room) store holds %v", s)
		}
	})
}

// failingTimers fails All a few times, like Redis down at start.
type failingTimers struct {
	store.Timers
	mu    sync.Mutex
	fails int
}

func (f *failingTimers) All(ctx context.Context) ([]store.Timer, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fails > 0 {
		f.fails--
		return nil, errors.New("connection refused")
	}
	return f.Timers.All(ctx)
}

func TestSchedulerRetriesLoad(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := &failingTimers{Timers: memstore.New().Timers(), fails: 2}
		due := time.Now().Add(-time.Second)
		if err := st.Put(t.Context(), store.Timer{Room: testRoom, Policy: "p", Key: "k", At: due}); err != nil {
			t.Fatal(err)
		}
		h := startScheduler(t, st, true)
		if got := h.fired(); len(got) != 0 {
			t.Fatalf("fired %v while the store was down", got)
		}
		time.Sleep(3 * time.Second) // backoff 1s, then 2s
		synctest.Wait()
		if got := h.fired(); len(got) != 1 || !got[0].Due.Equal(due) {
			t.Fatalf("fired %v after the store came back, want k", got)
		}
	})
}
