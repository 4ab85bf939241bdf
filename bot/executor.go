package bot

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"mellium.im/xmpp/jid"

	"github.com/steward-xmpp/steward/policies"
	"github.com/steward-xmpp/steward/store"
)

// Action kinds, as in Request.Kind and store.AuditRecord.Action.
const (
	KindRole        = "role"
	KindAffiliation = "affiliation"
	KindKick        = "kick"
	KindRetract     = "retract"
	KindSay         = "say"
	KindWhisper     = "whisper"
	KindTell        = "tell"
	KindNotify      = "notify"
	KindConfigure   = "configure"
)

// Audit results, as in store.AuditRecord.Result.
const (
	ResultOK      = "ok"
	ResultError   = "error"
	ResultRefused = "refused"
	ResultDryRun  = "dry-run"
)

// dryRunPrefix marks officer notifications sent on behalf of a policy in
// dry-run, so that officers see what it would have done.
const dryRunPrefix = "[dry-run] "

// auditTimeout bounds the audit write, which runs even when the action's
// context was cancelled: an action that was sent must be recorded.
const auditTimeout = 5 * time.Second

// Request is one action for the executor.
type Request struct {
	// Actor is "policy:<name>" or the real bare JID of the person who
	// commanded the action.
	Actor string
	// Policy is the policy's name, "" for a person's command.
	Policy string
	// DryRun records moderation and public speech as "would have" instead
	// of sending them; officer notifications are still sent, marked.
	DryRun bool
	// Kind is one of the Kind constants.
	Kind string
	// Nick is the target seat (role, kick, whisper) or, for retract, the
	// author of the message when known (so that the guards apply).
	Nick string
	// JID is the target's real bare JID (affiliation, tell; for retract,
	// the author when known).
	JID  string
	Role policies.Role
	Aff  policies.Affiliation
	// Text is the message for say, whisper, tell and notify.
	Text string
	// StanzaID is the XEP-0359 stanza-id to retract.
	StanzaID string
	// Fields are the muc#owner config fields to change.
	Fields map[string][]string
	Why    policies.Reason
	// Received is when the triggering stanza arrived, for the latency
	// histogram; zero means not observed.
	Received time.Time
	// UndoOf is the id of the record this action reverses.
	UndoOf string
}

// Executor is the one place where the bot acts. It resolves the target,
// checks the bot's privileges, applies the guards, dry-run and rate limits,
// sends through the Transport and writes the audit record. It is safe for
// concurrent use by every room's goroutine.
type Executor struct {
	tr    Transport
	audit store.Audit
	lim   *limiter
	m     *Metrics
	log   *zap.Logger
	// waiting counts stanzas queued behind the rate limits right now.
	waiting atomic.Int64
}

// NewExecutor returns an executor sending through tr and recording to audit.
// m may be nil.
func NewExecutor(tr Transport, audit store.Audit, lim Limits, m *Metrics, log *zap.Logger) *Executor {
	if log == nil {
		log = zap.NewNop()
	}
	return &Executor{tr: tr, audit: audit, lim: newLimiter(lim), m: m, log: log}
}

// ForgetRoom drops a room's rate-limit bucket, when the bot leaves it.
func (e *Executor) ForgetRoom(room jid.JID) { e.lim.forget(room.String()) }

// rateWait queues one stanza the bot sends outside Do (e.g. a room notice)
// behind the same rate limits.
func (e *Executor) rateWait(ctx context.Context, room jid.JID) error {
	e.waiting.Add(1)
	defer e.waiting.Add(-1)
	d, err := e.lim.wait(ctx, room.String())
	e.m.rateLimitWait(d)
	return err
}

// Waiting is how many stanzas wait behind the rate limits right now.
func (e *Executor) Waiting() int { return int(e.waiting.Load()) }

// Do performs one action and returns its audit record (with its ID) and the
// error, if any. A refused action returns a *GuardError or an error matching
// policies.ErrNotModerator, ErrUnsupported or ErrNoSuchOccupant; its message
// is meant for the person who asked.
func (e *Executor) Do(ctx context.Context, room RoomView, req Request) (store.AuditRecord, error) {
	rec := store.AuditRecord{
		At:      time.Now(),
		Room:    room.Addr().String(),
		Actor:   req.Actor,
		Policy:  req.Policy,
		Action:  req.Kind,
		Public:  req.Why.Public,
		Private: req.Why.Private,
		Group:   req.Why.Group,
		Ref:     req.Why.Ref,
		UndoOf:  req.UndoOf,
	}
	t, err := resolve(room, req, &rec)
	if err != nil {
		return e.refuse(ctx, req, rec, err, false)
	}
	if err := privileged(room, req); err != nil {
		if req.DryRun && req.Kind != KindNotify {
			// Still show what the policy would do, and why it could not.
			rec.Error = err.Error()
			return e.dryRun(ctx, req, rec)
		}
		return e.refuse(ctx, req, rec, err, false)
	}
	if err := guard(room, req, t); err != nil {
		return e.refuse(ctx, req, rec, err, true)
	}
	if req.DryRun && req.Kind != KindNotify {
		return e.dryRun(ctx, req, rec)
	}
	err = e.send(ctx, room, req)
	switch {
	case err != nil:
		rec.Result, rec.Error = ResultError, err.Error()
	case req.DryRun:
		rec.Result = ResultDryRun
	default:
		rec.Result = ResultOK
	}
	rec, aerr := e.record(ctx, req, rec)
	if err != nil {
		e.log.Warn("action failed", append(fields(req, rec), zap.Error(err))...)
		return rec, fmt.Errorf("%s: %w", req.Kind, err)
	}
	if aerr != nil {
		return rec, fmt.Errorf("%s was done but not audited: %w", req.Kind, aerr)
	}
	e.log.Info("action done", fields(req, rec)...)
	return rec, nil
}

// resolve fills the target fields of rec and validates req.
func resolve(room RoomView, req Request, rec *store.AuditRecord) (target, error) {
	var t target
	byNick := func(nick string, required bool) error {
		t.nick = nick
		rec.TargetNick = nick
		if nick == "" {
			if required {
				return errors.New("no nick given")
			}
			return nil
		}
		o, ok := room.Occupant(nick)
		if !ok {
			if required {
				return &refusal{msg: fmt.Sprintf("no occupant with the nick %q", nick), err: policies.ErrNoSuchOccupant}
			}
			return nil
		}
		t.occ, t.hasOcc = o, true
		t.prevRole = o.Role
		t.bare = strings.ToLower(o.BareString())
		return nil
	}
	byJID := func(bare string, required bool) error {
		if bare == "" {
			if required {
				return errors.New("no JID given")
			}
			return nil
		}
		if t.bare == "" {
			bare, _, _ = strings.Cut(bare, "/")
			t.bare = strings.ToLower(bare)
		}
		return nil
	}
	var err error
	switch req.Kind {
	case KindRole:
		if !req.Role.Valid() {
			return t, fmt.Errorf("invalid role %q", req.Role)
		}
		err = byNick(req.Nick, true)
		rec.Value = string(req.Role)
	case KindKick:
		err = byNick(req.Nick, true)
		rec.Value = string(policies.RoleNone)
	case KindAffiliation:
		if !req.Aff.Valid() {
			return t, fmt.Errorf("invalid affiliation %q", req.Aff)
		}
		err = byJID(req.JID, true)
		rec.Value = string(req.Aff)
	case KindRetract:
		if req.StanzaID == "" {
			return t, errors.New("no stanza-id given")
		}
		err = errors.Join(byNick(req.Nick, false), byJID(req.JID, false))
		rec.Value = req.StanzaID
	case KindSay, KindNotify:
		rec.Value = req.Text
	case KindWhisper:
		err = byNick(req.Nick, true)
		rec.Value = req.Text
	case KindTell:
		err = byJID(req.JID, true)
		rec.Value = req.Text
	case KindConfigure:
		if len(req.Fields) == 0 {
			return t, errors.New("no config fields given")
		}
		rec.Value = formatFields(req.Fields)
	default:
		return t, fmt.Errorf("unknown action kind %q", req.Kind)
	}
	if err != nil {
		return t, err
	}
	switch req.Kind {
	case KindSay, KindWhisper, KindTell, KindNotify:
		if req.Text == "" {
			return t, errors.New("empty message")
		}
	}
	rec.TargetJID = t.bare
	if t.bare != "" {
		t.seats = room.ByBareJID(t.bare)
		t.prevAff = room.Affiliation(t.bare)
		for _, o := range t.seats {
			t.prevAff = higherAff(t.prevAff, o.Affiliation)
		}
		if rec.TargetNick == "" && len(t.seats) > 0 && req.Kind == KindAffiliation {
			rec.TargetNick = t.seats[0].Nick
		}
	} else if t.hasOcc {
		t.prevAff = t.occ.Affiliation
	}
	switch req.Kind {
	case KindRole, KindKick:
		rec.Prev = string(t.prevRole)
	case KindAffiliation:
		rec.Prev = string(t.prevAff)
	}
	return t, nil
}

// privileged checks that the bot can do req in room at all.
func privileged(room RoomView, req Request) error {
	switch req.Kind {
	case KindRole, KindKick, KindAffiliation, KindRetract:
		if !room.Moderating() {
			return policies.ErrNotModerator
		}
	case KindConfigure:
		if room.Self().Affiliation != policies.AffOwner {
			return &refusal{msg: "Steward is not owner here: make it owner to change the room configuration", err: policies.ErrNotModerator}
		}
	}
	switch {
	case req.Kind == KindAffiliation && req.Aff.Privileged() && room.Self().Affiliation != policies.AffOwner:
		return &refusal{msg: "only a room owner can make admins or owners, and Steward is not owner here", err: policies.ErrNotModerator}
	case req.Kind == KindRetract && room.Features().Moderation == "":
		return &refusal{msg: "this room/server does not support XEP-0425 message moderation", err: policies.ErrUnsupported}
	}
	return nil
}

// send puts req on the wire, one stanza at a time behind the rate limits.
func (e *Executor) send(ctx context.Context, room RoomView, req Request) error {
	addr := room.Addr()
	first := true
	wait := func() error {
		if err := e.rateWait(ctx, addr); err != nil {
			return err
		}
		if first && !req.Received.IsZero() {
			e.m.actionLatency(time.Since(req.Received))
		}
		first = false
		return nil
	}
	why := req.Why.Public
	if req.Kind == KindNotify {
		text := req.Text
		if req.DryRun {
			text = dryRunPrefix + text
		}
		var errs []error
		for _, o := range room.Officers() {
			if err := wait(); err != nil {
				return errors.Join(append(errs, err)...)
			}
			if err := e.tr.SendDirect(ctx, o, text); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", o, err))
			}
		}
		return errors.Join(errs...)
	}
	if err := wait(); err != nil {
		return err
	}
	switch req.Kind {
	case KindRole:
		return e.tr.SetRole(ctx, addr, req.Nick, req.Role, why)
	case KindKick:
		return e.tr.SetRole(ctx, addr, req.Nick, policies.RoleNone, why)
	case KindAffiliation:
		return e.tr.SetAffiliation(ctx, addr, req.JID, req.Aff, why)
	case KindRetract:
		return e.tr.Retract(ctx, addr, room.Features().Moderation, req.StanzaID, why)
	case KindSay:
		return e.tr.SendGroupchat(ctx, addr, req.Text)
	case KindWhisper:
		return e.tr.SendPrivate(ctx, addr, req.Nick, req.Text)
	case KindTell:
		return e.tr.SendDirect(ctx, req.JID, req.Text)
	case KindConfigure:
		return e.tr.Configure(ctx, addr, req.Fields)
	}
	return fmt.Errorf("unknown action kind %q", req.Kind)
}

// refuse audits and logs an action that was not sent.
func (e *Executor) refuse(ctx context.Context, req Request, rec store.AuditRecord, err error, guarded bool) (store.AuditRecord, error) {
	rec.Result, rec.Error = ResultRefused, err.Error()
	rec, _ = e.record(ctx, req, rec)
	if guarded {
		e.log.Warn("action refused by the guards", append(fields(req, rec), zap.Error(err))...)
	} else {
		e.log.Info("action refused", append(fields(req, rec), zap.Error(err))...)
	}
	return rec, err
}

// dryRun audits and logs what would have been done.
func (e *Executor) dryRun(ctx context.Context, req Request, rec store.AuditRecord) (store.AuditRecord, error) {
	rec.Result = ResultDryRun
	rec, _ = e.record(ctx, req, rec)
	e.log.Info("would have acted (dry-run)", fields(req, rec)...)
	return rec, nil
}

// record appends rec to the audit log and counts the outcome. An audit
// failure is logged and counted here; callers decide whether to report it.
func (e *Executor) record(ctx context.Context, req Request, rec store.AuditRecord) (store.AuditRecord, error) {
	e.m.action(policyLabel(req), req.Kind, rec.Result)
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), auditTimeout)
	defer cancel()
	saved, err := e.audit.Append(actx, rec)
	if err != nil {
		e.m.redisError("audit_append")
		e.log.Error("audit record not written", append(fields(req, rec), zap.Error(err))...)
		return rec, err
	}
	return saved, nil
}

func policyLabel(req Request) string {
	if req.Policy == "" {
		return "command"
	}
	return req.Policy
}

func fields(req Request, rec store.AuditRecord) []zap.Field {
	return []zap.Field{
		zap.String("room", rec.Room),
		zap.String("actor", req.Actor),
		zap.String("policy", req.Policy),
		zap.String("kind", req.Kind),
		zap.String("nick", rec.TargetNick),
		zap.String("jid", rec.TargetJID),
		zap.String("value", rec.Value),
		zap.String("audit_id", rec.ID),
	}
}

// formatFields renders config fields for the audit log, in a stable order.
func formatFields(f map[string][]string) string {
	var b strings.Builder
	for i, k := range slices.Sorted(maps.Keys(f)) {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(strings.Join(f[k], ","))
	}
	return b.String()
}
