package redisstore

import (
	"context"

	"github.com/redis/go-redis/v9"

	"github.com/steward-xmpp/steward/store"
)

// kv keeps each namespace in one HASH.
type kv struct{ s *Store }

func (k kv) Put(ctx context.Context, ns, field string, val []byte) error {
	return k.s.fail("kv.put", k.s.c.HSet(ctx, k.s.k.kv(ns), field, val).Err())
}

func (k kv) Get(ctx context.Context, ns, field string) ([]byte, error) {
	b, err := k.s.c.HGet(ctx, k.s.k.kv(ns), field).Bytes()
	if err != nil {
		return nil, k.s.fail("kv.get", err)
	}
	return b, nil
}

func (k kv) Delete(ctx context.Context, ns string, fields ...string) error {
	if len(fields) == 0 {
		return nil
	}
	return k.s.fail("kv.delete", k.s.c.HDel(ctx, k.s.k.kv(ns), fields...).Err())
}

func (k kv) All(ctx context.Context, ns string) (map[string][]byte, error) {
	m, err := k.s.c.HGetAll(ctx, k.s.k.kv(ns)).Result()
	if err != nil {
		return nil, k.s.fail("kv.all", err)
	}
	out := make(map[string][]byte, len(m))
	for f, v := range m {
		out[f] = []byte(v)
	}
	return out, nil
}

// Replace runs DEL and HSET in one MULTI transaction, so readers see the old
// map or the new one, never a mix.
func (k kv) Replace(ctx context.Context, ns string, m map[string][]byte) error {
	key := k.s.k.kv(ns)
	_, err := k.s.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, key)
		if len(m) > 0 {
			args := make([]any, 0, 2*len(m))
			for f, v := range m {
				args = append(args, f, v)
			}
			p.HSet(ctx, key, args...)
		}
		return nil
	})
	return k.s.fail("kv.replace", err)
}

func (k kv) Len(ctx context.Context, ns string) (int, error) {
	n, err := k.s.c.HLen(ctx, k.s.k.kv(ns)).Result()
	if err != nil {
		return 0, k.s.fail("kv.len", err)
	}
	return int(n), nil
}

var _ store.KV = kv{}
