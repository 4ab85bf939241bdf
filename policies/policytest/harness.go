// Package policytest runs one policy against a fake room, with a recorder for
// its actions and a fake clock that fires its timers. It is for unit tests
// of policies; end-to-end tests use the real bot, Prosody and Redis.
package policytest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
	"mellium.im/xmpp/jid"

	"github.com/steward-xmpp/steward/policies"
	"github.com/steward-xmpp/steward/store"
	"github.com/steward-xmpp/steward/store/memstore"
)

// Start is the harness clock's initial time: a Monday, 12:00 UTC.
var Start = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

// Harness drives one policy instance.
type Harness struct {
	T      testing.TB
	Policy policies.Policy
	Room   *Room
	Rec    *Recorder
	KV     store.KV
	Audit  *Audit
	Now    time.Time
	seq    uint64
	cmds   []policies.Command
	// Replies collects command replies, in order.
	Replies []string
}

// New builds the policy from spec with cfg (nil: the spec's defaults) in a
// fresh fake room "room@muc.example.org".
func New(t testing.TB, spec policies.Spec, cfg policies.Config) *Harness {
	t.Helper()
	if cfg == nil {
		cfg = spec.NewConfig()
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	h := &Harness{T: t, Room: NewRoom("room@muc.example.org"), KV: memstore.NewKV(), Audit: &Audit{}, Now: Start}
	h.Rec = &Recorder{Room: h.Room, Timers: map[string]time.Time{}, Audit: h.Audit, now: func() time.Time { return h.Now }}
	p, err := spec.New(cfg, policies.Deps{Room: h.Room.JID, Log: zaptest.NewLogger(t), KV: h.KV, Audit: h.Audit})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h.Policy = p
	h.cmds = append(h.cmds, spec.Commands...)
	if c, ok := p.(policies.Commander); ok {
		h.cmds = append(h.cmds, c.Commands()...)
	}
	return h
}

// Meta returns the metadata for the next event at the harness's now.
func (h *Harness) Meta() policies.EventMeta {
	h.seq++
	return policies.EventMeta{Room: h.Room.JID, At: h.Now, Seq: h.seq}
}

// Deliver hands ev to the policy (its meta is replaced by Meta()).
func (h *Harness) Deliver(ev policies.Event) policies.Verdict {
	h.T.Helper()
	ev = policies.WithMeta(ev, h.Meta())
	v, err := h.Policy.Handle(context.Background(), ev, h.Room, h.Rec)
	if err != nil {
		h.T.Fatalf("Handle(%s): %v", policies.EventName(ev), err)
	}
	return v
}

// DeliverErr is Deliver that returns the policy's error instead of failing.
func (h *Harness) DeliverErr(ev policies.Event) (policies.Verdict, error) {
	ev = policies.WithMeta(ev, h.Meta())
	return h.Policy.Handle(context.Background(), ev, h.Room, h.Rec)
}

// Occ builds an occupant with a real JID (nick@"domain" when jidStr has no @).
func Occ(nick, realJID string, role policies.Role) policies.Occupant {
	o := policies.Occupant{Nick: nick, Role: role, Affiliation: policies.AffNone, OccupantID: "oid-" + nick}
	if realJID != "" {
		if j, err := jid.Parse(realJID); err == nil {
			o.RealJID = j
		}
		o.RealRaw = realJID
	}
	return o
}

// Join seats o (JoinedAt/LastActive = now) and delivers OccupantJoined.
func (h *Harness) Join(o policies.Occupant) policies.Verdict {
	h.T.Helper()
	o.JoinedAt, o.LastActive = h.Now, h.Now
	h.Room.Put(o)
	return h.Deliver(policies.OccupantJoined{Occupant: o})
}

// Leave frees the seat and delivers OccupantLeft.
func (h *Harness) Leave(nick string) {
	h.T.Helper()
	o, ok := h.Room.Seats[nick]
	if !ok {
		h.T.Fatalf("Leave: no seat %q", nick)
	}
	delete(h.Room.Seats, nick)
	h.Deliver(policies.OccupantLeft{Occupant: o, Why: policies.LeftVoluntarily})
}

// Rename changes a seat's nick and delivers NickChanged.
func (h *Harness) Rename(old, nick string) policies.Verdict {
	h.T.Helper()
	o, ok := h.Room.Seats[old]
	if !ok {
		h.T.Fatalf("Rename: no seat %q", old)
	}
	delete(h.Room.Seats, old)
	o.Nick = nick
	h.Room.Seats[nick] = o
	return h.Deliver(policies.NickChanged{Occupant: o, OldNick: old})
}

// Say delivers a groupchat message from the seat.
func (h *Harness) Say(nick, body string) policies.Verdict {
	h.T.Helper()
	o := h.Room.Seats[nick]
	o.LastActive = h.Now
	h.Room.Seats[nick] = o
	return h.Deliver(policies.MessageReceived{From: o, ID: fmt.Sprintf("sid-%d", h.seq+1), Body: body})
}

// VoiceRequest delivers a voice request from the seat, as the room forwards it.
func (h *Harness) VoiceRequest(nick string) policies.Verdict {
	h.T.Helper()
	o := h.Room.Seats[nick]
	return h.Deliver(policies.VoiceRequested{From: o, Nick: nick, RealJID: o.RealJID, RealRaw: o.RealRaw})
}

// Private delivers a direct message from a real JID to the bot.
func (h *Harness) Private(from, body string) policies.Verdict {
	h.T.Helper()
	j := jid.MustParse(from)
	var o policies.Occupant
	if seats := h.Room.ByBareJID(j.Bare().String()); len(seats) > 0 {
		o = seats[0]
	}
	return h.Deliver(policies.PrivateMessage{From: o, FromJID: j.Bare(), Body: body})
}

// Command runs a command line (without "!") as the real JID from, at the
// level the fake room gives that JID, and returns the error Run returned.
// Replies are appended to h.Replies.
func (h *Harness) Command(from, line string, inRoom bool) error {
	h.T.Helper()
	words, err := policies.SplitArgs(line)
	if err != nil {
		return err
	}
	cmd, path, rest := policies.Find(h.cmds, words)
	if cmd == nil || cmd.Run == nil {
		return fmt.Errorf("policytest: no command %q", line)
	}
	fj := jid.MustParse(from).Bare()
	lvl := h.Room.LevelOf(fj.String())
	if lvl < cmd.Level {
		return fmt.Errorf("policytest: %s needs %s, %s is %s", path, cmd.Level, from, lvl)
	}
	nick := ""
	if seats := h.Room.ByBareJID(fj.String()); len(seats) > 0 {
		nick = seats[0].Nick
	}
	inv := policies.Invocation{
		Path: path, Args: rest, Text: policies.TextAfter(line, len(words)-len(rest)),
		From: fj, Nick: nick, InRoom: inRoom, Level: lvl, At: h.Now,
		Reply: func(_ context.Context, text string) error { h.Replies = append(h.Replies, text); return nil },
	}
	return cmd.Run(context.Background(), inv, h.Room, h.Rec)
}

// LastReply returns the newest command reply ("" if none).
func (h *Harness) LastReply() string {
	if len(h.Replies) == 0 {
		return ""
	}
	return h.Replies[len(h.Replies)-1]
}

// Advance moves the clock by d, delivering every timer that falls due, in
// deadline order, each with At == Due.
func (h *Harness) Advance(d time.Duration) {
	h.T.Helper()
	end := h.Now.Add(d)
	for {
		key, at, ok := h.nextTimer(end)
		if !ok {
			break
		}
		delete(h.Rec.Timers, key)
		if at.After(h.Now) {
			h.Now = at
		}
		h.Deliver(policies.TimerFired{Key: key, Due: at})
	}
	h.Now = end
}

func (h *Harness) nextTimer(end time.Time) (string, time.Time, bool) {
	type kt struct {
		k string
		t time.Time
	}
	var due []kt
	for k, t := range h.Rec.Timers {
		if !t.After(end) {
			due = append(due, kt{k, t})
		}
	}
	if len(due) == 0 {
		return "", time.Time{}, false
	}
	slices.SortFunc(due, func(a, b kt) int {
		if c := a.t.Compare(b.t); c != 0 {
			return c
		}
		return cmp.Compare(a.k, b.k)
	})
	return due[0].k, due[0].t, true
}

// Reset forgets recorded calls and replies.
func (h *Harness) Reset() { h.Rec.Calls = nil; h.Replies = nil }

// Calls returns the recorded calls of the given kinds (all when none given).
func (h *Harness) Calls(kinds ...string) []Call {
	var out []Call
	for _, c := range h.Rec.Calls {
		if len(kinds) == 0 || slices.Contains(kinds, c.Kind) {
			out = append(out, c)
		}
	}
	return out
}

// Want fails unless a call of kind to target exists whose Value contains
// value (any value when value is "").
func (h *Harness) Want(kind, target, value string) Call {
	h.T.Helper()
	for _, c := range h.Rec.Calls {
		if c.Kind == kind && (target == "" || c.Target == target) && strings.Contains(c.Value, value) {
			return c
		}
	}
	h.T.Fatalf("no %s(%s, ~%q) among calls:\n%s", kind, target, value, h.dump())
	return Call{}
}

// WantNone fails if any call of kind to target exists.
func (h *Harness) WantNone(kind, target string) {
	h.T.Helper()
	for _, c := range h.Rec.Calls {
		if c.Kind == kind && (target == "" || c.Target == target) {
			h.T.Fatalf("unexpected %s among calls:\n%s", c, h.dump())
		}
	}
}

func (h *Harness) dump() string {
	var b strings.Builder
	for _, c := range h.Rec.Calls {
		fmt.Fprintf(&b, "  %s\n", c)
	}
	return b.String()
}

// IsUsage reports whether err is a *policies.UsageError.
func IsUsage(err error) bool {
	var ue *policies.UsageError
	return errors.As(err, &ue)
}
