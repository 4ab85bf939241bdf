package policies

import (
	"time"

	"mellium.im/xmpp/jid"
)

// Event is something that happened in one room. The set is closed (only this
// package defines events), so a policy's type switch can be reviewed.
type Event interface {
	Meta() EventMeta
	sealed()
}

// EventMeta is shared by all events.
type EventMeta struct {
	Room jid.JID   // bare room address
	At   time.Time // when the bot received or delivered it: a policy's "now"
	Seq  uint64    // order within the room
}

// Meta returns the shared part of an event.
func (m EventMeta) Meta() EventMeta { return m }

// LeaveReason says why an occupant left.
type LeaveReason string

// Why an occupant left (XEP-0045 status codes in brackets).
const (
	LeftVoluntarily LeaveReason = "left"
	LeftKicked      LeaveReason = "kicked"       // 307
	LeftBanned      LeaveReason = "banned"       // 301
	LeftAffiliation LeaveReason = "affiliation"  // 321
	LeftMembersOnly LeaveReason = "members-only" // 322
	LeftShutdown    LeaveReason = "shutdown"     // 332
	LeftDestroyed   LeaveReason = "destroyed"
)

// JoinedRoom is delivered when the bot has (re)joined the room and read its
// features; policies may sweep current occupants here.
type JoinedRoom struct {
	EventMeta
	Self Occupant
	// Rejoin is true after a reconnect or a rejoin, false on the first join
	// since the process started.
	Rejoin bool
}

// OccupantJoined is a new seat in the room (not a nick change).
type OccupantJoined struct {
	EventMeta
	Occupant Occupant
	// Initial is true for occupants already present when the bot joined.
	Initial bool
}

// OccupantLeft is a seat freed.
type OccupantLeft struct {
	EventMeta
	Occupant Occupant
	Why      LeaveReason
	Actor    string // nick of the moderator who kicked/banned, if told
	Reason   string
}

// NickChanged is a 303 nick change: the same seat under a new nick.
type NickChanged struct {
	EventMeta
	Occupant Occupant // with the new nick
	OldNick  string
}

// RoleChanged is a change of role while present.
type RoleChanged struct {
	EventMeta
	Occupant Occupant
	Old      Role
	Actor    string
	Reason   string
}

// AffiliationChanged is a change of affiliation seen in a presence or an
// affiliation-change message. Occupant.Nick is "" when the person is absent.
type AffiliationChanged struct {
	EventMeta
	Occupant Occupant
	Old      Affiliation
	Actor    string
	Reason   string
}

// MessageReceived is a live groupchat message from an occupant (not history,
// not the bot's own echo).
type MessageReceived struct {
	EventMeta
	From Occupant
	// ID is the room's XEP-0359 stanza-id (what XEP-0425 retracts), "" if
	// the room archives nothing.
	ID       string
	OriginID string
	Body     string
}

// PrivateMessage is a message to the bot that is not a command: a private
// message through the room (Via is true, From is the occupant) or a direct
// message from a real JID of someone present in this room.
type PrivateMessage struct {
	EventMeta
	From    Occupant
	FromJID jid.JID // the sender's real bare JID when known
	Via     bool    // sent through the room (room/nick)
	Body    string
}

// VoiceRequested is a XEP-0045 §7.13 voice request forwarded by the room.
type VoiceRequested struct {
	EventMeta
	// From is the requester as found in the bot's roster (it carries the
	// occupant-id the forwarded form lacks); Nick and RealJID are from the form.
	From    Occupant
	Nick    string
	RealJID jid.JID
	RealRaw string
}

// SubjectChanged is a new room subject.
type SubjectChanged struct {
	EventMeta
	By      string // nick
	Subject string
}

// ConfigChanged is a room configuration change (status 104/170/171/172/173/174).
type ConfigChanged struct {
	EventMeta
	Codes []int
}

// TimerFired is a deadline a policy scheduled. At >= Due; after downtime At
// is later than Due.
type TimerFired struct {
	EventMeta
	Key string
	Due time.Time
}

// CommandIssued tells policies that an authorised person ran a command in
// this room (for transcripts and audit-minded policies). The command itself is
// dispatched to its Run function, not through Handle.
type CommandIssued struct {
	EventMeta
	By   jid.JID
	Name string
	Args []string
}

// Notified is a signal from a process-wide service to every room, e.g. the
// RTBL service after a publish. Topic names the service; Payload is its own.
type Notified struct {
	EventMeta
	Topic   string
	Payload any
}

func (JoinedRoom) sealed()         {}
func (OccupantJoined) sealed()     {}
func (OccupantLeft) sealed()       {}
func (NickChanged) sealed()        {}
func (RoleChanged) sealed()        {}
func (AffiliationChanged) sealed() {}
func (MessageReceived) sealed()    {}
func (PrivateMessage) sealed()     {}
func (VoiceRequested) sealed()     {}
func (SubjectChanged) sealed()     {}
func (ConfigChanged) sealed()      {}
func (TimerFired) sealed()         {}
func (CommandIssued) sealed()      {}
func (Notified) sealed()           {}

// EventName returns a short stable name for metrics and logs.
func EventName(ev Event) string {
	switch ev.(type) {
	case JoinedRoom:
		return "joined_room"
	case OccupantJoined:
		return "occupant_joined"
	case OccupantLeft:
		return "occupant_left"
	case NickChanged:
		return "nick_changed"
	case RoleChanged:
		return "role_changed"
	case AffiliationChanged:
		return "affiliation_changed"
	case MessageReceived:
		return "message"
	case PrivateMessage:
		return "private_message"
	case VoiceRequested:
		return "voice_requested"
	case SubjectChanged:
		return "subject_changed"
	case ConfigChanged:
		return "config_changed"
	case TimerFired:
		return "timer_fired"
	case CommandIssued:
		return "command"
	case Notified:
		return "notified"
	}
	return "unknown"
}

// WithMeta returns ev with its metadata replaced by m.
func WithMeta(ev Event, m EventMeta) Event {
	switch e := ev.(type) {
	case JoinedRoom:
		e.EventMeta = m
		return e
	case OccupantJoined:
		e.EventMeta = m
		return e
	case OccupantLeft:
		e.EventMeta = m
		return e
	case NickChanged:
		e.EventMeta = m
		return e
	case RoleChanged:
		e.EventMeta = m
		return e
	case AffiliationChanged:
		e.EventMeta = m
		return e
	case MessageReceived:
		e.EventMeta = m
		return e
	case PrivateMessage:
		e.EventMeta = m
		return e
	case VoiceRequested:
		e.EventMeta = m
		return e
	case SubjectChanged:
		e.EventMeta = m
		return e
	case ConfigChanged:
		e.EventMeta = m
		return e
	case TimerFired:
		e.EventMeta = m
		return e
	case CommandIssued:
		e.EventMeta = m
		return e
	case Notified:
		e.EventMeta = m
		return e
	}
	return ev
}
