// Package proto is Steward's XMPP codec for MUC (XEP-0045), moderation
// (XEP-0425), self-ping (XEP-0410), disco and pubsub (XEP-0060, the RTBL).
//
// It is pure: no network, no session, no clock. Inbound, Decode turns one
// presence or message into plain Go values in a single pass; every address is
// kept as the raw string the server sent, because Prosody's stringprep accepts
// nicks that PRECIS (and so mellium's jid.Parse) rejects, and a moderation bot
// must still be able to act on such occupants. Outbound, each builder returns
// an xml.TokenReader: presences and messages as whole stanzas ready for
// Session.Send, IQ payloads ready to be wrapped by stanza.IQ{…}.Wrap or passed
// to Session.UnmarshalIQElement. Reply payloads (Form, DiscoInfo, AdminItems,
// PubsubReply) implement xml.Unmarshaler so they can be the target of
// UnmarshalIQElement.
//
// It deliberately does not track rooms or occupants, pick XEP-0425 versions
// for the caller, or hash RTBL entries (package rtbl does).
//
// Decoding never panics on hostile input; a stanza that is not well formed
// yields an error, one with unknown children decodes what it recognises:
//
//	in, err := proto.Decode(*start, r)
//	if err != nil {
//		return nil // log and drop: never fail the session
//	}
//	if p := in.Presence; p != nil && p.MUC && p.Has(proto.StatusSelf) {
//		// our own occupant
//	}
//
// Building:
//
//	s.Send(ctx, proto.JoinPresence("j1", "room@muc.example/Steward", "", 0))
//	s.UnmarshalIQElement(ctx, proto.RoleItem("mallory", "none", "spam"),
//		stanza.IQ{Type: stanza.SetIQ, To: room}, nil)
package proto
