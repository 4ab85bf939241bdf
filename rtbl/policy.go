package rtbl

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"
	"mellium.im/xmpp/jid"

	"github.com/steward-xmpp/steward/policies"
	"github.com/steward-xmpp/steward/store"
)

// nsRoomExempt is the policy's own (room-scoped) KV namespace for
// exemptions: bare JID or domain -> note.
const nsRoomExempt = "exempt"

// Spec registers the rtbl policy over the process-wide service s. s may be
// nil only to decode and validate configs (README and config checks).
func Spec(s *Service) policies.Spec {
	return policies.Spec{
		Name:    "rtbl",
		Summary: "ban, kick or devoice people listed on real-time block lists",
		Needs:   policies.NeedModerator,
		NewConfig: func() policies.Config {
			c := Defaults()
			if s != nil {
				c.known = []string{}
				for _, l := range s.Lists() {
					c.known = append(c.known, l.Name)
				}
			}
			return c
		},
		New: func(c policies.Config, d policies.Deps) (policies.Policy, error) {
			if s == nil {
				return nil, errors.New("rtbl: no service")
			}
			return New(s, *c.(*Config), d), nil
		},
		Commands: commands(s),
	}
}

// Policy is one room's rtbl instance.
type Policy struct {
	svc   *Service
	cfg   Config
	room  string
	log   *zap.Logger
	kv    store.KV
	audit store.AuditReader

	// checked holds the bare JIDs present and already checked, so that a
	// nick change or a message does not hash again. Entries go when the
	// person's last seat leaves.
	checked map[string]struct{}
	// exempt is the room's exemptions, loaded from kv; exemptLoaded false
	// means the load failed and is retried on the next event.
	exempt       map[string]string
	exemptLoaded bool
	scratch      []Hit
}

var (
	_ policies.Policy = (*Policy)(nil)
	_ policies.Closer = (*Policy)(nil)
)

// New builds the room's instance and loads its exemptions.
func New(s *Service, cfg Config, d policies.Deps) *Policy {
	p := &Policy{
		svc: s, cfg: cfg, room: d.Room.String(), log: d.Log, kv: d.KV, audit: d.Audit,
		checked: map[string]struct{}{}, exempt: map[string]string{}, scratch: make([]Hit, 0, 4),
	}
	if p.log == nil {
		p.log = zap.NewNop()
	}
	// Loaded here, not on the first join: a join must not wait on Redis.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p.loadExempt(ctx)
	s.register(p.room, p)
	return p
}

// Close unregisters the instance from the service.
func (p *Policy) Close() error {
	p.svc.unregister(p.room, p)
	return nil
}

func (p *Policy) loadExempt(ctx context.Context) {
	if p.kv == nil {
		p.exemptLoaded = true
		return
	}
	raw, err := p.kv.All(ctx, nsRoomExempt)
	if err != nil {
		p.log.Warn("rtbl room exemptions not loaded; retrying on the next event", zap.Error(err))
		return
	}
	for k, v := range raw {
		p.exempt[k] = string(v)
	}
	p.exemptLoaded = true
}

// Handle checks joiners and sweeps the room when a list grows.
func (p *Policy) Handle(ctx context.Context, ev policies.Event, room policies.Room, act policies.Actions) (policies.Verdict, error) {
	if !p.exemptLoaded {
		p.loadExempt(ctx)
	}
	switch e := ev.(type) {
	case policies.OccupantJoined:
		return p.check(ctx, e.Occupant, room, act)
	case policies.NickChanged:
		if !p.isChecked(e.Occupant) {
			return p.check(ctx, e.Occupant, room, act)
		}
	case policies.MessageReceived:
		if !p.isChecked(e.From) {
			return p.check(ctx, e.From, room, act)
		}
	case policies.OccupantLeft:
		if b := e.Occupant.BareString(); b != "" && len(room.ByBareJID(b)) == 0 {
			delete(p.checked, b)
		}
	case policies.JoinedRoom:
		return policies.Continue, p.sweepUnchecked(ctx, room, act)
	case policies.Notified:
		switch pl := e.Payload.(type) {
		case Published:
			return policies.Continue, p.onPublished(ctx, pl, room, act)
		case *Published:
			return policies.Continue, p.onPublished(ctx, *pl, room, act)
		case Retracted:
			return policies.Continue, p.onRetracted(ctx, pl, act)
		case *Retracted:
			return policies.Continue, p.onRetracted(ctx, *pl, act)
		}
	}
	return policies.Continue, nil
}

func (p *Policy) isChecked(o policies.Occupant) bool {
	b := o.BareString()
	if b == "" {
		return true // nothing to check with
	}
	_, ok := p.checked[b]
	return ok
}

// check is the join path: hash twice, look up every list, act on the first
// apply hit. Occupants whose real JID is hidden cannot be checked.
func (p *Policy) check(ctx context.Context, o policies.Occupant, room policies.Room, act policies.Actions) (policies.Verdict, error) {
	bare := o.BareString()
	if bare == "" {
		return policies.Continue, nil
	}
	p.checked[bare] = struct{}{}
	hits := p.svc.AppendMatches(p.scratch[:0], bare)
	p.scratch = hits[:0]
	hits = p.followed(hits)
	if len(hits) == 0 {
		return policies.Continue, nil
	}
	if why := p.exemptWhy(o, bare, room); why != "" {
		p.log.Info("rtbl match exempt", zap.String("jid", bare), zap.String("list", hits[0].List), zap.String("why", why))
		return policies.Continue, nil
	}
	for _, h := range hits {
		if h.Mode == ModeApply {
			return p.apply(ctx, o, bare, h, room, act)
		}
	}
	for _, h := range hits {
		p.svc.countHit(h.List)
	}
	return policies.Continue, act.NotifyOfficers(ctx, alertText(o.Nick, bare, hits))
}

// followed keeps, in place, the hits of lists this room follows.
func (p *Policy) followed(hits []Hit) []Hit {
	if len(p.cfg.Lists) == 0 {
		return hits
	}
	out := hits[:0]
	for _, h := range hits {
		if p.cfg.follows(h.List) {
			out = append(out, h)
		}
	}
	return out
}

func alertText(nick, bare string, hits []Hit) string {
	var b strings.Builder
	fmt.Fprintf(&b, "RTBL alert: %s (%s) is listed", nick, bare)
	for i, h := range hits {
		if i > 0 {
			b.WriteString(";")
		}
		fmt.Fprintf(&b, " on %s (%s, item %s: %s)", h.List, what(h), short(h.ItemID), h.Reason)
	}
	b.WriteString(". No action taken: the list is in alert mode.")
	return b.String()
}

func what(h Hit) string {
	if h.Domain {
		return "whole server"
	}
	return "JID"
}

// short is the first 12 hex digits of an item id, enough to find it.
func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// exemptWhy returns why bare must not be actioned here, "" if it may be.
// Exemptions win over every list.
func (p *Policy) exemptWhy(o policies.Occupant, bare string, room policies.Room) string {
	if strings.EqualFold(bare, room.Self().BareString()) {
		return "Steward itself"
	}
	if room.IsOfficer(bare) {
		return "officer"
	}
	aff := room.Affiliation(bare)
	if o.Affiliation.Privileged() || aff.Privileged() {
		return "admin or owner"
	}
	if (o.Affiliation == policies.AffMember || aff == policies.AffMember) && !p.cfg.IncludeMembers {
		return "member"
	}
	if exemptIn(p.exempt, bare) {
		return "exempt in this room"
	}
	if p.svc.IsExempt(bare) {
		return "exempt everywhere"
	}
	return ""
}

func reasonFor(h Hit) policies.Reason {
	return policies.Reason{
		Public:  "listed on " + h.List + " RTBL",
		Private: fmt.Sprintf("item %s (%s): %s", h.ItemID, what(h), h.Reason),
		Group:   "rtbl:" + h.List,
		Ref:     h.ItemID,
	}
}

// apply takes the room's action against every seat of bare.
func (p *Policy) apply(ctx context.Context, o policies.Occupant, bare string, h Hit, room policies.Room, act policies.Actions) (policies.Verdict, error) {
	p.svc.countHit(h.List)
	why := reasonFor(h)
	seats := room.ByBareJID(bare)
	if len(seats) == 0 && o.Nick != "" {
		seats = []policies.Occupant{o}
	}
	var err error
	switch p.cfg.Action {
	case ActionBan:
		j := o.Bare()
		if j.Equal(jid.JID{}) {
			if j, err = jid.Parse(bare); err != nil {
				// A real JID the PRECIS parser refuses cannot be banned by
				// JID; removing the seats is the next best thing.
				return p.kickAll(ctx, seats, why, act)
			}
		}
		err = act.SetAffiliation(ctx, j, policies.AffOutcast, why)
	case ActionKick:
		return p.kickAll(ctx, seats, why, act)
	case ActionDevoice:
		for _, s := range seats {
			if s.Role.HasVoice() {
				err = errors.Join(err, act.SetRole(ctx, s.Nick, policies.RoleVisitor, why))
			}
		}
		return policies.Continue, p.actErr(err)
	}
	if err = p.actErr(err); err != nil {
		return policies.Continue, err
	}
	return policies.Stop, nil
}

func (p *Policy) kickAll(ctx context.Context, seats []policies.Occupant, why policies.Reason, act policies.Actions) (policies.Verdict, error) {
	var err error
	for _, s := range seats {
		err = errors.Join(err, act.Kick(ctx, s.Nick, why))
	}
	if err = p.actErr(err); err != nil {
		return policies.Continue, err
	}
	return policies.Stop, nil
}

// actErr drops refusals by the executor's guard: the person is protected,
// which is the outcome an exemption would have given.
func (p *Policy) actErr(err error) error {
	if err == nil || errors.Is(err, policies.ErrGuarded) || errors.Is(err, policies.ErrNoSuchOccupant) {
		return nil
	}
	return fmt.Errorf("rtbl: %w", err)
}

// sweepUnchecked checks every present occupant not checked yet (the bot
// has just joined or rejoined) and forgets people who are gone.
func (p *Policy) sweepUnchecked(ctx context.Context, room policies.Room, act policies.Actions) error {
	present := map[string]bool{}
	var todo []policies.Occupant
	for o := range room.Occupants() {
		b := o.BareString()
		if b == "" {
			continue
		}
		present[b] = true
		if _, ok := p.checked[b]; !ok {
			todo = append(todo, o)
		}
	}
	for b := range p.checked {
		if !present[b] {
			delete(p.checked, b)
		}
	}
	var errs []error
	for _, o := range todo {
		if p.isChecked(o) {
			continue // a second seat of someone checked above
		}
		if _, err := p.check(ctx, o, room, act); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// onPublished sweeps the room for occupants matching the new entries (the
// servers' modules only block future joins) and reports affiliated people
// who match without acting on them.
func (p *Policy) onPublished(ctx context.Context, pub Published, room policies.Room, act policies.Actions) error {
	lc, ok := p.svc.List(pub.List)
	if !ok || lc.Mode == ModeOff || !p.cfg.follows(pub.List) {
		return nil
	}
	var errs []error
	var alerts []string
	done, acted := map[string]bool{}, map[string]bool{}
	for o := range room.Occupants() {
		bare := o.BareString()
		if bare == "" || done[bare] {
			continue
		}
		done[bare] = true
		e, domain, ok := pub.Find(bare)
		if !ok {
			continue
		}
		if why := p.exemptWhy(o, bare, room); why != "" {
			continue // affiliated people are reported below; others are exempt on purpose
		}
		h := Hit{List: lc.Name, Mode: lc.Mode, ItemID: e.ID, Reason: e.Describe(), Domain: domain}
		if lc.Mode == ModeAlert {
			p.svc.countHit(h.List)
			alerts = append(alerts, fmt.Sprintf("%s (%s, %s)", o.Nick, bare, h.Reason))
			continue
		}
		acted[bare] = true
		if _, err := p.apply(ctx, o, bare, h, room, act); err != nil {
			errs = append(errs, err)
		}
	}
	if len(alerts) > 0 {
		errs = append(errs, act.NotifyOfficers(ctx, fmt.Sprintf("RTBL alert: newly listed on %s and present here: %s. No action taken: the list is in alert mode.", lc.Name, strings.Join(alerts, "; "))))
	}
	var members []string
	for bare, aff := range room.Affiliated() {
		if aff == policies.AffNone || aff == policies.AffOutcast || acted[bare] {
			continue
		}
		if e, _, ok := pub.Find(bare); ok {
			members = append(members, fmt.Sprintf("%s (%s; %s)", bare, aff, e.Describe()))
		}
	}
	if len(members) > 0 {
		errs = append(errs, act.NotifyOfficers(ctx, fmt.Sprintf("RTBL report: affiliated people newly listed on %s: %s. Steward does not act on affiliations; review them yourself.", lc.Name, strings.Join(members, "; "))))
	}
	return errors.Join(errs...)
}

// onRetracted lifts or reports the actions this room took for entries that
// left a list.
func (p *Policy) onRetracted(ctx context.Context, r Retracted, act policies.Actions) error {
	if p.audit == nil || len(r.IDs) == 0 {
		return nil
	}
	lc, _ := p.svc.List(r.List)
	group := "rtbl:" + r.List
	recs, err := p.audit.ByGroup(ctx, p.room, group)
	if err != nil {
		return fmt.Errorf("rtbl: read audit log: %w", err)
	}
	ids := make(map[string]bool, len(r.IDs))
	for _, id := range r.IDs {
		ids[id] = true
	}
	var affected []store.AuditRecord
	for _, rec := range recs {
		if ids[rec.Ref] && rec.Result == "ok" && rec.UndoneBy == "" && reversible(rec) {
			affected = append(affected, rec)
		}
	}
	if len(affected) == 0 {
		return nil
	}
	if lc.AutoUnban {
		var errs []error
		refs := map[string]bool{}
		for _, rec := range affected {
			if refs[rec.Ref] {
				continue
			}
			refs[rec.Ref] = true
			why := policies.Reason{
				Public:  "no longer listed on " + r.List + " RTBL",
				Private: "item " + rec.Ref + " retracted; auto_unban is on",
			}
			if _, err := act.Undo(ctx, policies.UndoFilter{Group: group, Ref: rec.Ref}, why); err != nil {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	}
	var lines []string
	for _, rec := range affected {
		who := rec.TargetJID
		if who == "" {
			who = rec.TargetNick
		}
		lines = append(lines, fmt.Sprintf("%s (%s %s): undo %s", who, rec.Action, rec.Value, rec.ID))
	}
	slices.Sort(lines)
	return act.NotifyOfficers(ctx, fmt.Sprintf("RTBL: entries were removed from %s. Steward acted on them here; to lift each, run: %s. Or lift every action from this list: rtbl undo %s",
		r.List, strings.Join(lines, "; "), r.List))
}

// reversible: what the executor's undo can put back (kicks cannot be).
func reversible(r store.AuditRecord) bool {
	return r.Action == "affiliation" || r.Action == "role"
}
