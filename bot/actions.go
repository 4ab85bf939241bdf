package bot

import (
	"context"
	"errors"
	"time"

	"mellium.im/xmpp/jid"

	"github.com/steward-xmpp/steward/policies"
)

// TimerSetter stores a policy's deadlines; the Scheduler implements it.
type TimerSetter interface {
	Schedule(ctx context.Context, room, policy, key string, at time.Time) error
	Cancel(ctx context.Context, room, policy, key string) error
}

// errNoTimers is returned by Schedule and Cancel of Actions built without a
// TimerSetter.
var errNoTimers = errors.New("bot: timers are not available here")

// Actions returns the policies.Actions of one actor in one room: every call
// becomes a Request to Do, stamped with actor and policy. received is when
// the triggering stanza arrived (zero if none). In dry-run, moderation and
// public speech are only audited, while Schedule and Cancel still work, so
// that a policy's state machine advances exactly as it would live.
func (e *Executor) Actions(room RoomView, actor, policy string, dryRun bool, timers TimerSetter, received time.Time) policies.Actions {
	return &actions{e: e, room: room, actor: actor, policy: policy, dryRun: dryRun, timers: timers, received: received}
}

type actions struct {
	e        *Executor
	room     RoomView
	actor    string
	policy   string
	dryRun   bool
	timers   TimerSetter
	received time.Time
}

var _ policies.Actions = (*actions)(nil)

func (a *actions) do(ctx context.Context, req Request) error {
	req.Actor, req.Policy, req.DryRun, req.Received = a.actor, a.policy, a.dryRun, a.received
	_, err := a.e.Do(ctx, a.room, req)
	return err
}

func (a *actions) SetRole(ctx context.Context, nick string, r policies.Role, why policies.Reason) error {
	return a.do(ctx, Request{Kind: KindRole, Nick: nick, Role: r, Why: why})
}

func (a *actions) SetAffiliation(ctx context.Context, who jid.JID, aff policies.Affiliation, why policies.Reason) error {
	return a.do(ctx, Request{Kind: KindAffiliation, JID: who.Bare().String(), Aff: aff, Why: why})
}

func (a *actions) Kick(ctx context.Context, nick string, why policies.Reason) error {
	return a.do(ctx, Request{Kind: KindKick, Nick: nick, Why: why})
}

// Retract names no author, so the guards cannot apply; commands that know
// the author call Do with Nick or JID set.
func (a *actions) Retract(ctx context.Context, stanzaID string, why policies.Reason) error {
	return a.do(ctx, Request{Kind: KindRetract, StanzaID: stanzaID, Why: why})
}

func (a *actions) Say(ctx context.Context, text string) error {
	return a.do(ctx, Request{Kind: KindSay, Text: text})
}

func (a *actions) Whisper(ctx context.Context, nick, text string) error {
	return a.do(ctx, Request{Kind: KindWhisper, Nick: nick, Text: text})
}

func (a *actions) Tell(ctx context.Context, to jid.JID, text string) error {
	return a.do(ctx, Request{Kind: KindTell, JID: to.String(), Text: text})
}

func (a *actions) NotifyOfficers(ctx context.Context, text string) error {
	return a.do(ctx, Request{Kind: KindNotify, Text: text})
}

func (a *actions) ConfigureRoom(ctx context.Context, fields map[string][]string, why policies.Reason) error {
	return a.do(ctx, Request{Kind: KindConfigure, Fields: fields, Why: why})
}

func (a *actions) Schedule(ctx context.Context, key string, at time.Time) error {
	if a.timers == nil {
		return errNoTimers
	}
	return a.timers.Schedule(ctx, a.room.Addr().String(), a.policy, key, at)
}

func (a *actions) Cancel(ctx context.Context, key string) error {
	if a.timers == nil {
		return errNoTimers
	}
	return a.timers.Cancel(ctx, a.room.Addr().String(), a.policy, key)
}

func (a *actions) Undo(ctx context.Context, f policies.UndoFilter, why policies.Reason) (int, error) {
	return a.e.undo(ctx, a.room, a.actor, a.policy, a.dryRun, f, why)
}
