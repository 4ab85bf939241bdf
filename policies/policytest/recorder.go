package policytest

import (
	"context"
	"fmt"
	"strings"
	"time"

	"mellium.im/xmpp/jid"

	"github.com/steward-xmpp/steward/policies"
	"github.com/steward-xmpp/steward/store"
)

// Call is one recorded action.
type Call struct {
	Kind   string // role, affiliation, kick, retract, say, whisper, tell, notify, configure, schedule, cancel, undo
	Target string // nick, bare JID, stanza-id or timer key
	Value  string // role, affiliation, text, or time (RFC 3339)
	Why    policies.Reason
}

func (c Call) String() string {
	return fmt.Sprintf("%s(%s, %q)", c.Kind, c.Target, c.Value)
}

// Recorder implements policies.Actions by recording every call. Moderation
// calls also update the fake room, as the server would, and are appended to
// an in-memory audit log (so a policy reading its audit log sees them).
type Recorder struct {
	Calls  []Call
	Room   *Room
	Timers map[string]time.Time
	Audit  *Audit
	// Fail, when set, is returned by moderation calls (to test error paths).
	Fail error
	now  func() time.Time
}

var _ policies.Actions = (*Recorder)(nil)

func (r *Recorder) rec(c Call) { r.Calls = append(r.Calls, c) }

func (r *Recorder) audit(kind, target, nick, value, prev string, why policies.Reason) {
	if r.Audit == nil {
		return
	}
	r.Audit.add(store.AuditRecord{At: r.now(), Room: r.Room.JID.String(), Action: kind, TargetJID: target, TargetNick: nick, Value: value, Prev: prev, Public: why.Public, Private: why.Private, Group: why.Group, Ref: why.Ref, Result: "ok"})
}

func (r *Recorder) SetRole(_ context.Context, nick string, role policies.Role, why policies.Reason) error {
	r.rec(Call{Kind: "role", Target: nick, Value: string(role), Why: why})
	if r.Fail != nil {
		return r.Fail
	}
	o, ok := r.Room.Seats[nick]
	if !ok {
		return policies.ErrNoSuchOccupant
	}
	prev := o.Role
	o.Role = role
	if role == policies.RoleNone {
		delete(r.Room.Seats, nick)
	} else {
		r.Room.Seats[nick] = o
	}
	r.audit("role", o.BareString(), nick, string(role), string(prev), why)
	return nil
}

func (r *Recorder) SetAffiliation(_ context.Context, who jid.JID, a policies.Affiliation, why policies.Reason) error {
	bare := who.Bare().String()
	r.rec(Call{Kind: "affiliation", Target: bare, Value: string(a), Why: why})
	if r.Fail != nil {
		return r.Fail
	}
	prev := r.Room.Affiliation(bare)
	if a == policies.AffNone {
		delete(r.Room.Affs, bare)
	} else {
		r.Room.Affs[bare] = a
	}
	for nick, o := range r.Room.Seats {
		if strings.EqualFold(o.BareString(), bare) {
			if a == policies.AffOutcast {
				delete(r.Room.Seats, nick)
			} else {
				o.Affiliation = a
				r.Room.Seats[nick] = o
			}
		}
	}
	r.audit("affiliation", bare, "", string(a), string(prev), why)
	return nil
}

func (r *Recorder) Kick(_ context.Context, nick string, why policies.Reason) error {
	r.rec(Call{Kind: "kick", Target: nick, Why: why})
	if r.Fail != nil {
		return r.Fail
	}
	o, ok := r.Room.Seats[nick]
	if !ok {
		return policies.ErrNoSuchOccupant
	}
	delete(r.Room.Seats, nick)
	r.audit("kick", o.BareString(), nick, "none", string(o.Role), why)
	return nil
}

func (r *Recorder) Retract(_ context.Context, id string, why policies.Reason) error {
	r.rec(Call{Kind: "retract", Target: id, Why: why})
	if r.Room.Feat.Moderation == "" {
		return policies.ErrUnsupported
	}
	return r.Fail
}

func (r *Recorder) Say(_ context.Context, text string) error {
	r.rec(Call{Kind: "say", Value: text})
	return nil
}

func (r *Recorder) Whisper(_ context.Context, nick, text string) error {
	r.rec(Call{Kind: "whisper", Target: nick, Value: text})
	return nil
}

func (r *Recorder) Tell(_ context.Context, to jid.JID, text string) error {
	r.rec(Call{Kind: "tell", Target: to.String(), Value: text})
	return nil
}

func (r *Recorder) NotifyOfficers(_ context.Context, text string) error {
	r.rec(Call{Kind: "notify", Value: text})
	return nil
}

func (r *Recorder) ConfigureRoom(_ context.Context, fields map[string][]string, why policies.Reason) error {
	r.rec(Call{Kind: "configure", Value: fmt.Sprint(fields), Why: why})
	return r.Fail
}

func (r *Recorder) Schedule(_ context.Context, key string, at time.Time) error {
	r.rec(Call{Kind: "schedule", Target: key, Value: at.UTC().Format(time.RFC3339)})
	r.Timers[key] = at
	return nil
}

func (r *Recorder) Cancel(_ context.Context, key string) error {
	r.rec(Call{Kind: "cancel", Target: key})
	delete(r.Timers, key)
	return nil
}

// Undo reverses matching audit records of the fake audit log: roles and
// affiliations go back to Prev.
func (r *Recorder) Undo(ctx context.Context, f policies.UndoFilter, why policies.Reason) (int, error) {
	r.rec(Call{Kind: "undo", Target: f.ID + f.Group, Value: f.Ref, Why: why})
	if r.Audit == nil {
		return 0, nil
	}
	n := 0
	for i := range r.Audit.Records {
		rec := &r.Audit.Records[i]
		if rec.UndoneBy != "" || rec.Result != "ok" {
			continue
		}
		if f.ID != "" && rec.ID != f.ID {
			continue
		}
		if f.ID == "" && (f.Group == "" || rec.Group != f.Group || (f.Ref != "" && rec.Ref != f.Ref) || rec.At.Before(f.Since)) {
			continue
		}
		switch rec.Action {
		case "affiliation":
			prev := policies.Affiliation(rec.Prev)
			if prev == "" {
				prev = policies.AffNone
			}
			if prev == policies.AffNone {
				delete(r.Room.Affs, rec.TargetJID)
			} else {
				r.Room.Affs[rec.TargetJID] = prev
			}
			r.rec(Call{Kind: "affiliation", Target: rec.TargetJID, Value: string(prev), Why: why})
		case "role":
			r.rec(Call{Kind: "role", Target: rec.TargetNick, Value: rec.Prev, Why: why})
		default:
			continue
		}
		rec.UndoneBy = "undo"
		n++
	}
	return n, nil
}
