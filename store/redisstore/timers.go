package redisstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/steward-xmpp/steward/store"
)

type timers struct{ s *Store }

// timerMember is the ZSET member of a timer: a JSON array, so that any
// characters in room, policy or key are safe. Strings that are not valid
// UTF-8 come back with U+FFFD in place of the bad bytes.
func timerMember(room, policy, key string) string {
	b, _ := json.Marshal([3]string{room, policy, key}) // strings always marshal
	return string(b)
}

func (ts timers) Put(ctx context.Context, t store.Timer) error {
	z := redis.Z{Score: float64(t.At.UnixMilli()), Member: timerMember(t.Room, t.Policy, t.Key)}
	return ts.s.fail("timers.put", ts.s.c.ZAdd(ctx, ts.s.k.timers(), z).Err())
}

func (ts timers) Delete(ctx context.Context, room, policy, key string) error {
	return ts.s.fail("timers.delete", ts.s.c.ZRem(ctx, ts.s.k.timers(), timerMember(room, policy, key)).Err())
}

// All returns every timer, earliest first; timers with the same deadline
// come in the order of their members.
func (ts timers) All(ctx context.Context) ([]store.Timer, error) {
	const op = "timers.all"
	key := ts.s.k.timers()
	zs, err := ts.s.c.ZRangeWithScores(ctx, key, 0, -1).Result()
	if err != nil {
		return nil, ts.s.fail(op, err)
	}
	out := make([]store.Timer, 0, len(zs))
	for _, z := range zs {
		var m [3]string
		s, _ := z.Member.(string)
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			return nil, ts.s.corrupt(op, key, fmt.Errorf("member %q: %w", s, err))
		}
		out = append(out, store.Timer{Room: m[0], Policy: m[1], Key: m[2], At: time.UnixMilli(int64(z.Score)).UTC()})
	}
	return out, nil
}
