package proto

import (
	"encoding/xml"
	"strconv"
)

// Every stanza builder takes the stanza id first; "" leaves it out. Give an
// id to any stanza whose error reply you want to match (a join, a groupchat
// message that may bounce with forbidden).

func presence(id, to, typ string, children ...xml.TokenReader) xml.TokenReader {
	return elem("", "presence", attrs("id", id, "to", to, "type", typ), children...)
}

// InitialPresence is the account's available presence, without which a
// bare-JID pubsub subscription gets no events.
func InitialPresence() xml.TokenReader { return presence("", "", "") }

// JoinPresence joins a room as room/nick (to, raw). maxStanzas < 0 leaves
// history to the room's default; 0 asks for none, so that old messages are
// not handled as new. password "" sends none.
func JoinPresence(id, to, password string, maxStanzas int) xml.TokenReader {
	var hist xml.TokenReader
	if maxStanzas >= 0 {
		hist = elem("", "history", attrs("maxstanzas", strconv.Itoa(maxStanzas)))
	}
	return presence(id, to, "", elem(NSMUC, "x", nil, hist, textElem("password", password)))
}

// NickPresence changes the bot's nick: an available presence to room/newnick.
// (mellium's Channel.Join with muc.Nick sends it to the old nick, bug B3.)
func NickPresence(id, to string) xml.TokenReader { return presence(id, to, "") }

// UnavailablePresence leaves a room (to is room/nick) with an optional status.
func UnavailablePresence(id, to, status string) xml.TokenReader {
	return presence(id, to, "unavailable", textElem("status", status))
}

// TextMessage builds a message with a body. typ "" becomes "normal": mellium's
// stanza.Message writes type="" (bug B5) and Prosody drops such messages.
func TextMessage(id, to, typ, body string) xml.TokenReader {
	return message(id, to, typ, textElem("body", body))
}

func message(id, to, typ string, children ...xml.TokenReader) xml.TokenReader {
	if typ == "" {
		typ = "normal"
	}
	return elem("", "message", attrs("id", id, "to", to, "type", typ), children...)
}

// VoiceRequestForm is a visitor's voice request to a room (tests and
// scripted visitors): a submitted muc#request form asking for participant.
// It carries only muc#role, because ejabberd takes a form with more fields
// for an approval attempt.
func VoiceRequestForm(id, room string) xml.TokenReader {
	return message(id, room, "normal", SubmitForm(NSMUCRequest, map[string][]string{"muc#role": {"participant"}}))
}

// VoiceApproval grants a forwarded voice request by submitting the form back
// to the room with muc#request_allow=true. muc#jid is echoed verbatim (the
// full JID: ejabberd ignores a bare one). The role is always participant,
// whatever was requested, so that a forged request cannot make a moderator.
func VoiceApproval(id, room string, req VoiceRequest) xml.TokenReader {
	fields := map[string][]string{
		"muc#role":          {"participant"},
		"muc#jid":           {req.JID},
		"muc#request_allow": {"true"},
	}
	if req.Nick != "" {
		fields["muc#roomnick"] = []string{req.Nick}
	}
	return message(id, room, "normal", SubmitForm(NSMUCRequest, fields))
}

// DirectInviteMessage is a XEP-0249 invitation from the sender to to.
func DirectInviteMessage(id, to, room, reason string) xml.TokenReader {
	return message(id, to, "normal", elem(NSConference, "x", attrs("jid", room, "reason", reason)))
}

// MediatedInvite asks the room to invite to (XEP-0045 §7.8.2).
func MediatedInvite(id, room, to, reason string) xml.TokenReader {
	return message(id, room, "normal", elem(NSMUCUser, "x", nil,
		elem("", "invite", attrs("to", to), textElem("reason", reason))))
}
