// Package memstore implements every store interface in memory, for unit
// tests of the bot and of policies. It is safe for concurrent use and
// forgets everything when the process exits; production uses
// store/redisstore. Both pass the store/storetest conformance suite.
//
//	st := memstore.New()
//	rec, err := st.Audit().Append(ctx, store.AuditRecord{Room: room, Action: "kick"})
package memstore

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/steward-xmpp/steward/store"
)

// Store is an in-memory store.All. The zero value is not usable; call New.
type Store struct {
	audit    *Audit
	timers   *Timers
	rooms    *Rooms
	settings *Settings
	kv       *KV
}

var _ store.All = (*Store)(nil)

// New returns an empty Store.
func New() *Store {
	return &Store{
		audit:    &Audit{byID: map[string]int{}},
		timers:   &Timers{m: map[timerKey]time.Time{}},
		rooms:    &Rooms{m: map[string]store.RoomRecord{}},
		settings: &Settings{m: map[string]store.RoomSettings{}},
		kv:       NewKV(),
	}
}

// Audit returns the audit log.
func (s *Store) Audit() store.Audit { return s.audit }

// Timers returns the timer store.
func (s *Store) Timers() store.Timers { return s.timers }

// Rooms returns the joined-rooms store.
func (s *Store) Rooms() store.Rooms { return s.rooms }

// Settings returns the room settings store.
func (s *Store) Settings() store.Settings { return s.settings }

// KV returns the key-value store.
func (s *Store) KV() store.KV { return s.kv }

// Ping always succeeds.
func (s *Store) Ping(context.Context) error { return nil }

// Close does nothing; the data stays readable.
func (s *Store) Close() error { return nil }

// Audit is an in-memory store.Audit with no size limit.
type Audit struct {
	mu   sync.Mutex
	seq  uint64
	recs []store.AuditRecord // in append order
	byID map[string]int      // id -> index in recs
}

var _ store.Audit = (*Audit)(nil)

// Append stores r under a new base36 ID ("1", "2", … "z", "10", …), the
// same scheme as redisstore.
func (a *Audit) Append(_ context.Context, r store.AuditRecord) (store.AuditRecord, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.seq++
	r.ID = strconv.FormatUint(a.seq, 36)
	r = cloneRecord(r)
	a.byID[r.ID] = len(a.recs)
	a.recs = append(a.recs, r)
	return cloneRecord(r), nil
}

// Get returns the record id or store.ErrNotFound.
func (a *Audit) Get(_ context.Context, id string) (store.AuditRecord, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	i, ok := a.byID[id]
	if !ok {
		return store.AuditRecord{}, store.ErrNotFound
	}
	return cloneRecord(a.recs[i]), nil
}

// Recent returns the newest n records of room, newest first.
func (a *Audit) Recent(_ context.Context, room string, n int) ([]store.AuditRecord, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []store.AuditRecord
	room = strings.ToLower(room)
	for i := len(a.recs) - 1; i >= 0 && len(out) < n; i-- {
		if strings.ToLower(a.recs[i].Room) == room {
			out = append(out, cloneRecord(a.recs[i]))
		}
	}
	return out, nil
}

// ByTarget returns the records of room whose TargetJID has the bare JID
// bareJID, compared without case and resource, oldest first.
func (a *Audit) ByTarget(_ context.Context, room, bareJID string) ([]store.AuditRecord, error) {
	want := bareLower(bareJID)
	return a.filter(room, func(r *store.AuditRecord) bool {
		return r.TargetJID != "" && bareLower(r.TargetJID) == want
	}), nil
}

// ByGroup returns the records of room in group, oldest first.
func (a *Audit) ByGroup(_ context.Context, room, group string) ([]store.AuditRecord, error) {
	return a.filter(room, func(r *store.AuditRecord) bool {
		return r.Group != "" && r.Group == group
	}), nil
}

func (a *Audit) filter(room string, keep func(*store.AuditRecord) bool) []store.AuditRecord {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []store.AuditRecord
	room = strings.ToLower(room)
	for i := range a.recs {
		if strings.ToLower(a.recs[i].Room) == room && keep(&a.recs[i]) {
			out = append(out, cloneRecord(a.recs[i]))
		}
	}
	return out
}

// MarkUndone sets UndoneBy on the record id, or returns store.ErrNotFound.
func (a *Audit) MarkUndone(_ context.Context, id, undoneBy string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	i, ok := a.byID[id]
	if !ok {
		return store.ErrNotFound
	}
	a.recs[i].UndoneBy = undoneBy
	return nil
}

// cloneRecord exists so that callers never share a record with the store;
// AuditRecord holds only values today, so a copy is enough.
func cloneRecord(r store.AuditRecord) store.AuditRecord { return r }

type timerKey struct{ room, policy, key string }

// Timers is an in-memory store.Timers.
type Timers struct {
	mu sync.Mutex
	m  map[timerKey]time.Time
}

var _ store.Timers = (*Timers)(nil)

// Put stores or moves the timer (t.Room, t.Policy, t.Key).
func (ts *Timers) Put(_ context.Context, t store.Timer) error {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.m[timerKey{t.Room, t.Policy, t.Key}] = t.At
	return nil
}

// Delete removes the timer; deleting a missing timer is not an error.
func (ts *Timers) Delete(_ context.Context, room, policy, key string) error {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	delete(ts.m, timerKey{room, policy, key})
	return nil
}

// All returns every timer, earliest first; ties are ordered by room,
// policy and key so that tests are deterministic.
func (ts *Timers) All(context.Context) ([]store.Timer, error) {
	ts.mu.Lock()
	out := make([]store.Timer, 0, len(ts.m))
	for k, at := range ts.m {
		out = append(out, store.Timer{Room: k.room, Policy: k.policy, Key: k.key, At: at})
	}
	ts.mu.Unlock()
	slices.SortFunc(out, func(a, b store.Timer) int {
		return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.Room, b.Room),
			cmp.Compare(a.Policy, b.Policy), cmp.Compare(a.Key, b.Key))
	})
	return out, nil
}

// Rooms is an in-memory store.Rooms keyed by the lowercased room JID.
type Rooms struct {
	mu sync.Mutex
	m  map[string]store.RoomRecord
}

var _ store.Rooms = (*Rooms)(nil)

// Put stores or replaces r.
func (rs *Rooms) Put(_ context.Context, r store.RoomRecord) error {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.m[strings.ToLower(r.JID)] = r
	return nil
}

// Get returns the room or store.ErrNotFound.
func (rs *Rooms) Get(_ context.Context, room string) (store.RoomRecord, error) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	r, ok := rs.m[strings.ToLower(room)]
	if !ok {
		return store.RoomRecord{}, store.ErrNotFound
	}
	return r, nil
}

// Delete forgets the room; deleting a missing room is not an error.
func (rs *Rooms) Delete(_ context.Context, room string) error {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	delete(rs.m, strings.ToLower(room))
	return nil
}

// All returns every room, ordered by JID.
func (rs *Rooms) All(context.Context) ([]store.RoomRecord, error) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	out := make([]store.RoomRecord, 0, len(rs.m))
	for _, r := range rs.m {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b store.RoomRecord) int { return cmp.Compare(a.JID, b.JID) })
	return out, nil
}

// Settings is an in-memory store.Settings.
type Settings struct {
	mu sync.Mutex
	m  map[string]store.RoomSettings
}

var _ store.Settings = (*Settings)(nil)

// Get returns the settings of room, or the zero value if none were put.
func (ss *Settings) Get(_ context.Context, room string) (store.RoomSettings, error) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return cloneSettings(ss.m[strings.ToLower(room)]), nil
}

// Put replaces the settings of room.
func (ss *Settings) Put(_ context.Context, room string, s store.RoomSettings) error {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.m[strings.ToLower(room)] = cloneSettings(s)
	return nil
}

// cloneSettings copies the slices, map and pointers so that a caller
// mutating its value cannot change what the store holds.
func cloneSettings(s store.RoomSettings) store.RoomSettings {
	out := store.RoomSettings{
		OfficersAdded:   slices.Clone(s.OfficersAdded),
		OfficersRemoved: slices.Clone(s.OfficersRemoved),
	}
	if s.Policies != nil {
		out.Policies = make(map[string]store.PolicyOverride, len(s.Policies))
		for name, o := range s.Policies {
			out.Policies[name] = store.PolicyOverride{Enabled: clonePtr(o.Enabled), DryRun: clonePtr(o.DryRun)}
		}
	}
	return out
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// bareLower is how both stores compare audit targets: without resource and
// without case, since the bot may log a full JID or a differently-cased one.
func bareLower(j string) string {
	if i := strings.IndexByte(j, '/'); i >= 0 {
		j = j[:i]
	}
	return strings.ToLower(j)
}
