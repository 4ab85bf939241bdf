package bot

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/steward-xmpp/steward/policies/policytest"
)

// With a burst of 2 and 1/s, five messages go out at 0, 0, 1, 2 and 3
// seconds: queued, none dropped.
func TestRateLimitQueues(t *testing.T) {
	tests := []struct {
		name string
		lim  Limits
	}{
		{"room bucket", Limits{RoomRate: 1, RoomBurst: 2}},
		{"global bucket", Limits{GlobalRate: 1, GlobalBurst: 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFixture(t, tc.lim)
				room := newTestRoom()
				start := time.Now()
				var at []time.Duration
				for range 5 {
					if _, err := f.ex.Do(t.Context(), room, Request{Actor: "policy:p", Policy: "p", Kind: KindSay, Text: "hi"}); err != nil {
						t.Fatal(err)
					}
					at = append(at, time.Since(start))
				}
				want := []time.Duration{0, 0, time.Second, 2 * time.Second, 3 * time.Second}
				for i := range want {
					if at[i] != want[i] {
						t.Fatalf("sent at %v, want %v", at, want)
					}
				}
				if n := len(f.tr.calls()); n != 5 {
					t.Fatalf("%d sent, want 5", n)
				}
			})
		})
	}
}

// One busy room does not hold another back (beyond the global limit).
func TestRateLimitPerRoom(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, Limits{RoomRate: 1, RoomBurst: 1})
		busy, quiet := newTestRoom(), policytest.NewRoom("quiet@muc.example.org")
		start := time.Now()
		var wg sync.WaitGroup
		var busyDone, quietDone time.Duration
		wg.Go(func() {
			for range 4 {
				if _, err := f.ex.Do(t.Context(), busy, Request{Actor: "policy:p", Kind: KindSay, Text: "flood"}); err != nil {
					t.Error(err)
				}
			}
			busyDone = time.Since(start)
		})
		wg.Go(func() {
			synctest.Wait() // let the busy room take its burst and start queueing
			if _, err := f.ex.Do(t.Context(), quiet, Request{Actor: "policy:p", Kind: KindSay, Text: "hello"}); err != nil {
				t.Error(err)
			}
			quietDone = time.Since(start)
		})
		wg.Wait()
		if busyDone != 3*time.Second || quietDone != 0 {
			t.Fatalf("busy room done after %v (want 3s), quiet room after %v (want 0)", busyDone, quietDone)
		}
	})
}

// The global bucket is shared: two rooms with room limits to spare still
// queue behind it, in turn.
func TestRateLimitGlobalAcrossRooms(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, Limits{GlobalRate: 1, GlobalBurst: 1, RoomRate: 100, RoomBurst: 100})
		rooms := []RoomView{newTestRoom(), policytest.NewRoom("other@muc.example.org")}
		start := time.Now()
		var wg sync.WaitGroup
		for _, r := range rooms {
			wg.Go(func() {
				for range 2 {
					if _, err := f.ex.Do(t.Context(), r, Request{Actor: "policy:p", Kind: KindSay, Text: "x"}); err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
		if d := time.Since(start); d != 3*time.Second {
			t.Fatalf("4 stanzas at 1/s (burst 1) took %v, want 3s", d)
		}
		if n := len(f.tr.calls()); n != 4 {
			t.Fatalf("%d sent, want 4", n)
		}
	})
}

// A queued stanza leaves the queue only when its context ends.
func TestRateLimitContextEndsWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, Limits{RoomRate: 0.001, RoomBurst: 1})
		room := newTestRoom()
		if _, err := f.ex.Do(t.Context(), room, Request{Actor: "policy:p", Kind: KindSay, Text: "1"}); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		errc := make(chan error, 1)
		go func() {
			_, err := f.ex.Do(ctx, room, Request{Actor: "policy:p", Kind: KindSay, Text: "2"})
			errc <- err
		}()
		time.Sleep(time.Minute)
		synctest.Wait()
		select {
		case err := <-errc:
			t.Fatalf("queued Do returned %v before its context ended", err)
		default:
		}
		cancel()
		if err := <-errc; err == nil {
			t.Fatal("cancelled Do succeeded")
		}
		if n := len(f.tr.calls()); n != 1 {
			t.Fatalf("%d sent, want 1", n)
		}
	})
}
