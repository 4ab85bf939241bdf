package memstore

import (
	"context"
	"maps"
	"sync"

	"github.com/steward-xmpp/steward/store"
)

// KV is an in-memory store.KV, safe for concurrent use.
type KV struct {
	mu sync.Mutex
	m  map[string]map[string][]byte
}

// NewKV returns an empty KV.
func NewKV() *KV { return &KV{m: map[string]map[string][]byte{}} }

var _ store.KV = (*KV)(nil)

func (k *KV) Put(_ context.Context, ns, field string, val []byte) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	h := k.m[ns]
	if h == nil {
		h = map[string][]byte{}
		k.m[ns] = h
	}
	h[field] = append([]byte(nil), val...)
	return nil
}

func (k *KV) Get(_ context.Context, ns, field string) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	v, ok := k.m[ns][field]
	if !ok {
		return nil, store.ErrNotFound
	}
	return append([]byte(nil), v...), nil
}

func (k *KV) Delete(_ context.Context, ns string, fields ...string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, f := range fields {
		delete(k.m[ns], f)
	}
	if len(k.m[ns]) == 0 {
		delete(k.m, ns)
	}
	return nil
}

func (k *KV) All(_ context.Context, ns string) (map[string][]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := make(map[string][]byte, len(k.m[ns]))
	for f, v := range k.m[ns] {
		out[f] = append([]byte(nil), v...)
	}
	return out, nil
}

func (k *KV) Replace(_ context.Context, ns string, m map[string][]byte) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(m) == 0 {
		delete(k.m, ns)
		return nil
	}
	h := make(map[string][]byte, len(m))
	for f, v := range maps.All(m) {
		h[f] = append([]byte(nil), v...)
	}
	k.m[ns] = h
	return nil
}

func (k *KV) Len(_ context.Context, ns string) (int, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.m[ns]), nil
}
