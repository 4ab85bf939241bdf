package policies

import (
	"context"
	"errors"
	"time"

	"mellium.im/xmpp/jid"
)

// Actions is everything a policy (or a command run on behalf of a person) can
// do in a room. The bot's implementation stamps the actor, then applies the
// guards, dry-run, rate limits and the audit log. Tests use a recorder
// (policies/policytest).
type Actions interface {
	// SetRole changes the role of the seat with this nick (voice, devoice).
	SetRole(ctx context.Context, nick string, r Role, why Reason) error
	// SetAffiliation changes the affiliation of a real bare JID
	// (member, none, outcast = ban, admin).
	SetAffiliation(ctx context.Context, who jid.JID, a Affiliation, why Reason) error
	// Kick removes the seat with this nick (role none, status 307).
	Kick(ctx context.Context, nick string, why Reason) error
	// Retract removes a groupchat message by its stanza-id (XEP-0425). It
	// returns ErrUnsupported when the room cannot moderate messages.
	Retract(ctx context.Context, stanzaID string, why Reason) error
	// Say sends a groupchat message to the room.
	Say(ctx context.Context, text string) error
	// Whisper sends a private message to a seat through the room.
	Whisper(ctx context.Context, nick, text string) error
	// Tell sends a direct message to a real JID (an applicant, an officer).
	Tell(ctx context.Context, to jid.JID, text string) error
	// NotifyOfficers tells every officer of the room by direct message.
	NotifyOfficers(ctx context.Context, text string) error
	// ConfigureRoom changes room config fields (muc#roomconfig_*); the bot
	// must be owner.
	ConfigureRoom(ctx context.Context, fields map[string][]string, why Reason) error
	// Schedule asks for TimerFired{Key: key} at or after at. Deadlines are
	// stored, so they survive restarts; scheduling a key again moves it.
	Schedule(ctx context.Context, key string, at time.Time) error
	// Cancel forgets a scheduled key; cancelling an unknown key is no error.
	Cancel(ctx context.Context, key string) error
	// Undo reverses the recorded actions that match f in this room and
	// returns how many were undone.
	Undo(ctx context.Context, f UndoFilter, why Reason) (int, error)
}

// UndoFilter selects audit records to undo. ID alone selects one record;
// otherwise Group (and Ref, when set) select every reversible record not yet
// undone, at or after Since.
type UndoFilter struct {
	ID    string
	Group string
	Ref   string
	Since time.Time
}

// Errors the executor returns. A command's sender is told the message.
var (
	// ErrGuarded: the target is an owner, admin, officer or the bot itself.
	ErrGuarded = errors.New("refused: Steward never acts against owners, admins, officers or itself")
	// ErrNotModerator: the bot lacks the privileges for this action.
	ErrNotModerator = errors.New("Steward is not a moderator here: make it admin to moderate")
	// ErrUnsupported: the room or server lacks the feature.
	ErrUnsupported = errors.New("the room does not support this")
	// ErrNoSuchOccupant: no seat with that nick.
	ErrNoSuchOccupant = errors.New("no occupant with that nick")
)
