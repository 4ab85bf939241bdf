package xmppc

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/zap/zaptest"
	"mellium.im/xmpp/jid"
)

func TestBackoffBounds(t *testing.T) {
	const lo, hi = time.Second, time.Minute
	tests := []struct {
		name  string
		randN func(int64) int64
	}{
		{"lowest draw", func(int64) int64 { return 0 }},
		{"highest draw", func(n int64) int64 { return n - 1 }},
		{"random draws", rand.Int64N},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for n := range 80 {
				d := backoff(n, lo, hi, tc.randN)
				upper := hi
				if n < 6 {
					upper = lo << (n + 1) // 2s, 4s, … 64s capped below
					upper = min(upper, hi)
				}
				if d < lo || d > upper {
					t.Fatalf("backoff(%d) = %v, want within [%v, %v]", n, d, lo, upper)
				}
			}
		})
	}
	if d := backoff(3, 5*time.Second, 5*time.Second, rand.Int64N); d != 5*time.Second {
		t.Errorf("backoff with lo == hi = %v, want 5s", d)
	}
}

// harness runs a Client against scripted fake servers inside a synctest
// bubble, recording when each dial happened.
type harness struct {
	t      *testing.T
	c      *Client
	start  time.Time
	mu     sync.Mutex
	dials  []time.Duration // offsets from start
	fails  map[int]error   // dial index -> error to return
	setups map[int]func(*fakeServer)

	servers     chan *fakeServer
	connected   chan *Session
	disconnects chan error
}

func newHarness(t *testing.T) *harness {
	h := &harness{
		t:           t,
		start:       time.Now(),
		fails:       map[int]error{},
		setups:      map[int]func(*fakeServer){},
		servers:     make(chan *fakeServer, 16),
		connected:   make(chan *Session, 16),
		disconnects: make(chan error, 16),
	}
	cfg := Config{
		JID:          jid.MustParse("bot@localhost/steward"),
		PingInterval: 30 * time.Second, PingTimeout: 5 * time.Second,
		ReconnectMin: time.Second, ReconnectMax: time.Minute,
	}
	h.c = NewClient(cfg, zaptest.NewLogger(t), Hooks{
		OnConnect:    func(ctx context.Context, s *Session) { h.connected <- s },
		OnDisconnect: func(err error) { h.disconnects <- err },
	})
	h.c.randN = func(n int64) int64 { return n - 1 } // always the longest wait
	h.c.dial = func(ctx context.Context) (*Session, error) {
		h.mu.Lock()
		i := len(h.dials)
		h.dials = append(h.dials, time.Since(h.start))
		err, setup := h.fails[i], h.setups[i]
		h.mu.Unlock()
		if err != nil {
			return nil, err
		}
		s, f, err := pipeSession(t, h.c.cfg, setup)
		if err != nil {
			return nil, err
		}
		h.servers <- f
		return s, nil
	}
	return h
}

// gap returns the time between dial i-1 and dial i.
func (h *harness) gap(i int) time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	if i >= len(h.dials) {
		h.t.Fatalf("only %d dials, want at least %d", len(h.dials), i+1)
	}
	return h.dials[i] - h.dials[i-1]
}

// connect waits for the next session and its server's first stanza, which
// must be the initial presence.
func (h *harness) connect() (*Session, *fakeServer) {
	h.t.Helper()
	s := <-h.connected
	f := <-h.servers
	if p := f.recv(h.t); p.XMLName.Local != "presence" || p.attr("type") != "" {
		h.t.Fatalf("first stanza = <%s type=%q>, want initial <presence/>", p.XMLName.Local, p.attr("type"))
	}
	return s, f
}

func (h *harness) run(ctx context.Context) chan error {
	done := make(chan error, 1)
	go func() { done <- h.c.Run(ctx) }()
	return done
}

func TestClientReconnectsAfterServerCloseAndShutsDownCleanly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		ctx, cancel := context.WithCancel(t.Context())
		done := h.run(ctx)

		s1, f1 := h.connect()
		if h.c.Current() != s1 || !h.c.Connected() {
			t.Fatal("Current() is not the connected session")
		}
		time.Sleep(10 * time.Second)
		f1.closeStream()
		if err := <-h.disconnects; !errors.Is(err, ErrServerClosed) {
			t.Fatalf("OnDisconnect(%v), want ErrServerClosed", err)
		}
		s2, f2 := h.connect()
		if s2 == s1 {
			t.Fatal("the dead session was reused")
		}
		if got, want := h.gap(1), 10*time.Second+2*time.Second; got != want {
			t.Errorf("reconnected %v after the first dial, want %v (10s up + 2s backoff)", got, want)
		}

		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run returned %v after cancel, want nil", err)
		}
		if err := <-h.disconnects; err != nil {
			t.Errorf("OnDisconnect(%v) on shutdown, want nil", err)
		}
		<-f2.done
		if !f2.sawClose.Load() {
			t.Error("the server never saw our </stream:stream>")
		}
		if h.c.Connected() {
			t.Error("still connected after Run returned")
		}
		if err := s2.Send(t.Context(), nil); !errors.Is(err, ErrClosed) {
			t.Errorf("Send after shutdown = %v, want ErrClosed", err)
		}
	})
}

func TestClientDetectsSilentServerByPing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.setups[0] = func(f *fakeServer) { f.answerPings.Store(false) } // a SIGSTOPped server
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		done := h.run(ctx)

		h.connect()
		err := <-h.disconnects
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("OnDisconnect(%v), want a ping timeout", err)
		}
		h.connect()
		// Ping at 30s, no answer by 35s, then the 2s backoff.
		if got, want := h.gap(1), 37*time.Second; got != want {
			t.Errorf("reconnected %v after the first dial, want %v", got, want)
		}
		cancel()
		<-done
	})
}

func TestClientBackoffGrowsAndResets(t *testing.T) {
	tests := []struct {
		name    string
		upFor   time.Duration
		wantGap time.Duration // between the session's end and the next dial
	}{
		// Three failed dials (2s, 4s, 8s) leave the attempt count at 3.
		{name: "short session keeps growing", upFor: 10 * time.Second, wantGap: 16 * time.Second},
		{name: "session up for ReconnectMax resets", upFor: 70 * time.Second, wantGap: 2 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t)
				refused := fmt.Errorf("xmppc: connect: %w", classed(ErrUnreachable, errors.New("refused"), "connection refused"))
				h.fails[0], h.fails[1], h.fails[2] = refused, refused, refused
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				done := h.run(ctx)

				_, f := h.connect()
				for i, want := range []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second} {
					if got := h.gap(i + 1); got != want {
						t.Errorf("wait before dial %d = %v, want %v", i+2, got, want)
					}
				}
				time.Sleep(tc.upFor)
				f.closeStream()
				<-h.disconnects
				h.connect()
				if got := h.gap(4); got != tc.upFor+tc.wantGap {
					t.Errorf("next dial %v after connect, want %v + %v", got, tc.upFor, tc.wantGap)
				}
				cancel()
				<-done
			})
		})
	}
}

func TestClientFirstAuthFailureEndsRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.fails[0] = fmt.Errorf("xmppc: connect: %w", classed(ErrAuth, errors.New("not-authorized"), "server said not-authorized"))
		err := <-h.run(t.Context())
		if !errors.Is(err, ErrAuth) {
			t.Fatalf("Run = %v, want ErrAuth", err)
		}
		if len(h.dials) != 1 {
			t.Errorf("dialled %d times, want 1", len(h.dials))
		}
	})
}
