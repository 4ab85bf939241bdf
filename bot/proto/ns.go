package proto

// Namespaces used by this package.
const (
	NSMUC           = "http://jabber.org/protocol/muc"
	NSMUCUser       = "http://jabber.org/protocol/muc#user"
	NSMUCAdmin      = "http://jabber.org/protocol/muc#admin"
	NSMUCOwner      = "http://jabber.org/protocol/muc#owner"
	NSMUCRequest    = "http://jabber.org/protocol/muc#request"
	NSMUCRoomConfig = "http://jabber.org/protocol/muc#roomconfig"
	NSMUCRoomInfo   = "http://jabber.org/protocol/muc#roominfo"
	NSConference    = "jabber:x:conference"
	NSData          = "jabber:x:data"
	NSDiscoInfo     = "http://jabber.org/protocol/disco#info"
	NSPing          = "urn:xmpp:ping"
	NSSID           = "urn:xmpp:sid:0"
	NSOccupantID    = "urn:xmpp:occupant-id:0"
	NSDelay         = "urn:xmpp:delay"
	NSFasten        = "urn:xmpp:fasten:0"
	NSModerate0     = "urn:xmpp:message-moderate:0"
	NSModerate1     = "urn:xmpp:message-moderate:1"
	NSRetract0      = "urn:xmpp:message-retract:0"
	NSRetract1      = "urn:xmpp:message-retract:1"
	NSPubsub        = "http://jabber.org/protocol/pubsub"
	NSPubsubEvent   = "http://jabber.org/protocol/pubsub#event"
	NSPubsubConfig  = "http://jabber.org/protocol/pubsub#node_config"
	NSReporting0    = "urn:xmpp:reporting:0"
	NSReporting1    = "urn:xmpp:reporting:1"
	NSStanzas       = "urn:ietf:params:xml:ns:xmpp-stanzas"
)

// XEP-0377 report reasons (urn:xmpp:reporting:1).
const (
	ReasonSpam  = "urn:xmpp:reporting:spam"
	ReasonAbuse = "urn:xmpp:reporting:abuse"
)

// MUC status codes (XEP-0045 §15.6) that Steward reacts to.
const (
	StatusRealJIDPublic   = 100 // any occupant may see real JIDs
	StatusConfigChanged   = 104 // room configuration changed (message)
	StatusSelf            = 110 // this presence is about the receiver
	StatusLoggingOn       = 170 // room logging (archiving) enabled
	StatusRoomCreated     = 201 // a new room was created and is locked
	StatusNickAssigned    = 210 // the service changed the joiner's nick
	StatusBanned          = 301
	StatusNickChanged     = 303
	StatusKicked          = 307
	StatusAffiliationLost = 321 // removed because of an affiliation change
	StatusMembersOnly     = 322 // removed because the room became members-only
	StatusShutdown        = 332 // removed because the service is shutting down
	StatusPingTimeout     = 333 // removed after a technical failure (Prosody)
)
