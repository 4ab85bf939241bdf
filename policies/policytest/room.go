package policytest

import (
	"iter"
	"maps"
	"slices"
	"strings"

	"mellium.im/xmpp/jid"

	"github.com/steward-xmpp/steward/policies"
)

// Room is a fake policies.Room that tests mutate directly.
type Room struct {
	JID        jid.JID
	SelfOcc    policies.Occupant
	Seats      map[string]policies.Occupant // by nick
	Feat       policies.Features
	Moderator  bool
	Affs       map[string]policies.Affiliation // bare JID -> affiliation
	OfficerSet map[string]bool
}

var _ policies.Room = (*Room)(nil)

// NewRoom returns a moderated room where the bot ("Steward") is admin.
func NewRoom(addr string) *Room {
	r := &Room{
		JID:        jid.MustParse(addr),
		Seats:      map[string]policies.Occupant{},
		Feat:       policies.Features{Moderated: true, SemiAnonymous: true, VoiceRequests: true, Moderation: "urn:xmpp:message-moderate:0", OccupantIDs: true},
		Moderator:  true,
		Affs:       map[string]policies.Affiliation{},
		OfficerSet: map[string]bool{},
	}
	r.SelfOcc = policies.Occupant{Nick: "Steward", RealJID: jid.MustParse("steward@example.org/bot"), RealRaw: "steward@example.org/bot", Role: policies.RoleModerator, Affiliation: policies.AffAdmin, OccupantID: "self"}
	r.Seats["Steward"] = r.SelfOcc
	r.Affs["steward@example.org"] = policies.AffAdmin
	return r
}

// Put adds or replaces a seat and records its affiliation.
func (r *Room) Put(o policies.Occupant) {
	r.Seats[o.Nick] = o
	if b := o.BareString(); b != "" && o.Affiliation != "" {
		if o.Affiliation == policies.AffNone {
			delete(r.Affs, b)
		} else {
			r.Affs[b] = o.Affiliation
		}
	}
}

func (r *Room) Addr() jid.JID               { return r.JID }
func (r *Room) Self() policies.Occupant     { return r.SelfOcc }
func (r *Room) Features() policies.Features { return r.Feat }
func (r *Room) Moderating() bool            { return r.Moderator }
func (r *Room) Len() int                    { return len(r.Seats) }

func (r *Room) Occupant(nick string) (policies.Occupant, bool) {
	o, ok := r.Seats[nick]
	return o, ok
}

func (r *Room) ByBareJID(bare string) []policies.Occupant {
	var out []policies.Occupant
	for _, nick := range slices.Sorted(maps.Keys(r.Seats)) {
		if o := r.Seats[nick]; strings.EqualFold(o.BareString(), bare) {
			out = append(out, o)
		}
	}
	return out
}

func (r *Room) ByOccupantID(id string) (policies.Occupant, bool) {
	for _, o := range r.Seats {
		if id != "" && o.OccupantID == id {
			return o, true
		}
	}
	return policies.Occupant{}, false
}

func (r *Room) Occupants() iter.Seq[policies.Occupant] {
	return func(yield func(policies.Occupant) bool) {
		for _, nick := range slices.Sorted(maps.Keys(r.Seats)) {
			if !yield(r.Seats[nick]) {
				return
			}
		}
	}
}

func (r *Room) Affiliation(bare string) policies.Affiliation {
	if a, ok := r.Affs[strings.ToLower(bare)]; ok {
		return a
	}
	return policies.AffNone
}

func (r *Room) Affiliated() iter.Seq2[string, policies.Affiliation] {
	return func(yield func(string, policies.Affiliation) bool) {
		for _, b := range slices.Sorted(maps.Keys(r.Affs)) {
			if !yield(b, r.Affs[b]) {
				return
			}
		}
	}
}

func (r *Room) IsOfficer(bare string) bool { return r.OfficerSet[strings.ToLower(bare)] }

func (r *Room) Officers() []string { return slices.Sorted(maps.Keys(r.OfficerSet)) }

func (r *Room) LevelOf(bare string) policies.Level {
	bare = strings.ToLower(bare)
	switch {
	case r.Affs[bare] == policies.AffOwner:
		return policies.Owner
	case r.Affs[bare] == policies.AffAdmin:
		return policies.Admin
	case r.OfficerSet[bare]:
		return policies.Officer
	case r.Affs[bare] == policies.AffMember:
		return policies.Member
	}
	return policies.Anyone
}
