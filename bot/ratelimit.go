package bot

import (
	"context"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limits are the executor's token buckets: one for all rooms and one per
// room. A rate of zero or less means unlimited; a burst below 1 counts as 1.
type Limits struct {
	GlobalRate  float64 // stanzas per second, all rooms together
	GlobalBurst int
	RoomRate    float64 // stanzas per second, one room
	RoomBurst   int
}

// limiter queues outgoing stanzas: an excess waits for a token and is never
// dropped; only the caller's context ends a wait.
type limiter struct {
	global    *rate.Limiter
	roomRate  rate.Limit
	roomBurst int

	mu    sync.Mutex
	rooms map[string]*rate.Limiter // by lowercased room JID, created lazily
}

func newLimiter(l Limits) *limiter {
	return &limiter{
		global:    rate.NewLimiter(limitOf(l.GlobalRate), max(l.GlobalBurst, 1)),
		roomRate:  limitOf(l.RoomRate),
		roomBurst: max(l.RoomBurst, 1),
		rooms:     map[string]*rate.Limiter{},
	}
}

func limitOf(perSecond float64) rate.Limit {
	if perSecond <= 0 {
		return rate.Inf
	}
	return rate.Limit(perSecond)
}

func (l *limiter) room(room string) *rate.Limiter {
	room = strings.ToLower(room)
	l.mu.Lock()
	defer l.mu.Unlock()
	rl, ok := l.rooms[room]
	if !ok {
		rl = rate.NewLimiter(l.roomRate, l.roomBurst)
		l.rooms[room] = rl
	}
	return rl
}

// forget drops a room's bucket (when the bot leaves the room).
func (l *limiter) forget(room string) {
	l.mu.Lock()
	delete(l.rooms, strings.ToLower(room))
	l.mu.Unlock()
}

// wait blocks until both the room's and the global bucket allow one stanza
// and returns how long that took. The room bucket comes first, so that a
// room held back by its own limit does not hold global tokens meanwhile.
func (l *limiter) wait(ctx context.Context, room string) (time.Duration, error) {
	start := time.Now()
	if err := l.room(room).Wait(ctx); err != nil {
		return time.Since(start), err
	}
	err := l.global.Wait(ctx)
	return time.Since(start), err
}
