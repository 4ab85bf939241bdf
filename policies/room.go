package policies

import (
	"iter"

	"mellium.im/xmpp/jid"
)

// Room is a read-only view of one room as the bot sees it, valid for the
// duration of one Handle or command call (it belongs to the room's goroutine).
type Room interface {
	// Addr is the room's bare JID.
	Addr() jid.JID
	// Self is the bot's own seat.
	Self() Occupant
	// Occupant looks a seat up by its exact nick.
	Occupant(nick string) (Occupant, bool)
	// ByBareJID returns every seat held by one real bare JID.
	ByBareJID(bare string) []Occupant
	// ByOccupantID looks a seat up by XEP-0421 occupant-id.
	ByOccupantID(id string) (Occupant, bool)
	// Occupants yields every seat, in no particular order.
	Occupants() iter.Seq[Occupant]
	// Len is the number of seats taken, the bot's included.
	Len() int
	// Features is what disco#info and observation told about the room.
	Features() Features
	// Moderating reports whether the bot is admin or owner here; otherwise
	// it only observes.
	Moderating() bool
	// Affiliation is the affiliation the bot knows for a real bare JID
	// (from presences and the lists it could read), AffNone if unknown.
	Affiliation(bare string) Affiliation
	// Affiliated yields every bare JID with a known affiliation other than
	// none, e.g. to report listed members.
	Affiliated() iter.Seq2[string, Affiliation]
	// IsOfficer reports whether a real bare JID is one of the room's officers.
	IsOfficer(bare string) bool
	// Officers lists the room's officers' bare JIDs.
	Officers() []string
	// LevelOf is the command permission level of a real bare JID here.
	LevelOf(bare string) Level
}
