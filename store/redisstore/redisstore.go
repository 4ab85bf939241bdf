// Package redisstore implements every store interface on Redis. It takes a
// redis.UniversalClient, so a single server, Sentinel and Cluster all work.
// It does not cache: every call is one round trip to Redis (a command, a
// MULTI pipeline or a Lua script), which keeps the bot's hot path (an
// audit record, a timer, a KV write per event) at one round trip each.
//
// The key schema is in keys.go and docs/keys.md.
//
//	st, err := redisstore.Open(ctx, redisstore.Options{URL: "redis://localhost:6379/0", Prefix: "steward"},
//		redisstore.WithErrorHook(func(op string, err error) { redisErrors.WithLabelValues(op).Inc() }))
//	if err != nil { … }
//	defer st.Close()
package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/steward-xmpp/steward/store"
)

// DefaultAuditCap is how many audit records each room keeps. Appending
// beyond it deletes the oldest record of the room, with its index entries.
const DefaultAuditCap = 10000

// DefaultPrefix is used when New or Open is given an empty prefix.
const DefaultPrefix = "steward"

// Store is a store.All on Redis, safe for concurrent use.
type Store struct {
	c        redis.UniversalClient
	k        keys
	auditCap int
	onErr    func(op string, err error)
}

var _ store.All = (*Store)(nil)

// Option configures a Store.
type Option func(*Store)

// WithErrorHook makes the Store call f for every failed Redis call (not for
// "not found"), with op naming the method, e.g. "audit.append" or
// "kv.put". The bot counts these in Prometheus. f must be quick and safe
// for concurrent use.
func WithErrorHook(f func(op string, err error)) Option {
	return func(s *Store) { s.onErr = f }
}

// WithAuditCap sets how many audit records each room keeps (default
// DefaultAuditCap); n <= 0 keeps every record forever.
func WithAuditCap(n int) Option {
	return func(s *Store) { s.auditCap = n }
}

// New returns a Store that keeps its keys under "<prefix>:" (a trailing
// colon in prefix is ignored; empty means DefaultPrefix). prefix must not
// contain '{' or '}', which would break the Cluster hash tags; New panics
// if it does, since that is a programming error (Open returns an error
// instead). New does not contact Redis.
func New(c redis.UniversalClient, prefix string, opts ...Option) *Store {
	prefix, err := cleanPrefix(prefix)
	if err != nil {
		panic(err)
	}
	s := &Store{c: c, k: newKeys(prefix), auditCap: DefaultAuditCap}
	for _, o := range opts {
		o(s)
	}
	return s
}

func cleanPrefix(p string) (string, error) {
	p = strings.TrimRight(p, ":")
	if p == "" {
		p = DefaultPrefix
	}
	if strings.ContainsAny(p, "{}") {
		return "", fmt.Errorf("redisstore: prefix %q must not contain '{' or '}'", p)
	}
	return p, nil
}

// Client returns the underlying client, for health checks and tests.
func (s *Store) Client() redis.UniversalClient { return s.c }

// Audit returns the audit log.
func (s *Store) Audit() store.Audit { return audit{s} }

// Timers returns the timer store.
func (s *Store) Timers() store.Timers { return timers{s} }

// Rooms returns the joined-rooms store.
func (s *Store) Rooms() store.Rooms { return rooms{s} }

// Settings returns the room settings store.
func (s *Store) Settings() store.Settings { return settings{s} }

// KV returns the key-value store.
func (s *Store) KV() store.KV { return kv{s} }

// Ping checks that Redis answers.
func (s *Store) Ping(ctx context.Context) error {
	return s.fail("ping", s.c.Ping(ctx).Err())
}

// Close closes the client, which the Store owns once given to New.
func (s *Store) Close() error { return s.c.Close() }

// fail reports err to the error hook and wraps it with op. redis.Nil
// becomes store.ErrNotFound and is not reported.
func (s *Store) fail(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, redis.Nil):
		return store.ErrNotFound
	}
	if s.onErr != nil {
		s.onErr(op, err)
	}
	return fmt.Errorf("redisstore: %s: %w", op, err)
}

// corrupt reports a value in Redis that does not decode. It is counted like
// a Redis error, since only something else writing to our keys causes it.
func (s *Store) corrupt(op, key string, err error) error {
	err = fmt.Errorf("bad value in %s: %w", key, err)
	if s.onErr != nil {
		s.onErr(op, err)
	}
	return fmt.Errorf("redisstore: %s: %w", op, err)
}
