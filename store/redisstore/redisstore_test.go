package redisstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/steward-xmpp/steward/store"
	"github.com/steward-xmpp/steward/store/storetest"
)

// testClient connects to the Redis of STEWARD_TEST_REDIS_URL, or skips.
func testClient(tb testing.TB) *redis.Client {
	tb.Helper()
	u := os.Getenv("STEWARD_TEST_REDIS_URL")
	if u == "" {
		tb.Skip("STEWARD_TEST_REDIS_URL unset: run scripts/test")
	}
	opt, err := redis.ParseURL(u)
	if err != nil {
		tb.Fatalf("STEWARD_TEST_REDIS_URL: %v", err)
	}
	return redis.NewClient(opt)
}

// newTestStore returns a Store on real Redis under a random prefix, and
// deletes the prefix's keys when the test ends.
func newTestStore(tb testing.TB, opts ...Option) *Store {
	tb.Helper()
	c := testClient(tb)
	prefix := fmt.Sprintf("steward-test-%016x", rand.Uint64())
	tb.Cleanup(func() {
		deleteByPrefix(tb, c, prefix)
		_ = c.Close()
	})
	return New(c, prefix, opts...)
}

func deleteByPrefix(tb testing.TB, c redis.UniversalClient, prefix string) {
	tb.Helper()
	ctx := context.Background() // the test's context is already cancelled
	var cursor uint64
	for {
		ks, next, err := c.Scan(ctx, cursor, prefix+":*", 1000).Result()
		if err != nil {
			tb.Errorf("clean up %s: %v", prefix, err)
			return
		}
		if len(ks) > 0 {
			if err := c.Del(ctx, ks...).Err(); err != nil {
				tb.Errorf("clean up %s: %v", prefix, err)
				return
			}
		}
		if cursor = next; cursor == 0 {
			return
		}
	}
}

func allKeys(t *testing.T, s *Store) []string {
	t.Helper()
	var out []string
	iter := s.c.Scan(t.Context(), 0, s.k.p+"*", 1000).Iterator()
	for iter.Next(t.Context()) {
		out = append(out, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.All { return newTestStore(t) })
}

// TestConformanceUnboundedAudit runs the suite again with no audit cap, the
// path in the append script that skips trimming.
func TestConformanceUnboundedAudit(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.All { return newTestStore(t, WithAuditCap(0)) })
}

func TestAuditCapTrimsRecordsAndIndexes(t *testing.T) {
	ctx := t.Context()
	s := newTestStore(t, WithAuditCap(3))
	a := s.Audit()
	const room = "r@muc.example.org"
	var recs []store.AuditRecord
	for i := range 6 {
		r, err := a.Append(ctx, store.AuditRecord{
			Room: room, Action: "kick", Result: "ok",
			TargetJID: []string{"alice@example.org", "bob@example.org"}[i%2],
			Group:     "g",
		})
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	recent, err := a.Recent(ctx, room, 10)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(recent), []string{recs[5].ID, recs[4].ID, recs[3].ID}; !slices.Equal(got, want) {
		t.Errorf("Recent = %v, want %v", got, want)
	}
	for _, r := range recs[:3] {
		if _, err := a.Get(ctx, r.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Get(%s) of a trimmed record: err = %v, want ErrNotFound", r.ID, err)
		}
	}
	checks := []struct {
		name string
		get  func() ([]store.AuditRecord, error)
		want []string
	}{
		{"alice", func() ([]store.AuditRecord, error) { return a.ByTarget(ctx, room, "alice@example.org") }, []string{recs[4].ID}},
		{"bob", func() ([]store.AuditRecord, error) { return a.ByTarget(ctx, room, "bob@example.org") }, []string{recs[3].ID, recs[5].ID}},
		{"group", func() ([]store.AuditRecord, error) { return a.ByGroup(ctx, room, "g") }, []string{recs[3].ID, recs[4].ID, recs[5].ID}},
	}
	for _, c := range checks {
		got, err := c.get()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids(got), c.want) {
			t.Errorf("%s: got %v, want %v", c.name, ids(got), c.want)
		}
	}
	// The index lists themselves must be trimmed, not just filtered on read.
	for _, key := range []string{s.k.auditTarget(room, "alice@example.org"), s.k.auditGroup(room, "g")} {
		n, err := s.c.LLen(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		if n > 3 {
			t.Errorf("LLEN %s = %d after trimming to 3", key, n)
		}
	}
}

func TestAuditIDsAreBase36OfTheCounter(t *testing.T) {
	ctx := t.Context()
	s := newTestStore(t)
	tests := []struct {
		seq  int64 // counter value before Append
		want string
	}{
		{0, "1"},
		{8, "9"},
		{9, "a"},
		{34, "z"},
		{35, "10"},
		{1295, "100"},
		{1<<40 - 1, strconv.FormatInt(1<<40, 36)},
	}
	for _, tc := range tests {
		if err := s.c.Set(ctx, s.k.auditSeq(), tc.seq, 0).Err(); err != nil {
			t.Fatal(err)
		}
		r, err := s.Audit().Append(ctx, store.AuditRecord{Room: "r@muc.example.org", Action: "say", Result: "ok"})
		if err != nil {
			t.Fatal(err)
		}
		if r.ID != tc.want {
			t.Errorf("after seq %d: ID = %q, want %q", tc.seq, r.ID, tc.want)
		}
		got, err := s.Audit().Get(ctx, r.ID)
		if err != nil || got.ID != tc.want {
			t.Errorf("Get(%q) = %q, %v", tc.want, got.ID, err)
		}
	}
}

// TestKeysUnderPrefix checks the schema of keys.go against what the store
// writes: every key is under the prefix, and every audit key carries the
// {audit} hash tag (so that the scripts stay on one Cluster slot).
func TestKeysUnderPrefix(t *testing.T) {
	ctx := t.Context()
	s := newTestStore(t)
	const room = "r@muc.example.org"
	if _, err := s.Audit().Append(ctx, store.AuditRecord{Room: room, TargetJID: "a@example.org", Group: "{g}", Action: "kick", Result: "ok"}); err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.Timers().Put(ctx, store.Timer{Room: room, Policy: "p", Key: "k", At: time.Unix(1, 0)}))
	must(s.Rooms().Put(ctx, store.RoomRecord{JID: room}))
	must(s.Settings().Put(ctx, room, store.RoomSettings{}))
	must(s.KV().Put(ctx, "{ns}", "f", []byte("v")))

	got := allKeys(t, s)
	if len(got) != 9 {
		t.Errorf("got %d keys, want 9 (seq, rec, room, target, group, timers, rooms, settings, kv): %q", len(got), got)
	}
	for _, k := range got {
		rest, ok := strings.CutPrefix(k, s.k.p)
		if !ok {
			t.Errorf("key %q is not under %q", k, s.k.p)
			continue
		}
		if strings.HasPrefix(rest, "{audit}:") != (hashTag(k) == "audit") {
			t.Errorf("key %q: hash tag %q", k, hashTag(k))
		}
	}
}

// hashTag is the part of key Redis Cluster hashes, by its rule: the text
// between the first '{' and the next '}', if not empty.
func hashTag(key string) string {
	_, after, ok := strings.Cut(key, "{")
	if !ok {
		return ""
	}
	tag, _, ok := strings.Cut(after, "}")
	if !ok {
		return ""
	}
	return tag
}

// countHook counts round trips: one per command and one per pipeline or
// MULTI transaction.
type countHook struct{ n atomic.Int64 }

func (h *countHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *countHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmd)
	}
}

func (h *countHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmds)
	}
}

// TestOneRoundTripPerCall shows that every method, the hot-path writes
// (Audit.Append, KV.Put, Timers.Put) first, costs exactly one round trip
// once the scripts are loaded (Open loads them; here the first call does).
func TestOneRoundTripPerCall(t *testing.T) {
	ctx := t.Context()
	s := newTestStore(t)
	h := &countHook{}
	s.c.AddHook(h)
	const room = "r@muc.example.org"
	rec, err := s.Audit().Append(ctx, store.AuditRecord{Room: room, TargetJID: "a@example.org", Group: "g", Action: "kick", Result: "ok"})
	if err != nil {
		t.Fatal(err)
	}
	calls := []struct {
		name string
		call func() error
	}{
		{"Audit.Append", func() error {
			_, err := s.Audit().Append(ctx, store.AuditRecord{Room: room, TargetJID: "a@example.org", Group: "g", Action: "kick", Result: "ok"})
			return err
		}},
		{"KV.Put", func() error { return s.KV().Put(ctx, "ns", "f", []byte("v")) }},
		{"Timers.Put", func() error {
			return s.Timers().Put(ctx, store.Timer{Room: room, Policy: "p", Key: "k", At: time.Unix(100, 0)})
		}},
		{"Audit.Get", func() error { _, err := s.Audit().Get(ctx, rec.ID); return err }},
		{"Audit.Recent", func() error { _, err := s.Audit().Recent(ctx, room, 10); return err }},
		{"Audit.ByTarget", func() error { _, err := s.Audit().ByTarget(ctx, room, "a@example.org"); return err }},
		{"Audit.ByGroup", func() error { _, err := s.Audit().ByGroup(ctx, room, "g"); return err }},
		{"Audit.MarkUndone", func() error { return s.Audit().MarkUndone(ctx, rec.ID, "zz") }},
		{"Timers.Delete", func() error { return s.Timers().Delete(ctx, room, "p", "k") }},
		{"Timers.All", func() error { _, err := s.Timers().All(ctx); return err }},
		{"Rooms.Put", func() error { return s.Rooms().Put(ctx, store.RoomRecord{JID: room}) }},
		{"Rooms.Get", func() error { _, err := s.Rooms().Get(ctx, room); return err }},
		{"Rooms.All", func() error { _, err := s.Rooms().All(ctx); return err }},
		{"Rooms.Delete", func() error { return s.Rooms().Delete(ctx, room) }},
		{"Settings.Put", func() error { return s.Settings().Put(ctx, room, store.RoomSettings{}) }},
		{"Settings.Get", func() error { _, err := s.Settings().Get(ctx, room); return err }},
		{"KV.Get", func() error { _, err := s.KV().Get(ctx, "ns", "f"); return err }},
		{"KV.All", func() error { _, err := s.KV().All(ctx, "ns"); return err }},
		{"KV.Len", func() error { _, err := s.KV().Len(ctx, "ns"); return err }},
		{"KV.Replace", func() error { return s.KV().Replace(ctx, "ns", map[string][]byte{"a": nil, "b": nil}) }},
		{"KV.Delete", func() error { return s.KV().Delete(ctx, "ns", "a", "b") }},
		{"Ping", func() error { return s.Ping(ctx) }},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			if err := c.call(); err != nil { // loads a script on first use
				t.Fatal(err)
			}
			h.n.Store(0)
			if err := c.call(); err != nil {
				t.Fatal(err)
			}
			if n := h.n.Load(); n != 1 {
				t.Errorf("%s took %d round trips, want 1", c.name, n)
			}
		})
	}
}

func TestErrorHook(t *testing.T) {
	// A port nobody listens on: every call fails without waiting.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialerRetries: 1})
	var ops []string
	s := New(c, "p", WithErrorHook(func(op string, err error) { ops = append(ops, op) }))
	defer s.Close()

	ctx := t.Context()
	err = s.KV().Put(ctx, "ns", "f", nil)
	if err == nil || !strings.HasPrefix(err.Error(), "redisstore: kv.put: ") {
		t.Errorf("Put err = %v, want a redisstore: kv.put error", err)
	}
	if _, err := s.Audit().Append(ctx, store.AuditRecord{}); err == nil {
		t.Error("Append succeeded without a server")
	}
	if _, err := s.Rooms().Get(ctx, "r"); err == nil || errors.Is(err, store.ErrNotFound) {
		t.Errorf("Rooms.Get err = %v, want a connection error", err)
	}
	if want := []string{"kv.put", "audit.append", "rooms.get"}; !slices.Equal(ops, want) {
		t.Errorf("hook saw %v, want %v", ops, want)
	}
}

func TestErrorHookIgnoresNotFound(t *testing.T) {
	var ops []string
	s := newTestStore(t, WithErrorHook(func(op string, err error) { ops = append(ops, op) }))
	ctx := t.Context()
	if _, err := s.KV().Get(ctx, "ns", "f"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("KV.Get err = %v", err)
	}
	if _, err := s.Rooms().Get(ctx, "r"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Rooms.Get err = %v", err)
	}
	if err := s.Audit().MarkUndone(ctx, "x", "y"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("MarkUndone err = %v", err)
	}
	if _, err := s.Settings().Get(ctx, "r"); err != nil {
		t.Errorf("Settings.Get err = %v", err)
	}
	if len(ops) != 0 {
		t.Errorf("hook called for not-found: %v", ops)
	}
}

func TestCorruptValueIsAnError(t *testing.T) {
	ctx := t.Context()
	var ops []string
	s := newTestStore(t, WithErrorHook(func(op string, err error) { ops = append(ops, op) }))
	if err := s.c.ZAdd(ctx, s.k.timers(), redis.Z{Member: "not json"}).Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.c.HSet(ctx, s.k.rooms(), "r", "{").Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Timers().All(ctx); err == nil {
		t.Error("Timers.All of a corrupt member: no error")
	}
	if _, err := s.Rooms().Get(ctx, "r"); err == nil || errors.Is(err, store.ErrNotFound) {
		t.Errorf("Rooms.Get of corrupt JSON: err = %v", err)
	}
	if want := []string{"timers.all", "rooms.get"}; !slices.Equal(ops, want) {
		t.Errorf("hook saw %v, want %v", ops, want)
	}
}

func TestOpenErrorsHideCredentials(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	_ = l.Close()
	const secret = "hunter2"
	tests := []struct {
		name string
		opts Options
		want string // a substring of the error
	}{
		{"unreachable URL", Options{URL: "redis://steward:" + secret + "@" + dead + "/0?max_retries=-1"}, "redisstore: ping redis://steward:xxxxx@" + dead},
		{"bad port", Options{URL: "redis://:" + secret + "@127.0.0.1:notaport/0"}, "redisstore: parse URL redis://:xxxxx@127.0.0.1:notaport/0"},
		{"bad scheme", Options{URL: "http://u:" + secret + "@example.org/"}, "invalid URL scheme"},
		{"bad db", Options{URL: "redis://u:" + secret + "@127.0.0.1/x"}, "redisstore: parse URL"},
		{"escaped password", Options{URL: "redis://u:hun%74er2@127.0.0.1:notaport/"}, "redisstore: parse URL redis://u:xxxxx@"},
		{"password only", Options{URL: "redis://" + secret + "@127.0.0.1:notaport/"}, "redis://xxxxx@"},
		{"unreachable addrs", Options{Addrs: []string{dead}, Password: secret}, "redisstore: ping " + dead},
		{"both", Options{URL: "redis://" + dead, Addrs: []string{dead}, Password: secret}, "not both"},
		{"neither", Options{Password: secret}, "no URL or addresses"},
		{"brace in prefix", Options{URL: "redis://" + dead, Prefix: "a{b}"}, "must not contain"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(t.Context(), tc.opts)
			if err == nil {
				_ = s.Close()
				t.Fatal("Open succeeded")
			}
			msg := err.Error()
			if strings.Contains(msg, secret) || strings.Contains(msg, "hun%74er2") {
				t.Errorf("error shows the password: %s", msg)
			}
			if !strings.Contains(msg, tc.want) {
				t.Errorf("error %q does not contain %q", msg, tc.want)
			}
		})
	}
}

func TestOpen(t *testing.T) {
	u := os.Getenv("STEWARD_TEST_REDIS_URL")
	if u == "" {
		t.Skip("STEWARD_TEST_REDIS_URL unset: run scripts/test")
	}
	prefix := fmt.Sprintf("steward-test-%016x", rand.Uint64())
	s, err := Open(t.Context(), Options{URL: u, Prefix: prefix + ":"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		deleteByPrefix(t, s.c, prefix)
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	}()
	if s.k.p != prefix+":" {
		t.Errorf("key prefix = %q, want %q", s.k.p, prefix+":")
	}
	// Open loaded the scripts, so even the first Append is one round trip.
	h := &countHook{}
	s.c.AddHook(h)
	if _, err := s.Audit().Append(t.Context(), store.AuditRecord{Room: "r", Action: "say", Result: "ok"}); err != nil {
		t.Fatal(err)
	}
	if n := h.n.Load(); n != 1 {
		t.Errorf("first Append after Open took %d round trips, want 1", n)
	}
}

func TestPrefix(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", DefaultPrefix},
		{"bot", "bot"},
		{"bot:", "bot"},
		{"a:b::", "a:b"},
	}
	for _, tc := range tests {
		if got := New(nil, tc.in).k.p; got != tc.want+":" {
			t.Errorf("New(%q) key prefix = %q, want %q", tc.in, got, tc.want+":")
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("New with a brace in the prefix did not panic")
		}
	}()
	New(nil, "a{b}")
}

func TestKeyPartsDoNotCollide(t *testing.T) {
	k := newKeys("p")
	pairs := [][2]string{
		{k.auditTarget("a:b", "c"), k.auditTarget("a", "b:c")},
		{k.auditGroup("a:b", "c"), k.auditGroup("a", "b:c")},
		{k.auditGroup("a%3Ab", "c"), k.auditGroup("a:b", "c")},
		{k.auditTarget("r", "x@y/res"), k.auditTarget("r", "X@Y")},
	}
	for i, p := range pairs[:3] {
		if p[0] == p[1] {
			t.Errorf("pair %d: both are %q", i, p[0])
		}
	}
	if p := pairs[3]; p[0] != p[1] {
		t.Errorf("target key ignores case and resource: %q != %q", p[0], p[1])
	}
}

func BenchmarkAuditAppend(b *testing.B) {
	s := newTestStore(b)
	ctx := b.Context()
	r := store.AuditRecord{
		At: time.Now(), Room: "r@muc.example.org", Actor: "policy:vetting", Policy: "vetting",
		Action: "role", TargetJID: "alice@example.org", TargetNick: "alice", Value: "participant",
		Prev: "visitor", Public: "welcome", Group: "g1", Result: "ok",
	}
	for b.Loop() {
		if _, err := s.Audit().Append(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkKVPut(b *testing.B) {
	s := newTestStore(b)
	ctx := b.Context()
	v := []byte(`{"seen":"2026-01-01T00:00:00Z","count":3}`)
	i := 0
	for b.Loop() {
		if err := s.KV().Put(ctx, "policy:idle:r@muc.example.org:seen", strconv.Itoa(i%1000), v); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkTimersPut(b *testing.B) {
	s := newTestStore(b)
	ctx := b.Context()
	at := time.Now()
	i := 0
	for b.Loop() {
		t := store.Timer{Room: "r@muc.example.org", Policy: "debate", Key: strconv.Itoa(i % 1000), At: at.Add(time.Duration(i) * time.Millisecond)}
		if err := s.Timers().Put(ctx, t); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func ids(recs []store.AuditRecord) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.ID
	}
	return out
}
