package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/steward-xmpp/steward/policies"
	"github.com/steward-xmpp/steward/store"
)

// Errors of Undo, matched with errors.Is; their messages are written for
// the person who asked.
var (
	// ErrUnknownAction: no audit record with that id in this room.
	ErrUnknownAction = errors.New("bot: no such action")
	// ErrAlreadyUndone: the record was reversed before.
	ErrAlreadyUndone = errors.New("bot: already undone")
	// ErrNotReversible: the record did nothing, or nothing can reverse it.
	ErrNotReversible = errors.New("bot: cannot be undone")
)

// Undo reverses the audit records of room selected by f: one record by ID,
// or every reversible record of f.Group (and f.Ref when set) at or after
// f.Since, newest first so that stacked changes unwind in order. Each
// reversal goes through Do (guards, rate limits and the audit log apply; its
// record has UndoOf set) and the original is then marked undone. actor is
// "policy:<name>" or a person's bare JID. It returns how many records were
// undone; in group mode it carries on past failures and joins their errors.
func (e *Executor) Undo(ctx context.Context, room RoomView, actor string, f policies.UndoFilter, why policies.Reason) (int, error) {
	policy, _ := strings.CutPrefix(actor, "policy:")
	if policy == actor {
		policy = ""
	}
	return e.undo(ctx, room, actor, policy, false, f, why)
}

func (e *Executor) undo(ctx context.Context, room RoomView, actor, policy string, dryRun bool, f policies.UndoFilter, why policies.Reason) (int, error) {
	addr := room.Addr().String()
	if f.ID != "" {
		rec, err := e.audit.Get(ctx, f.ID)
		switch {
		case errors.Is(err, store.ErrNotFound), err == nil && !strings.EqualFold(rec.Room, addr):
			return 0, &refusal{msg: fmt.Sprintf("there is no action %q in this room", f.ID), err: ErrUnknownAction}
		case err != nil:
			e.m.redisError("audit_get")
			return 0, fmt.Errorf("undo: read action %s: %w", f.ID, err)
		}
		if err := undoable(rec); err != nil {
			return 0, err
		}
		if err := e.reverse(ctx, room, actor, policy, dryRun, rec, why); err != nil {
			return 0, err
		}
		return 1, nil
	}
	if f.Group == "" {
		return 0, errors.New("undo: give an action id or a group")
	}
	recs, err := e.audit.ByGroup(ctx, addr, f.Group)
	if err != nil {
		e.m.redisError("audit_by_group")
		return 0, fmt.Errorf("undo: read group %s: %w", f.Group, err)
	}
	n := 0
	var errs []error
	for i := len(recs) - 1; i >= 0; i-- {
		r := recs[i]
		if (f.Ref != "" && r.Ref != f.Ref) || r.At.Before(f.Since) || r.UndoOf != "" || undoable(r) != nil {
			continue
		}
		if err := e.reverse(ctx, room, actor, policy, dryRun, r, why); err != nil {
			errs = append(errs, fmt.Errorf("action %s: %w", r.ID, err))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// undoable says why rec cannot be reversed, or nil.
func undoable(rec store.AuditRecord) error {
	no := func(format string, args ...any) error {
		return &refusal{msg: fmt.Sprintf(format, args...), err: ErrNotReversible}
	}
	if rec.UndoneBy != "" {
		return &refusal{msg: fmt.Sprintf("action %s was already undone (by action %s)", rec.ID, rec.UndoneBy), err: ErrAlreadyUndone}
	}
	switch rec.Result {
	case ResultOK:
	case ResultDryRun:
		return no("action %s was a dry-run: nothing was done, so there is nothing to undo", rec.ID)
	case ResultRefused:
		return no("action %s was refused: nothing was done, so there is nothing to undo", rec.ID)
	default:
		return no("action %s failed: nothing was done, so there is nothing to undo", rec.ID)
	}
	switch rec.Action {
	case KindAffiliation:
		return nil
	case KindRole:
		if rec.Value == string(policies.RoleNone) {
			return no("action %s was a kick: nothing can undo a kick (the person may simply rejoin)", rec.ID)
		}
		if rec.Prev == "" || rec.Prev == string(policies.RoleNone) {
			return no("action %s does not record the previous role, so it cannot be restored", rec.ID)
		}
		return nil
	case KindKick:
		return no("action %s was a kick: nothing can undo a kick (the person may simply rejoin)", rec.ID)
	case KindSay, KindWhisper, KindTell, KindNotify:
		return no("action %s sent a message: a sent message cannot be unsent", rec.ID)
	case KindRetract:
		return no("action %s retracted a message: a retracted message cannot be restored", rec.ID)
	case KindConfigure:
		return no("action %s changed the room configuration: change it back in the room's configuration form", rec.ID)
	}
	return no("action %s (%s) cannot be undone", rec.ID, rec.Action)
}

// reverse restores the role or affiliation rec changed, then marks rec undone.
func (e *Executor) reverse(ctx context.Context, room RoomView, actor, policy string, dryRun bool, rec store.AuditRecord, why policies.Reason) error {
	if why.Public == "" {
		why.Public = "undo of action " + rec.ID
	}
	req := Request{Actor: actor, Policy: policy, DryRun: dryRun, Kind: rec.Action, Why: why, UndoOf: rec.ID}
	switch rec.Action {
	case KindAffiliation:
		req.JID = rec.TargetJID
		req.Aff = policies.Affiliation(rec.Prev)
		if req.Aff == "" {
			req.Aff = policies.AffNone
		}
	case KindRole:
		o, ok := room.Occupant(rec.TargetNick)
		if !ok {
			return &refusal{msg: fmt.Sprintf("%s is not in the room any more, so their role cannot be restored", rec.TargetNick), err: ErrNotReversible}
		}
		// A nick is not an identity: restore only to the same person. When
		// the record has no JID (hidden real JIDs) the nick is all we have.
		if rec.TargetJID != "" && !strings.EqualFold(o.BareString(), rec.TargetJID) {
			return &refusal{msg: fmt.Sprintf("the nick %s now belongs to someone else, so the role is not restored", rec.TargetNick), err: ErrNotReversible}
		}
		req.Nick = rec.TargetNick
		req.Role = policies.Role(rec.Prev)
	}
	done, err := e.Do(ctx, room, req)
	if err != nil {
		return err
	}
	if dryRun {
		return nil
	}
	if err := e.audit.MarkUndone(ctx, rec.ID, done.ID); err != nil {
		e.m.redisError("audit_mark_undone")
		return fmt.Errorf("undo: action %s was reversed by %s but not marked undone: %w", rec.ID, done.ID, err)
	}
	return nil
}
