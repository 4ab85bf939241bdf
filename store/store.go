// Package store declares what Steward remembers, one small interface per
// concern. It imports no database driver: store/redisstore implements every
// interface on Redis, store/memstore in memory for unit tests, and
// store/storetest is the conformance suite both must pass.
//
// Rooms and JIDs are plain strings here (bare JIDs, lowercase as the bot
// normalised them) so that the store never fails on a JID the PRECIS parser
// rejects.
package store

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned when a record does not exist.
var ErrNotFound = errors.New("store: not found")

// All is every concern; one implementation provides all of them.
type All interface {
	Audit() Audit
	Timers() Timers
	Rooms() Rooms
	Settings() Settings
	KV() KV
	// Ping checks that the backend is reachable (for /readyz).
	Ping(ctx context.Context) error
	Close() error
}

// AuditRecord is one thing the bot did, or would have done (dry-run), or was
// refused to do.
type AuditRecord struct {
	ID   string    `json:"id"`
	At   time.Time `json:"at"`
	Room string    `json:"room"`
	// Actor is "policy:<name>" or the real bare JID of the person who
	// commanded it.
	Actor  string `json:"actor"`
	Policy string `json:"policy,omitempty"`
	// Action is the kind: role, affiliation, kick, retract, say, whisper,
	// tell, notify, configure, undo.
	Action     string `json:"action"`
	TargetJID  string `json:"target_jid,omitempty"`
	TargetNick string `json:"target_nick,omitempty"`
	// Value is the new role/affiliation, the stanza-id, or the text sent.
	Value string `json:"value,omitempty"`
	// Prev is the role/affiliation before the action, for undo.
	Prev    string `json:"prev,omitempty"`
	Public  string `json:"public,omitempty"`
	Private string `json:"private,omitempty"`
	Group   string `json:"group,omitempty"`
	Ref     string `json:"ref,omitempty"`
	// Result is ok, error, refused or dry-run; Error holds the server's
	// error or the reason for refusal.
	Result string `json:"result"`
	Error  string `json:"error,omitempty"`
	// UndoneBy is the id of the record that reversed this one.
	UndoneBy string `json:"undone_by,omitempty"`
	// UndoOf is the id of the record this one reversed.
	UndoOf string `json:"undo_of,omitempty"`
}

// AuditReader is the read side of the audit log, given to policies.
type AuditReader interface {
	Get(ctx context.Context, id string) (AuditRecord, error)
	// Recent returns the newest n records of a room, newest first.
	Recent(ctx context.Context, room string, n int) ([]AuditRecord, error)
	// ByTarget returns every record of a room about one bare JID, oldest first.
	ByTarget(ctx context.Context, room, bareJID string) ([]AuditRecord, error)
	// ByGroup returns every record of a room in a group, oldest first.
	ByGroup(ctx context.Context, room, group string) ([]AuditRecord, error)
}

// Audit is the audit log.
type Audit interface {
	AuditReader
	// Append stores r with a new unique ID (short, typeable) and returns it.
	Append(ctx context.Context, r AuditRecord) (AuditRecord, error)
	// MarkUndone sets UndoneBy on the record id.
	MarkUndone(ctx context.Context, id, undoneBy string) error
}

// Timer is one scheduled deadline of a policy in a room.
type Timer struct {
	Room   string
	Policy string
	Key    string
	At     time.Time
}

// Timers stores deadlines. Put on an existing (room, policy, key) moves it.
type Timers interface {
	Put(ctx context.Context, t Timer) error
	Delete(ctx context.Context, room, policy, key string) error
	// All returns every stored timer, earliest first.
	All(ctx context.Context) ([]Timer, error)
}

// RoomRecord is a room the bot remembers joining (from an invitation or a
// command), so that a restart rejoins it.
type RoomRecord struct {
	JID       string    `json:"jid"`
	InvitedBy string    `json:"invited_by,omitempty"`
	At        time.Time `json:"at"`
	// Password for password-protected rooms, if the invitation gave one.
	Password string `json:"password,omitempty"`
	// Banned or Destroyed rooms are remembered so that the bot does not
	// rejoin-loop them.
	Banned    bool   `json:"banned,omitempty"`
	Destroyed bool   `json:"destroyed,omitempty"`
	Note      string `json:"note,omitempty"`
}

// Rooms remembers joined rooms.
type Rooms interface {
	Put(ctx context.Context, r RoomRecord) error
	Get(ctx context.Context, room string) (RoomRecord, error)
	Delete(ctx context.Context, room string) error
	All(ctx context.Context) ([]RoomRecord, error)
}

// PolicyOverride is a runtime setting for one policy in one room; nil
// pointers mean "as the config file says".
type PolicyOverride struct {
	Enabled *bool `json:"enabled,omitempty"`
	DryRun  *bool `json:"dry_run,omitempty"`
}

// RoomSettings are settings changed by command at run time. They win over
// the config file.
type RoomSettings struct {
	// OfficersAdded and OfficersRemoved adjust the configured officers.
	OfficersAdded   []string                  `json:"officers_added,omitempty"`
	OfficersRemoved []string                  `json:"officers_removed,omitempty"`
	Policies        map[string]PolicyOverride `json:"policies,omitempty"`
}

// Settings stores RoomSettings; Get of an unknown room returns the zero
// value and no error.
type Settings interface {
	Get(ctx context.Context, room string) (RoomSettings, error)
	Put(ctx context.Context, room string, s RoomSettings) error
}

// KV is a small durable map-of-maps for policy and service state. A
// namespace is one hash (in Redis, one key); fields are opaque strings,
// values opaque bytes (JSON by convention). Policies get a KV already
// scoped to themselves and their room (see Scoped).
type KV interface {
	Put(ctx context.Context, ns, field string, val []byte) error
	Get(ctx context.Context, ns, field string) ([]byte, error)
	Delete(ctx context.Context, ns string, fields ...string) error
	All(ctx context.Context, ns string) (map[string][]byte, error)
	// Replace makes ns hold exactly m, atomically.
	Replace(ctx context.Context, ns string, m map[string][]byte) error
	Len(ctx context.Context, ns string) (int, error)
}

// Scoped returns a KV whose namespaces are put under prefix (e.g.
// "policy:vetting:room@muc.example:").
func Scoped(kv KV, prefix string) KV { return scoped{kv, prefix} }

type scoped struct {
	kv     KV
	prefix string
}

func (s scoped) Put(ctx context.Context, ns, field string, val []byte) error {
	return s.kv.Put(ctx, s.prefix+ns, field, val)
}
func (s scoped) Get(ctx context.Context, ns, field string) ([]byte, error) {
	return s.kv.Get(ctx, s.prefix+ns, field)
}
func (s scoped) Delete(ctx context.Context, ns string, fields ...string) error {
	return s.kv.Delete(ctx, s.prefix+ns, fields...)
}
func (s scoped) All(ctx context.Context, ns string) (map[string][]byte, error) {
	return s.kv.All(ctx, s.prefix+ns)
}
func (s scoped) Replace(ctx context.Context, ns string, m map[string][]byte) error {
	return s.kv.Replace(ctx, s.prefix+ns, m)
}
func (s scoped) Len(ctx context.Context, ns string) (int, error) {
	return s.kv.Len(ctx, s.prefix+ns)
}
