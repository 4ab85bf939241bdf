package bot

import (
	"fmt"
	"strings"

	"github.com/steward-xmpp/steward/policies"
)

// GuardError is a refusal by the guards: the action would have been adverse
// to someone Steward never acts against. It unwraps to policies.ErrGuarded.
// Prosody lets an admin kick another admin, so this check is the only
// protection admins and owners have against the bot.
type GuardError struct {
	// Who is the target's bare JID, or its nick when the JID is hidden.
	Who string
	// What says why the target is protected: "an owner here", "an admin
	// here", "an officer here" or "Steward itself".
	What string
}

func (e *GuardError) Error() string {
	return fmt.Sprintf("refused: %s is %s; Steward never acts against owners, admins, officers or itself", e.Who, e.What)
}

// Unwrap makes errors.Is(err, policies.ErrGuarded) true.
func (e *GuardError) Unwrap() error { return policies.ErrGuarded }

// refusal is an error with its own message that still matches a sentinel
// with errors.Is, so that people read one clear sentence.
type refusal struct {
	msg string
	err error
}

func (r *refusal) Error() string { return r.msg }
func (r *refusal) Unwrap() error { return r.err }

// target is what the executor resolved about the person an action is about.
type target struct {
	nick string
	bare string // lowercased real bare JID, "" when hidden
	// occ is the seat of nick, when the action names a present seat.
	occ    policies.Occupant
	hasOcc bool
	// seats are every seat of bare (other clients of the same person).
	seats    []policies.Occupant
	prevRole policies.Role
	prevAff  policies.Affiliation
}

var roleRank = map[policies.Role]int{
	policies.RoleNone: 0, policies.RoleVisitor: 1, policies.RoleParticipant: 2, policies.RoleModerator: 3,
}

var affRank = map[policies.Affiliation]int{
	policies.AffOutcast: 0, policies.AffNone: 1, policies.AffMember: 2, policies.AffAdmin: 3, policies.AffOwner: 4,
}

// adverse reports whether req would take something away from its target.
// Granting voice, membership or admin is never adverse, so it is never
// guarded.
func adverse(req Request, t target) bool {
	switch req.Kind {
	case KindKick:
		return true
	case KindRole:
		if req.Role == policies.RoleNone || req.Role == policies.RoleVisitor {
			return true
		}
		return t.hasOcc && roleRank[req.Role] < roleRank[t.prevRole]
	case KindAffiliation:
		if req.Aff == policies.AffOutcast {
			return true
		}
		return affRank[req.Aff] < affRank[t.prevAff]
	case KindRetract:
		// Retracting a message is adverse to its author, when we know them.
		return t.nick != "" || t.bare != ""
	}
	return false
}

// guard returns a *GuardError when req is adverse to the bot itself, an
// owner or admin of the room (by any seat or by the affiliation list), or an
// officer.
func guard(room RoomView, req Request, t target) error {
	if !adverse(req, t) {
		return nil
	}
	who := t.bare
	if who == "" {
		who = t.nick
	}
	self := room.Self()
	selfBare := strings.ToLower(self.BareString())
	switch {
	case t.nick != "" && t.nick == self.Nick,
		t.bare != "" && t.bare == selfBare,
		t.hasOcc && self.OccupantID != "" && t.occ.OccupantID == self.OccupantID:
		return &GuardError{Who: who, What: "Steward itself"}
	}
	aff := t.prevAff
	if t.bare != "" {
		aff = higherAff(aff, room.Affiliation(t.bare))
	}
	if t.hasOcc {
		aff = higherAff(aff, t.occ.Affiliation)
	}
	for _, o := range t.seats {
		aff = higherAff(aff, o.Affiliation)
	}
	switch aff {
	case policies.AffOwner:
		return &GuardError{Who: who, What: "an owner here"}
	case policies.AffAdmin:
		return &GuardError{Who: who, What: "an admin here"}
	}
	if t.bare != "" && room.IsOfficer(t.bare) {
		return &GuardError{Who: who, What: "an officer here"}
	}
	return nil
}

func higherAff(a, b policies.Affiliation) policies.Affiliation {
	if affRank[b] > affRank[a] {
		return b
	}
	return a
}
