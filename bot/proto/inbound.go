package proto

import (
	"slices"
	"strings"
)

// Inbound is one decoded top-level stanza. Exactly one of Presence and
// Message is set for those stanza names; for any other name only the
// envelope is filled in.
type Inbound struct {
	// Name is the stanza's local name: "presence" or "message".
	Name string `json:"name"`
	// Type, ID, From and To are the envelope attributes as sent ("" when
	// absent). From and To are raw: they may not pass PRECIS.
	Type string `json:"type,omitempty"`
	ID   string `json:"id,omitempty"`
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`

	Presence *Presence `json:"presence,omitempty"`
	Message  *Message  `json:"message,omitempty"`
}

// Presence is a presence stanza with its MUC parts.
type Presence struct {
	// Type is the presence type; "" means available.
	Type string `json:"type,omitempty"`
	// MUC is true when the presence carries a muc#user <x>, i.e. it is an
	// occupant presence from a room. ejabberd precedes each self-exit with
	// a bare unavailable presence from the room that has none.
	MUC bool `json:"muc,omitempty"`
	// Items are the muc#user items (normally one).
	Items []Item `json:"items,omitempty"`
	// Codes are the muc#user status codes, in document order.
	Codes []int `json:"codes,omitempty"`
	// Destroy is set when the room was destroyed.
	Destroy *Destroy `json:"destroy,omitempty"`
	// OccupantID is the XEP-0421 occupant-id ("" when the room sends none,
	// e.g. ejabberd before 23.10).
	OccupantID string `json:"occupant_id,omitempty"`
	Show       string `json:"show,omitempty"`
	Status     string `json:"status,omitempty"`
	// Error is set for type="error".
	Error *Error `json:"error,omitempty"`
}

// Has reports whether the presence carries a muc#user status code.
func (p Presence) Has(code int) bool { return slices.Contains(p.Codes, code) }

// Item is a muc#user or muc#admin <item>.
type Item struct {
	Affiliation string `json:"affiliation,omitempty"`
	Role        string `json:"role,omitempty"`
	// JID is the occupant's real JID when the receiver may see it.
	JID    string `json:"jid,omitempty"`
	Nick   string `json:"nick,omitempty"`
	Reason string `json:"reason,omitempty"`
	// ActorNick and ActorJID name who kicked or banned.
	ActorNick string `json:"actor_nick,omitempty"`
	ActorJID  string `json:"actor_jid,omitempty"`
}

// Destroy is a muc#user <destroy>: the room is gone, maybe with a successor.
type Destroy struct {
	JID    string `json:"jid,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// Message is a message stanza with the parts Steward reads.
type Message struct {
	// Type is the message type, "normal" when the attribute is absent or
	// empty (RFC 6121 §5.2.2; ejabberd sends voice requests without one).
	Type string `json:"type"`
	Body string `json:"body,omitempty"`
	// Subject is nil when there is no <subject>; a pointer to "" for an
	// empty one (which ends the join history).
	Subject *string `json:"subject,omitempty"`
	Thread  string  `json:"thread,omitempty"`
	// StanzaID and StanzaIDBy are the XEP-0359 stanza-id; when several are
	// present, the one assigned by the sender's bare address (the room) wins.
	// Trust it only when StanzaIDBy is the room.
	StanzaID   string `json:"stanza_id,omitempty"`
	StanzaIDBy string `json:"stanza_id_by,omitempty"`
	OriginID   string `json:"origin_id,omitempty"`
	OccupantID string `json:"occupant_id,omitempty"`
	// Delayed is true for XEP-0203 delayed delivery (room history).
	Delayed    bool   `json:"delayed,omitempty"`
	DelayStamp string `json:"delay_stamp,omitempty"`
	// MUC is true when the message carries a muc#user <x> (status messages,
	// private messages through the room, mediated invites).
	MUC bool `json:"muc,omitempty"`
	// Codes are muc#user status codes in messages (104, 170, …).
	Codes []int `json:"codes,omitempty"`
	// Items are muc#user items in messages (e.g. affiliation changes of
	// users who are not in the room).
	Items []Item `json:"items,omitempty"`
	// VoiceRequest is a muc#request form forwarded by the room.
	VoiceRequest *VoiceRequest `json:"voice_request,omitempty"`
	// Invite is a mediated invitation (muc#user <invite>); the room is the
	// message's From.
	Invite *Invite `json:"invite,omitempty"`
	// DirectInvite is a jabber:x:conference <x>. Prosody also adds one to a
	// mediated invite, with the room as sender: that copy must not be taken
	// as an invite from an accepted inviter.
	DirectInvite *Invite      `json:"direct_invite,omitempty"`
	Event        *PubsubEvent `json:"event,omitempty"`
	Moderation   *Moderation  `json:"moderation,omitempty"`
	Error        *Error       `json:"error,omitempty"`
}

// Has reports whether the message carries a muc#user status code.
func (m Message) Has(code int) bool { return slices.Contains(m.Codes, code) }

// VoiceRequest is the muc#request form a room forwards to its moderators.
type VoiceRequest struct {
	// JID is the requester's full real JID (muc#jid); echo it back as is
	// when approving (ejabberd ignores a bare one).
	JID  string `json:"jid,omitempty"`
	Nick string `json:"nick,omitempty"`
	// Role is the requested role (muc#role), normally "participant".
	Role string `json:"role,omitempty"`
	// Allow is muc#request_allow.
	Allow bool `json:"allow,omitempty"`
	// Form holds every field of the form by var.
	Form map[string][]string `json:"form,omitempty"`
}

// Invite is an invitation, mediated (XEP-0045 §7.8.2) or direct (XEP-0249).
type Invite struct {
	Mediated bool `json:"mediated,omitempty"`
	// From is the inviter: <invite from> for a mediated invite (Prosody
	// gives the occupant JID in whois=moderators rooms, ejabberd the real
	// JID), the message's From for a direct one.
	From     string `json:"from,omitempty"`
	Room     string `json:"room,omitempty"`
	Reason   string `json:"reason,omitempty"`
	Password string `json:"password,omitempty"`
	Continue bool   `json:"continue,omitempty"`
	Thread   string `json:"thread,omitempty"`
}

// PubsubEvent is a pubsub#event notification (RTBL updates).
type PubsubEvent struct {
	Node     string       `json:"node,omitempty"`
	Items    []PubsubItem `json:"items,omitempty"`
	Retracts []string     `json:"retracts,omitempty"`
	// Purge and Delete report that every item of Node is gone.
	Purge  bool `json:"purge,omitempty"`
	Delete bool `json:"delete,omitempty"`
}

// PubsubItem is one pubsub item. For an RTBL the ID is the hash and the
// payload, if any, a XEP-0377 report.
type PubsubItem struct {
	ID        string `json:"id,omitempty"`
	Publisher string `json:"publisher,omitempty"`
	// ReportReason is the XEP-0377 reason URI (urn:xmpp:reporting:spam or
	// :abuse; a reporting:0 <spam/> or <abuse/> child is mapped to these).
	ReportReason string `json:"report_reason,omitempty"`
	ReportText   string `json:"report_text,omitempty"`
}

// Moderation is a room's broadcast that a message was moderated (XEP-0425),
// in the v0 (fasten:0 apply-to) or v1 (message-retract:1) shape.
type Moderation struct {
	// NS is the moderation namespace seen (NSModerate1 wins when a server
	// sends both shapes).
	NS string `json:"ns"`
	// ID is the stanza-id of the moderated message.
	ID string `json:"id,omitempty"`
	// By is the moderator's occupant JID when given (v0 always, v1 maybe).
	By string `json:"by,omitempty"`
	// ByOccupantID is the moderator's occupant-id when given.
	ByOccupantID string `json:"by_occupant_id,omitempty"`
	Reason       string `json:"reason,omitempty"`
	// Retract is true when the message was retracted (not just annotated).
	Retract bool `json:"retract,omitempty"`
}

// Error is a stanza error.
type Error struct {
	// Type is cancel, continue, modify, auth or wait.
	Type string `json:"type,omitempty"`
	// Condition is the defined condition's local name, e.g. "forbidden".
	Condition string `json:"condition,omitempty"`
	Text      string `json:"text,omitempty"`
	By        string `json:"by,omitempty"`
}

// Error renders the condition and text, e.g. "forbidden: You are banned".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Condition)
	if b.Len() == 0 {
		b.WriteString("stanza error")
		if e.Type != "" {
			b.WriteString(" (" + e.Type + ")")
		}
	}
	if e.Text != "" {
		b.WriteString(": " + e.Text)
	}
	return b.String()
}
