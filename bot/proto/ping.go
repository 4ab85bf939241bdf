package proto

import (
	"encoding/xml"
	"errors"

	"mellium.im/xmpp/stanza"
)

// PingPayload is a XEP-0199 ping (IQ get). Sent to the bot's own occupant
// JID it is a XEP-0410 self-ping.
func PingPayload() xml.TokenReader { return elem(NSPing, "ping", nil) }

// SelfPingVerdict interprets the outcome of a self-ping (XEP-0410 §3.2):
//   - nil: still joined;
//   - service-unavailable, feature-not-implemented: joined (the room
//     forwarded the ping to our client, which does not answer pings);
//   - remote-server-not-found, remote-server-timeout, or any error that is
//     not a stanza error (our own timeout): unknown, treated as joined so
//     that a slow server does not cause rejoin storms; the connection's own
//     ping watchdog handles a dead server;
//   - any other stanza error (not-acceptable, item-not-found, …): not joined,
//     rejoin.
//
// Both mellium's stanza.Error and this package's *Error are understood.
func SelfPingVerdict(err error) (stillJoined bool) {
	if err == nil {
		return true
	}
	var cond string
	var se stanza.Error
	var pe *Error
	switch {
	case errors.As(err, &se):
		cond = string(se.Condition)
	case errors.As(err, &pe):
		cond = pe.Condition
	default:
		return true
	}
	switch cond {
	case "service-unavailable", "feature-not-implemented",
		"remote-server-not-found", "remote-server-timeout":
		return true
	}
	return false
}
