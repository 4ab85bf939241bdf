package policies

import (
	"strings"
	"time"

	"mellium.im/xmpp/jid"
)

// Role is an occupant's XEP-0045 role: it lasts for one visit.
type Role string

// The XEP-0045 roles.
const (
	RoleNone        Role = "none"
	RoleVisitor     Role = "visitor"
	RoleParticipant Role = "participant"
	RoleModerator   Role = "moderator"
)

// Valid reports whether r is one of the four XEP-0045 roles.
func (r Role) Valid() bool {
	switch r {
	case RoleNone, RoleVisitor, RoleParticipant, RoleModerator:
		return true
	}
	return false
}

// HasVoice reports whether the role may speak in a moderated room.
func (r Role) HasVoice() bool { return r == RoleParticipant || r == RoleModerator }

// Affiliation is a long-lived XEP-0045 affiliation kept by the room.
type Affiliation string

// The XEP-0045 affiliations.
const (
	AffNone    Affiliation = "none"
	AffOutcast Affiliation = "outcast"
	AffMember  Affiliation = "member"
	AffAdmin   Affiliation = "admin"
	AffOwner   Affiliation = "owner"
)

// Valid reports whether a is one of the five XEP-0045 affiliations.
func (a Affiliation) Valid() bool {
	switch a {
	case AffNone, AffOutcast, AffMember, AffAdmin, AffOwner:
		return true
	}
	return false
}

// Privileged reports whether a is admin or owner.
func (a Affiliation) Privileged() bool { return a == AffAdmin || a == AffOwner }

// Occupant is one seat in a room as the bot sees it. A person may hold several
// seats (one per client); a nick is not an identity, the real JID and the
// occupant-id are.
type Occupant struct {
	// Nick is the occupant's room nick exactly as the server sent it. It may
	// not be a valid PRECIS resourcepart (Prosody uses stringprep).
	Nick string
	// RealJID is the full real JID, when the room shows it to the bot and it
	// parses. It is the zero JID otherwise; RealRaw keeps the raw text.
	RealJID jid.JID
	// RealRaw is the real JID as the server sent it ("" when hidden).
	RealRaw string
	// OccupantID is the XEP-0421 occupant-id, "" if the room sends none.
	OccupantID  string
	Role        Role
	Affiliation Affiliation
	JoinedAt    time.Time
	LastActive  time.Time
}

// Bare returns the occupant's real bare JID, or the zero JID if unknown.
func (o Occupant) Bare() jid.JID {
	if o.RealJID.Equal(jid.JID{}) {
		return jid.JID{}
	}
	return o.RealJID.Bare()
}

// BareString returns the real bare JID as text, falling back to the raw
// attribute with its resource cut off, or "" when the real JID is hidden.
func (o Occupant) BareString() string {
	if b := o.Bare(); !b.Equal(jid.JID{}) {
		return b.String()
	}
	raw := o.RealRaw
	if i := strings.IndexByte(raw, '/'); i >= 0 {
		raw = raw[:i]
	}
	return strings.ToLower(raw)
}

// Domain returns the domainpart of the real JID ("" if unknown).
func (o Occupant) Domain() string {
	b := o.BareString()
	if i := strings.IndexByte(b, '@'); i >= 0 {
		return b[i+1:]
	}
	return b
}

// Identity is the most stable key the bot has for this person: the real bare
// JID, else the occupant-id, else the nick (weakest: nicks can be spoofed).
func (o Occupant) Identity() string {
	if b := o.BareString(); b != "" {
		return b
	}
	if o.OccupantID != "" {
		return "occupant-id:" + o.OccupantID
	}
	return "nick:" + o.Nick
}

// Features is what the bot knows about a room from disco#info and observed
// behaviour. Server differences live here, never as "if ejabberd" in policies.
type Features struct {
	Moderated     bool
	MembersOnly   bool
	SemiAnonymous bool // real JIDs visible to moderators only
	NonAnonymous  bool // real JIDs visible to everyone
	Password      bool
	Persistent    bool
	Public        bool
	// MaxOccupants is the seat cap when the room tells it, else 0.
	MaxOccupants int
	// VoiceRequests is true when the room advertises muc#request.
	VoiceRequests bool
	// Moderation is the XEP-0425 namespace the room speaks
	// ("urn:xmpp:message-moderate:0" or ":1"), "" when it has none.
	Moderation string
	// OccupantIDs is true when the room sends XEP-0421 occupant-ids.
	OccupantIDs bool
	// Raw lists every disco#info feature var as sent.
	Raw []string
}

// Level is a permission level for commands, checked by real bare JID.
type Level int

// Permission levels, lowest first.
const (
	Anyone Level = iota
	Member
	Officer
	Admin
	Owner
)

func (l Level) String() string {
	switch l {
	case Anyone:
		return "anyone"
	case Member:
		return "member"
	case Officer:
		return "officer"
	case Admin:
		return "admin"
	case Owner:
		return "owner"
	}
	return "unknown"
}

// Reason explains an action. Public is what people see (kick/ban reason, the
// text sent); Private goes to the audit log only. Group and Ref tie records
// together for bulk undo (e.g. Group "rtbl:xmppbl", Ref the item id).
type Reason struct {
	Public  string
	Private string
	Group   string
	Ref     string
}

// Because is shorthand for a Reason with only public text.
func Because(public string) Reason { return Reason{Public: public} }
