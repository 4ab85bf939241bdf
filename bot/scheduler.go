package bot

import (
	"container/heap"
	"context"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/steward-xmpp/steward/store"
)

// Scheduler keeps the policies' deadlines: in the store, so that they
// survive restarts, and in an in-memory min-heap that one goroutine (Run)
// sleeps on. A due timer is handed to deliver together with a done func;
// the room calls done after its TimerFired was handled, and only then is
// the timer deleted from the store. A crash in between fires it again at
// the next start (at least once), with its original due time.
type Scheduler struct {
	st      store.Timers
	deliver func(t store.Timer, done func())
	log     *zap.Logger
	m       *Metrics

	// storeMu orders store writes of one process: without it a done could
	// delete a timer that a Schedule for the same key had just written.
	storeMu sync.Mutex

	mu   sync.Mutex
	h    timerHeap
	byID map[timerID]*timerEntry // pending timers; in-flight ones are not here
	seq  uint64
	wake chan struct{}
}

var _ TimerSetter = (*Scheduler)(nil)

type timerID struct{ room, policy, key string }

type timerEntry struct {
	t     store.Timer
	seq   uint64 // breaks ties of At in scheduling order
	index int
}

// NewScheduler returns a scheduler over st. deliver is called from Run's
// goroutine and should only hand the timer to its room (a queue push):
// every later timer waits for it. m may be nil.
func NewScheduler(st store.Timers, deliver func(t store.Timer, done func()), log *zap.Logger, m *Metrics) *Scheduler {
	if log == nil {
		log = zap.NewNop()
	}
	return &Scheduler{st: st, deliver: deliver, log: log, m: m, byID: map[timerID]*timerEntry{}, wake: make(chan struct{}, 1)}
}

// Schedule stores the deadline (room, policy, key) at at, moving it if it
// exists, and wakes Run if it is now the earliest.
func (s *Scheduler) Schedule(ctx context.Context, room, policy, key string, at time.Time) error {
	t := store.Timer{Room: room, Policy: policy, Key: key, At: at}
	s.storeMu.Lock()
	defer s.storeMu.Unlock()
	if err := s.st.Put(ctx, t); err != nil {
		s.m.redisError("timers_put")
		return fmt.Errorf("bot: schedule timer %s: %w", key, err)
	}
	s.mu.Lock()
	s.put(t)
	n := len(s.h)
	s.mu.Unlock()
	s.m.timersPendingSet(n)
	s.poke()
	return nil
}

// Cancel forgets the deadline; cancelling an unknown key is no error.
func (s *Scheduler) Cancel(ctx context.Context, room, policy, key string) error {
	s.storeMu.Lock()
	defer s.storeMu.Unlock()
	if err := s.st.Delete(ctx, room, policy, key); err != nil {
		s.m.redisError("timers_delete")
		return fmt.Errorf("bot: cancel timer %s: %w", key, err)
	}
	s.mu.Lock()
	if e, ok := s.byID[timerID{room, policy, key}]; ok {
		heap.Remove(&s.h, e.index)
		delete(s.byID, timerID{room, policy, key})
	}
	n := len(s.h)
	s.mu.Unlock()
	s.m.timersPendingSet(n)
	s.poke()
	return nil
}

// Drop cancels every pending timer of a room, or of one policy in it when
// policy is not "" (the room was left, the policy disabled).
func (s *Scheduler) Drop(ctx context.Context, room, policy string) error {
	s.mu.Lock()
	var ids []timerID
	for id := range s.byID {
		if id.room == room && (policy == "" || id.policy == policy) {
			ids = append(ids, id)
		}
	}
	s.mu.Unlock()
	for _, id := range ids {
		if err := s.Cancel(ctx, id.room, id.policy, id.key); err != nil {
			return err
		}
	}
	return nil
}

// Len is the number of timers pending (in-flight ones excluded).
func (s *Scheduler) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.h)
}

// Run loads the stored timers and delivers each when due, until ctx ends.
// Timers already past due fire at once, with their original At. If the
// store cannot be read, Run logs it and retries with backoff.
func (s *Scheduler) Run(ctx context.Context) error {
	if err := s.load(ctx); err != nil {
		return nil // ctx ended while the store was unreachable
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		s.mu.Lock()
		pending := len(s.h) > 0
		var next store.Timer // a copy: Schedule may move the entry once unlocked
		if pending {
			next = s.h[0].t
		}
		if pending && !next.At.After(time.Now()) {
			heap.Pop(&s.h)
			delete(s.byID, timerID{next.Room, next.Policy, next.Key})
			n := len(s.h)
			s.mu.Unlock()
			s.m.timersPendingSet(n)
			s.deliver(next, s.doneFunc(next))
			continue
		}
		s.mu.Unlock()
		var fire <-chan time.Time
		if pending {
			timer.Reset(time.Until(next.At))
			fire = timer.C
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.wake:
		case <-fire:
		}
		timer.Stop()
	}
}

func (s *Scheduler) load(ctx context.Context) error {
	backoff := time.Second
	for {
		all, err := s.st.All(ctx)
		if err == nil {
			s.mu.Lock()
			for _, t := range all {
				// A Schedule made before Run started is newer than the store.
				if _, ok := s.byID[timerID{t.Room, t.Policy, t.Key}]; !ok {
					s.put(t)
				}
			}
			n := len(s.h)
			s.mu.Unlock()
			s.m.timersPendingSet(n)
			return nil
		}
		s.m.redisError("timers_all")
		s.log.Error("cannot load timers; retrying", zap.Duration("in", backoff), zap.Error(err))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

// doneFunc deletes t from the store once its event was handled, unless the
// same key was scheduled again meanwhile (then the store holds the new
// deadline, which must survive).
func (s *Scheduler) doneFunc(t store.Timer) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			s.storeMu.Lock()
			defer s.storeMu.Unlock()
			s.mu.Lock()
			_, moved := s.byID[timerID{t.Room, t.Policy, t.Key}]
			s.mu.Unlock()
			if moved {
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), auditTimeout)
			defer cancel()
			if err := s.st.Delete(ctx, t.Room, t.Policy, t.Key); err != nil {
				s.m.redisError("timers_delete")
				s.log.Warn("fired timer not deleted; it will fire again after a restart",
					zap.String("room", t.Room), zap.String("policy", t.Policy), zap.String("key", t.Key), zap.Error(err))
			}
		})
	}
}

// put adds or moves t in the heap; s.mu must be held.
func (s *Scheduler) put(t store.Timer) {
	s.seq++
	id := timerID{t.Room, t.Policy, t.Key}
	if e, ok := s.byID[id]; ok {
		e.t, e.seq = t, s.seq
		heap.Fix(&s.h, e.index)
		return
	}
	e := &timerEntry{t: t, seq: s.seq}
	heap.Push(&s.h, e)
	s.byID[id] = e
}

// poke wakes Run to look at the earliest deadline again.
func (s *Scheduler) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// timerHeap orders timers by At, then by scheduling order.
type timerHeap []*timerEntry

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if c := h[i].t.At.Compare(h[j].t.At); c != 0 {
		return c < 0
	}
	return h[i].seq < h[j].seq
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *timerHeap) Push(x any) {
	e := x.(*timerEntry)
	e.index = len(*h)
	*h = append(*h, e)
}
func (h *timerHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	e.index = -1
	return e
}
