package bot

import (
	"context"

	"mellium.im/xmpp/jid"

	"github.com/steward-xmpp/steward/policies"
)

// Transport is what the executor needs from XMPP: every outgoing moderation
// stanza goes through it. The live implementation sends over the current
// bot/xmppc session; unit tests use a fake.
type Transport interface {
	// SetRole sends a muc#admin role change (participant = voice,
	// visitor = devoice, none = kick) and waits for the IQ result.
	SetRole(ctx context.Context, room jid.JID, nick string, role policies.Role, reason string) error
	// SetAffiliation sends a muc#admin affiliation change for a bare JID
	// (given as text: it may not pass PRECIS) and waits for the result.
	SetAffiliation(ctx context.Context, room jid.JID, bare string, aff policies.Affiliation, reason string) error
	// Retract moderates a message with XEP-0425 in the namespace ns
	// ("urn:xmpp:message-moderate:0" or ":1").
	Retract(ctx context.Context, room jid.JID, ns, stanzaID, reason string) error
	// SendGroupchat sends a groupchat message to the room.
	SendGroupchat(ctx context.Context, room jid.JID, body string) error
	// SendPrivate sends a chat message to room/nick (nick as text).
	SendPrivate(ctx context.Context, room jid.JID, nick, body string) error
	// SendDirect sends a chat message to a real JID.
	SendDirect(ctx context.Context, to string, body string) error
	// Configure submits changed muc#owner config fields.
	Configure(ctx context.Context, room jid.JID, fields map[string][]string) error
}

// RoomView is what the executor reads of a room to apply its guards: the
// policies.Room view plus the bot's own bare JID.
type RoomView interface {
	policies.Room
}
