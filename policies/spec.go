package policies

import (
	"context"

	"go.uber.org/zap"
	"mellium.im/xmpp/jid"

	"github.com/steward-xmpp/steward/store"
)

// Verdict tells the room loop whether later policies should see the event.
type Verdict uint8

const (
	// Continue lets later policies see the event.
	Continue Verdict = iota
	// Stop hides the event from later policies. Use it only when the
	// occupant is being removed (e.g. rtbl banned the joiner).
	Stop
)

// Policy is one room's instance of a policy. The room's goroutine calls
// Handle one event at a time, so per-room state needs no locks.
type Policy interface {
	Handle(ctx context.Context, ev Event, room Room, act Actions) (Verdict, error)
}

// Commander is implemented by policies that add chat commands.
type Commander interface {
	Commands() []Command
}

// Reporter is implemented by policies that add a line to `status` (e.g.
// "3 pending voice requests"). It is called from the room's goroutine.
type Reporter interface {
	Report() string
}

// Closer is implemented by policies that hold resources; Close is called when
// the room is left or the policy is replaced by a reload.
type Closer interface {
	Close() error
}

// Privilege is what the bot needs in a room for a policy to act.
type Privilege int

// Privileges a policy may need. A policy whose need is not met still receives
// events, but the executor refuses its moderation actions and the room is
// told once what the bot needs.
const (
	NeedNothing Privilege = iota
	NeedModerator
	NeedAdmin
	NeedOwner
)

// Config is a policy's own config section (rooms[].policies.<name>, without
// the enabled and dry_run keys, which the bot handles). Validate reports every
// problem, each as a KeyError naming its key relative to the section.
type Config interface {
	Validate() error
}

// Deps is what the bot gives each policy instance.
type Deps struct {
	// Room is the room's bare JID.
	Room jid.JID
	// Log is already named after the policy and carries the room.
	Log *zap.Logger
	// KV is the policy's own durable state, already scoped to this policy
	// and room.
	KV store.KV
	// Audit reads the room's audit log (e.g. whether a JID was banned before).
	Audit store.AuditReader
}

// Spec declares a policy: its name, what the bot needs, how to build it.
type Spec struct {
	// Name is snake_case and is the key under rooms[].policies.
	Name string
	// Summary is one line, shown by `policy list`.
	Summary string
	// Needs is the privilege the policy needs to act.
	Needs Privilege
	// NewConfig returns a pointer to the defaults; YAML is decoded on top.
	NewConfig func() Config
	// New builds the room's instance; called once per room and on reload.
	New func(cfg Config, d Deps) (Policy, error)
	// Commands, when set, are commands that exist even where the policy is
	// not enabled (e.g. "request" must answer "vetting is off here").
	// Commands of an instance come from its Commander implementation.
	Commands []Command
}
