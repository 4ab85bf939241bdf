package bot

import "sync"

// inbox is an unbounded FIFO: the XMPP reader must never block on a busy
// room (it also carries the IQ replies that room is waiting for).
type inbox struct {
	mu     sync.Mutex
	items  []any
	signal chan struct{}
}

func newInbox() *inbox { return &inbox{signal: make(chan struct{}, 1)} }

func (q *inbox) push(it any) {
	q.mu.Lock()
	q.items = append(q.items, it)
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// drain takes every queued item.
func (q *inbox) drain() []any {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.items
	q.items = nil
	return out
}

func (q *inbox) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}
