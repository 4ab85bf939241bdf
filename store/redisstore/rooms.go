package redisstore

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/steward-xmpp/steward/store"
)

type rooms struct{ s *Store }

func (rs rooms) Put(ctx context.Context, r store.RoomRecord) error {
	const op = "rooms.put"
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("redisstore: %s: %w", op, err)
	}
	return rs.s.fail(op, rs.s.c.HSet(ctx, rs.s.k.rooms(), strings.ToLower(r.JID), b).Err())
}

func (rs rooms) Get(ctx context.Context, room string) (store.RoomRecord, error) {
	const op = "rooms.get"
	key := rs.s.k.rooms()
	b, err := rs.s.c.HGet(ctx, key, strings.ToLower(room)).Bytes()
	if err != nil {
		return store.RoomRecord{}, rs.s.fail(op, err)
	}
	var r store.RoomRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return store.RoomRecord{}, rs.s.corrupt(op, key, err)
	}
	return r, nil
}

func (rs rooms) Delete(ctx context.Context, room string) error {
	return rs.s.fail("rooms.delete", rs.s.c.HDel(ctx, rs.s.k.rooms(), strings.ToLower(room)).Err())
}

// All returns every room, ordered by JID.
func (rs rooms) All(ctx context.Context) ([]store.RoomRecord, error) {
	const op = "rooms.all"
	key := rs.s.k.rooms()
	vals, err := rs.s.c.HVals(ctx, key).Result()
	if err != nil {
		return nil, rs.s.fail(op, err)
	}
	out := make([]store.RoomRecord, 0, len(vals))
	for _, v := range vals {
		var r store.RoomRecord
		if err := json.Unmarshal([]byte(v), &r); err != nil {
			return nil, rs.s.corrupt(op, key, err)
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b store.RoomRecord) int { return cmp.Compare(a.JID, b.JID) })
	return out, nil
}

type settings struct{ s *Store }

// Get returns the settings of room, or the zero value if none were put.
func (ss settings) Get(ctx context.Context, room string) (store.RoomSettings, error) {
	const op = "settings.get"
	key := ss.s.k.settings()
	b, err := ss.s.c.HGet(ctx, key, strings.ToLower(room)).Bytes()
	if err != nil {
		if err = ss.s.fail(op, err); errors.Is(err, store.ErrNotFound) {
			return store.RoomSettings{}, nil
		}
		return store.RoomSettings{}, err
	}
	var s store.RoomSettings
	if err := json.Unmarshal(b, &s); err != nil {
		return store.RoomSettings{}, ss.s.corrupt(op, key, err)
	}
	return s, nil
}

func (ss settings) Put(ctx context.Context, room string, s store.RoomSettings) error {
	const op = "settings.put"
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("redisstore: %s: %w", op, err)
	}
	return ss.s.fail(op, ss.s.c.HSet(ctx, ss.s.k.settings(), strings.ToLower(room), b).Err())
}
