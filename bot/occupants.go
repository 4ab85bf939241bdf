package bot

import (
	"iter"
	"strings"
	"time"

	"github.com/steward-xmpp/steward/policies"
)

// occupants is one room's seat table. It belongs to the room goroutine.
type occupants struct {
	byNick map[string]*policies.Occupant
	byBare map[string]map[string]struct{} // bare JID -> nicks
	byOID  map[string]string              // occupant-id -> nick
}

func newOccupants() *occupants {
	return &occupants{
		byNick: map[string]*policies.Occupant{},
		byBare: map[string]map[string]struct{}{},
		byOID:  map[string]string{},
	}
}

func (t *occupants) get(nick string) (policies.Occupant, bool) {
	o, ok := t.byNick[nick]
	if !ok {
		return policies.Occupant{}, false
	}
	return *o, true
}

func (t *occupants) put(o policies.Occupant) {
	if old, ok := t.byNick[o.Nick]; ok {
		t.unindex(old)
	}
	c := o
	t.byNick[o.Nick] = &c
	if b := o.BareString(); b != "" {
		s := t.byBare[b]
		if s == nil {
			s = map[string]struct{}{}
			t.byBare[b] = s
		}
		s[o.Nick] = struct{}{}
	}
	if o.OccupantID != "" {
		t.byOID[o.OccupantID] = o.Nick
	}
}

// touch records activity of a seat in place: the hot path of every message
// must not re-index the table.
func (t *occupants) touch(nick string, at time.Time) {
	if o, ok := t.byNick[nick]; ok {
		o.LastActive = at
	}
}

func (t *occupants) remove(nick string) (policies.Occupant, bool) {
	o, ok := t.byNick[nick]
	if !ok {
		return policies.Occupant{}, false
	}
	t.unindex(o)
	delete(t.byNick, nick)
	return *o, true
}

func (t *occupants) unindex(o *policies.Occupant) {
	if b := o.BareString(); b != "" {
		if s := t.byBare[b]; s != nil {
			delete(s, o.Nick)
			if len(s) == 0 {
				delete(t.byBare, b)
			}
		}
	}
	if o.OccupantID != "" && t.byOID[o.OccupantID] == o.Nick {
		delete(t.byOID, o.OccupantID)
		// Prosody derives the occupant-id from the real bare JID, so one
		// person's other seats share it: keep it pointing at one of them.
		for nick, other := range t.byNick {
			if nick != o.Nick && other.OccupantID == o.OccupantID {
				t.byOID[o.OccupantID] = nick
				break
			}
		}
	}
}

// rename moves a seat to a new nick, keeping its history (joined-at,
// last-active, occupant-id).
func (t *occupants) rename(old, nick string) (policies.Occupant, bool) {
	o, ok := t.remove(old)
	if !ok {
		return policies.Occupant{}, false
	}
	o.Nick = nick
	t.put(o)
	return o, true
}

func (t *occupants) byBareJID(bare string) []policies.Occupant {
	s := t.byBare[strings.ToLower(bare)]
	out := make([]policies.Occupant, 0, len(s))
	for nick := range s {
		out = append(out, *t.byNick[nick])
	}
	return out
}

func (t *occupants) byOccupantID(id string) (policies.Occupant, bool) {
	nick, ok := t.byOID[id]
	if !ok {
		return policies.Occupant{}, false
	}
	return t.get(nick)
}

func (t *occupants) all() iter.Seq[policies.Occupant] {
	return func(yield func(policies.Occupant) bool) {
		for _, o := range t.byNick {
			if !yield(*o) {
				return
			}
		}
	}
}

func (t *occupants) len() int { return len(t.byNick) }

func (t *occupants) clear() {
	t.byNick = map[string]*policies.Occupant{}
	t.byBare = map[string]map[string]struct{}{}
	t.byOID = map[string]string{}
}
