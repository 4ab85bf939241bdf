package redisstore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/steward-xmpp/steward/store"
)

// appendScript gives the record the next base36 ID, stores it, indexes it
// and trims the room to its cap, in one round trip.
//
// KEYS[1] seq, KEYS[2] room list, KEYS[ARGV[4]] target list and
// KEYS[ARGV[5]] group list when those ARGV are not 0.
// ARGV[1] record key prefix, ARGV[2] the record's JSON after `{"id":""`,
// ARGV[3] cap (<= 0: none).
var appendScript = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
local digits = '0123456789abcdefghijklmnopqrstuvwxyz'
local id = ''
repeat
  local d = n % 36
  id = string.sub(digits, d + 1, d + 1) .. id
  n = (n - d) / 36
until n == 0
local fields = {'json', '{"id":"' .. id .. '"' .. ARGV[2]}
local ti, gi = tonumber(ARGV[4]), tonumber(ARGV[5])
if ti > 0 then
  fields[#fields + 1] = 't'
  fields[#fields + 1] = KEYS[ti]
  redis.call('RPUSH', KEYS[ti], id)
end
if gi > 0 then
  fields[#fields + 1] = 'g'
  fields[#fields + 1] = KEYS[gi]
  redis.call('RPUSH', KEYS[gi], id)
end
redis.call('HSET', ARGV[1] .. id, unpack(fields))
redis.call('LPUSH', KEYS[2], id)
local cap = tonumber(ARGV[3])
if cap > 0 then
  while redis.call('LLEN', KEYS[2]) > cap do
    local old = redis.call('RPOP', KEYS[2])
    local idx = redis.call('HMGET', ARGV[1] .. old, 't', 'g')
    for _, k in ipairs(idx) do
      if k then redis.call('LREM', k, 1, old) end
    end
    redis.call('DEL', ARGV[1] .. old)
  end
end
return id
`)

// readScript returns json, undone_by pairs for the IDs in a range of a
// list, in one round trip. KEYS[1] list; ARGV[1] record key prefix,
// ARGV[2] start, ARGV[3] stop (as LRANGE).
var readScript = redis.NewScript(`
local ids = redis.call('LRANGE', KEYS[1], ARGV[2], ARGV[3])
local out = {}
for _, id in ipairs(ids) do
  local v = redis.call('HMGET', ARGV[1] .. id, 'json', 'undone_by')
  out[#out + 1] = v[1]
  out[#out + 1] = v[2]
end
return out
`)

// markUndoneScript sets undone_by only on a record that exists.
// KEYS[1] record; ARGV[1] the undoing record's ID.
var markUndoneScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'undone_by', ARGV[1])
return 1
`)

// idPrefix is how json.Marshal starts an AuditRecord with an empty ID; the
// append script puts the ID in its place.
var idPrefix = []byte(`{"id":""`)

type audit struct{ s *Store }

func (a audit) Append(ctx context.Context, r store.AuditRecord) (store.AuditRecord, error) {
	const op = "audit.append"
	r.ID = ""
	b, err := json.Marshal(r)
	if err != nil {
		return store.AuditRecord{}, fmt.Errorf("redisstore: %s: %w", op, err)
	}
	tail, ok := bytes.CutPrefix(b, idPrefix)
	if !ok {
		// Only a change to store.AuditRecord's field order gets here.
		return store.AuditRecord{}, fmt.Errorf("redisstore: %s: record JSON does not start with %s", op, idPrefix)
	}
	k := a.s.k
	keys := []string{k.auditSeq(), k.auditRoom(r.Room)}
	ti, gi := 0, 0
	if bareLower(r.TargetJID) != "" {
		keys = append(keys, k.auditTarget(r.Room, r.TargetJID))
		ti = len(keys)
	}
	if r.Group != "" {
		keys = append(keys, k.auditGroup(r.Room, r.Group))
		gi = len(keys)
	}
	id, err := appendScript.Run(ctx, a.s.c, keys, k.auditRecPrefix(), tail, a.s.auditCap, ti, gi).Text()
	if err != nil {
		return store.AuditRecord{}, a.s.fail(op, err)
	}
	r.ID = id
	return r, nil
}

func (a audit) Get(ctx context.Context, id string) (store.AuditRecord, error) {
	const op = "audit.get"
	key := a.s.k.auditRec(id)
	v, err := a.s.c.HMGet(ctx, key, "json", "undone_by").Result()
	if err != nil {
		return store.AuditRecord{}, a.s.fail(op, err)
	}
	r, ok, err := decodeRecord(v[0], v[1])
	if err != nil {
		return store.AuditRecord{}, a.s.corrupt(op, key, err)
	}
	if !ok {
		return store.AuditRecord{}, store.ErrNotFound
	}
	return r, nil
}

func (a audit) Recent(ctx context.Context, room string, n int) ([]store.AuditRecord, error) {
	if n <= 0 {
		return nil, nil
	}
	return a.read(ctx, "audit.recent", a.s.k.auditRoom(room), n-1)
}

func (a audit) ByTarget(ctx context.Context, room, bareJID string) ([]store.AuditRecord, error) {
	if bareLower(bareJID) == "" {
		return nil, nil
	}
	return a.read(ctx, "audit.by_target", a.s.k.auditTarget(room, bareJID), -1)
}

func (a audit) ByGroup(ctx context.Context, room, group string) ([]store.AuditRecord, error) {
	if group == "" {
		return nil, nil
	}
	return a.read(ctx, "audit.by_group", a.s.k.auditGroup(room, group), -1)
}

// read returns the records whose IDs are in list[0:stop] (LRANGE bounds).
func (a audit) read(ctx context.Context, op, list string, stop int) ([]store.AuditRecord, error) {
	v, err := readScript.Run(ctx, a.s.c, []string{list}, a.s.k.auditRecPrefix(), 0, stop).Slice()
	if err != nil {
		return nil, a.s.fail(op, err)
	}
	out := make([]store.AuditRecord, 0, len(v)/2)
	for i := 0; i+1 < len(v); i += 2 {
		r, ok, err := decodeRecord(v[i], v[i+1])
		if err != nil {
			return nil, a.s.corrupt(op, list, err)
		}
		// A record trimmed between LRANGE and HMGET cannot happen inside
		// one script, but skipping a missing one keeps reads total.
		if ok {
			out = append(out, r)
		}
	}
	return out, nil
}

// decodeRecord decodes the json and undone_by fields of a record hash as
// HMGET returns them; ok is false if the record does not exist.
func decodeRecord(js, undone any) (r store.AuditRecord, ok bool, err error) {
	s, isStr := js.(string)
	if !isStr {
		return r, false, nil
	}
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		return r, false, err
	}
	if u, _ := undone.(string); u != "" {
		r.UndoneBy = u
	}
	return r, true, nil
}

func (a audit) MarkUndone(ctx context.Context, id, undoneBy string) error {
	n, err := markUndoneScript.Run(ctx, a.s.c, []string{a.s.k.auditRec(id)}, undoneBy).Int()
	if err != nil {
		return a.s.fail("audit.mark_undone", err)
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}
