package redisstore

import "strings"

// This is the only file that builds key names; docs/keys.md mirrors it.
// Every key starts with "<prefix>:". The audit keys share the hash tag
// {audit} so that the Lua scripts that write several of them at once run on
// one Redis Cluster slot. Every other write touches a single key.

// keys builds key names under one prefix.
type keys struct {
	p string // "<prefix>:"
}

func newKeys(prefix string) keys { return keys{p: prefix + ":"} }

// auditSeq is the STRING counter (INCR) whose value, in base36, is the
// next audit ID.
func (k keys) auditSeq() string { return k.p + "{audit}:seq" }

// auditRecPrefix is the part of a record key before the ID. The append
// and read scripts concatenate IDs to it, so it is passed to them as ARGV.
func (k keys) auditRecPrefix() string { return k.p + "{audit}:rec:" }

// auditRec is the HASH of one record: json (the record), undone_by, and
// t and g (the names of the target and group lists that hold its ID, so
// that trimming can remove it from them).
func (k keys) auditRec(id string) string { return k.auditRecPrefix() + id }

// auditRoom is the LIST of a room's record IDs, newest first, capped.
func (k keys) auditRoom(room string) string {
	return k.p + "{audit}:room:" + esc(strings.ToLower(room))
}

// auditTarget is the LIST of record IDs of a room about one bare JID
// (lowercased, resource removed), oldest first.
func (k keys) auditTarget(room, jid string) string {
	return k.p + "{audit}:target:" + esc(strings.ToLower(room)) + ":" + esc(bareLower(jid))
}

// auditGroup is the LIST of record IDs of a room in one group, oldest
// first.
func (k keys) auditGroup(room, group string) string {
	return k.p + "{audit}:group:" + esc(strings.ToLower(room)) + ":" + esc(group)
}

// timers is the ZSET of every timer: member a JSON array [room, policy,
// key], score the deadline in unix milliseconds.
func (k keys) timers() string { return k.p + "timers" }

// rooms is the HASH of joined rooms: field the lowercased room JID, value
// the RoomRecord as JSON.
func (k keys) rooms() string { return k.p + "rooms" }

// settings is the HASH of room settings: field the lowercased room JID,
// value the RoomSettings as JSON.
func (k keys) settings() string { return k.p + "settings" }

// kv is the HASH of one KV namespace. The namespace is used verbatim: it is
// the whole rest of the key, so no two namespaces can share a key.
func (k keys) kv(ns string) string { return k.p + "kv:" + ns }

// escaper keeps the parts of a key name that come from users from running
// into each other: "%" and ":" are percent-encoded, so that room "a:b" with
// target "c" and room "a" with target "b:c" get different keys.
var escaper = strings.NewReplacer("%", "%25", ":", "%3A")

func esc(s string) string { return escaper.Replace(s) }

// bareLower is how audit targets are compared: without resource and
// without case, since the bot may log a full JID or a differently-cased one.
func bareLower(j string) string {
	if i := strings.IndexByte(j, '/'); i >= 0 {
		j = j[:i]
	}
	return strings.ToLower(j)
}
