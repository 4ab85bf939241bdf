package vetting

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"
	"mellium.im/xmpp/jid"

	"github.com/steward-xmpp/steward/policies"
	"github.com/steward-xmpp/steward/store"
)

// Spec registers the vetting policy.
var Spec = policies.Spec{
	Name:      "vetting",
	Summary:   "one queue of voice requests (form, nick marker, DM, vouch) worked by officers",
	Needs:     policies.NeedModerator,
	NewConfig: func() policies.Config { return Defaults() },
	New: func(c policies.Config, d policies.Deps) (policies.Policy, error) {
		cfg, ok := c.(*Config)
		if !ok {
			return nil, fmt.Errorf("vetting: config is %T, not *vetting.Config", c)
		}
		p, err := New(*cfg, d)
		if err != nil {
			return nil, err
		}
		return p, nil
	},
}

var (
	_ policies.Policy    = (*Policy)(nil)
	_ policies.Commander = (*Policy)(nil)
)

// Policy is one room's vetting queue. State lives in the KV (the truth);
// the maps here are caches filled on first use, so a new instance over the
// same KV (restart, reload) carries on where the old one stopped.
type Policy struct {
	file  Config // as configured
	eff   Config // with run-time settings applied
	hours Hours
	kv    store.KV
	audit store.AuditReader
	log   *zap.Logger

	loaded   bool
	settings map[string]string
	queue    map[string]*Entry
	list     listing
	asks     map[string]Ask
	// Caches of single lookups; a nil value means "known absent".
	approved map[string]*Approval
	oids     map[string]string
	denied   map[string]*Denial
	// lastBans caches "banned here before" per bare JID (zero = never): the
	// audit log is read once per person, ban events keep it current.
	lastBans map[string]time.Time
	notifyAt time.Time // the notify timer as last scheduled by this instance
}

// Approval remembers that a person was given voice through vetting.
type Approval struct {
	JID        string    `json:"jid"`
	OccupantID string    `json:"occupant_id,omitempty"`
	At         time.Time `json:"at"`
	By         string    `json:"by"`
	Member     bool      `json:"member,omitempty"`
	Via        string    `json:"via,omitempty"`
}

// Denial remembers a denied request, for the cooldown and the record.
type Denial struct {
	At     time.Time `json:"at"`
	By     string    `json:"by"`
	Reason string    `json:"reason,omitempty"`
}

// Ask is an officer's open question to an applicant.
type Ask struct {
	Officer  string    `json:"officer"`
	Question string    `json:"question"`
	At       time.Time `json:"at"`
}

// New builds one room's instance.
func New(cfg Config, d policies.Deps) (*Policy, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if d.KV == nil {
		return nil, errors.New("vetting: no KV store")
	}
	log := d.Log
	if log == nil {
		log = zap.NewNop()
	}
	p := &Policy{file: cfg, kv: d.KV, audit: d.Audit, log: log}
	if err := p.apply(nil); err != nil {
		return nil, err
	}
	return p, nil
}

// apply recomputes the effective config from the file and settings.
func (p *Policy) apply(settings map[string]string) error {
	c := p.file
	c.AllowedServers = append([]string(nil), c.AllowedServers...)
	c.DeniedServers = append([]string(nil), c.DeniedServers...)
	for k, v := range settings {
		if err := setKey(&c, k, v); err != nil {
			return err
		}
	}
	if err := c.Validate(); err != nil {
		return err
	}
	h, err := ParseHours(c.Hours)
	if err != nil {
		return err
	}
	p.eff, p.hours = c, h
	return nil
}

// load reads the queue, listing, open questions and settings once.
func (p *Policy) load(ctx context.Context) error {
	if p.loaded {
		return nil
	}
	q, err := p.kv.All(ctx, nsQueue)
	if err != nil {
		return fmt.Errorf("vetting: load queue: %w", err)
	}
	p.queue = make(map[string]*Entry, len(q))
	for k, v := range q {
		var e Entry
		if json.Unmarshal(v, &e) != nil || e.JID != k {
			p.log.Warn("dropping unreadable queue entry", zap.String("jid", k))
			continue
		}
		p.queue[k] = &e
	}
	p.list = listing{}
	if _, err := p.getJSON(ctx, nsListing, listingField, &p.list); err != nil {
		return err
	}
	a, err := p.kv.All(ctx, nsAsks)
	if err != nil {
		return fmt.Errorf("vetting: load questions: %w", err)
	}
	p.asks = make(map[string]Ask, len(a))
	for k, v := range a {
		var x Ask
		if json.Unmarshal(v, &x) == nil {
			p.asks[k] = x
		}
	}
	s, err := p.kv.All(ctx, nsSettings)
	if err != nil {
		return fmt.Errorf("vetting: load settings: %w", err)
	}
	p.settings = map[string]string{}
	for k, v := range s {
		var val string
		if json.Unmarshal(v, &val) == nil {
			p.settings[k] = val
		}
	}
	if err := p.apply(p.settings); err != nil {
		// A setting that no longer validates (the file changed under it)
		// must not stop the queue: fall back to the file.
		p.log.Warn("ignoring run-time vetting settings", zap.Error(err))
		_ = p.apply(nil)
	}
	p.approved, p.oids, p.denied = map[string]*Approval{}, map[string]string{}, map[string]*Denial{}
	p.lastBans = map[string]time.Time{}
	p.loaded = true
	return nil
}

func (p *Policy) putJSON(ctx context.Context, ns, field string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("vetting: encode %s: %w", ns, err)
	}
	if err := p.kv.Put(ctx, ns, field, b); err != nil {
		return fmt.Errorf("vetting: save %s: %w", ns, err)
	}
	return nil
}

// getJSON reads one value; found is false when the field does not exist.
func (p *Policy) getJSON(ctx context.Context, ns, field string, v any) (bool, error) {
	b, err := p.kv.Get(ctx, ns, field)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("vetting: read %s: %w", ns, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		p.log.Warn("unreadable record", zap.String("ns", ns), zap.String("field", field), zap.Error(err))
		return false, nil
	}
	return true, nil
}

func (p *Policy) approval(ctx context.Context, bare string) (*Approval, error) {
	if a, ok := p.approved[bare]; ok {
		return a, nil
	}
	var a Approval
	found, err := p.getJSON(ctx, nsApproved, bare, &a)
	if err != nil {
		return nil, err
	}
	if !found {
		p.approved[bare] = nil
		return nil, nil
	}
	p.approved[bare] = &a
	return &a, nil
}

// approvalByOID finds an approval by occupant-id, for seats whose real JID
// the bot cannot see.
func (p *Policy) approvalByOID(ctx context.Context, oid string) (*Approval, error) {
	bare, ok := p.oids[oid]
	if !ok {
		if _, err := p.getJSON(ctx, nsApprovedOID, oid, &bare); err != nil {
			return nil, err
		}
		p.oids[oid] = bare
	}
	if bare == "" {
		return nil, nil
	}
	return p.approval(ctx, bare)
}

func (p *Policy) saveApproval(ctx context.Context, a Approval) error {
	if err := p.putJSON(ctx, nsApproved, a.JID, a); err != nil {
		return err
	}
	p.approved[a.JID] = &a
	if a.OccupantID != "" {
		if err := p.putJSON(ctx, nsApprovedOID, a.OccupantID, a.JID); err != nil {
			return err
		}
		p.oids[a.OccupantID] = a.JID
	}
	return nil
}

func (p *Policy) forgetApproval(ctx context.Context, a *Approval) error {
	if err := p.kv.Delete(ctx, nsApproved, a.JID); err != nil {
		return fmt.Errorf("vetting: forget approval: %w", err)
	}
	p.approved[a.JID] = nil
	if a.OccupantID != "" {
		if err := p.kv.Delete(ctx, nsApprovedOID, a.OccupantID); err != nil {
			return fmt.Errorf("vetting: forget approval: %w", err)
		}
		p.oids[a.OccupantID] = ""
	}
	return nil
}

func (p *Policy) denial(ctx context.Context, bare string) (*Denial, error) {
	if d, ok := p.denied[bare]; ok {
		return d, nil
	}
	var d Denial
	found, err := p.getJSON(ctx, nsDenied, bare, &d)
	if err != nil {
		return nil, err
	}
	if !found {
		p.denied[bare] = nil
		return nil, nil
	}
	p.denied[bare] = &d
	return &d, nil
}

// Handle reacts to the room's events.
func (p *Policy) Handle(ctx context.Context, ev policies.Event, room policies.Room, act policies.Actions) (policies.Verdict, error) {
	if err := p.load(ctx); err != nil {
		return policies.Continue, err
	}
	now := ev.Meta().At
	var err error
	switch e := ev.(type) {
	case policies.JoinedRoom:
		err = p.sweep(ctx, now, room, act)
	case policies.OccupantJoined:
		err = p.joined(ctx, now, room, act, e.Occupant, e.Initial)
	case policies.OccupantLeft:
		err = p.occupantLeft(ctx, now, room, act, e)
	case policies.NickChanged:
		err = p.nickChanged(ctx, now, room, act, e)
	case policies.RoleChanged:
		err = p.roleChanged(ctx, room, act, e)
	case policies.AffiliationChanged:
		if e.Occupant.Affiliation == policies.AffOutcast && e.Old != policies.AffOutcast {
			err = p.banned(ctx, now, act, e.Occupant.BareString())
		}
	case policies.VoiceRequested:
		err = p.voiceRequested(ctx, now, room, act, e)
	case policies.PrivateMessage:
		err = p.privateMessage(ctx, room, act, e)
	case policies.TimerFired:
		err = p.timer(ctx, now, room, act, e.Key)
	}
	return policies.Continue, err
}

func (p *Policy) hasMarker(nick string) bool {
	return p.eff.Marker != "" && strings.HasPrefix(nick, p.eff.Marker)
}

// sweep runs when the bot (re)joins: re-grant approved visitors, queue
// marker nicks, and treat applicants who left meanwhile as gone.
func (p *Policy) sweep(ctx context.Context, now time.Time, room policies.Room, act policies.Actions) error {
	var errs []error
	for o := range room.Occupants() {
		if o.Nick == room.Self().Nick {
			continue
		}
		errs = append(errs, p.joined(ctx, now, room, act, o, true))
	}
	for _, e := range p.sorted() {
		if len(room.ByBareJID(e.JID)) == 0 && e.LeftAt.IsZero() {
			errs = append(errs, p.left(ctx, now, act, e))
		}
	}
	if len(p.list.Pending) > 0 {
		p.notifyAt = time.Time{} // the stored timer may predate a restart: set it again
		errs = append(errs, p.scheduleNotify(ctx, now, act))
	}
	return errors.Join(errs...)
}

func (p *Policy) joined(ctx context.Context, now time.Time, room policies.Room, act policies.Actions, o policies.Occupant, quiet bool) error {
	bare := o.BareString()
	if e, ok := p.queue[bare]; ok && bare != "" {
		wasGone := !e.LeftAt.IsZero()
		e.Nick, e.LeftAt, e.JoinedAt = o.Nick, time.Time{}, o.JoinedAt
		if o.OccupantID != "" {
			e.OccupantID = o.OccupantID
		}
		if wasGone {
			if err := act.Cancel(ctx, timerExpire+bare); err != nil {
				return err
			}
		}
		if err := p.putJSON(ctx, nsQueue, bare, e); err != nil {
			return err
		}
	}
	if o.Role != policies.RoleVisitor {
		return nil
	}
	if p.eff.RememberApprovals {
		var a *Approval
		var err error
		switch {
		case bare != "":
			a, err = p.approval(ctx, bare)
		case o.OccupantID != "":
			a, err = p.approvalByOID(ctx, o.OccupantID)
		}
		if err != nil {
			return err
		}
		if a != nil {
			if cur, ok := room.Occupant(o.Nick); ok && cur.Role.HasVoice() {
				return nil
			}
			return act.SetRole(ctx, o.Nick, policies.RoleParticipant, policies.Reason{
				Public: "approved earlier by vetting", Private: "approved by " + a.By, Group: "vetting", Ref: a.JID})
		}
	}
	if bare == "" {
		return nil
	}
	if !p.eff.serverAccepted(domainOf(bare)) {
		if quiet {
			return nil
		}
		return p.tell(ctx, act, o.RealJID, bare, serverRefused(domainOf(bare), room.Addr().String()))
	}
	if !p.hasMarker(o.Nick) {
		return nil
	}
	msg, _, err := p.enqueue(ctx, now, room, act, request{bare: bare, real: realString(o), occ: o, nick: o.Nick, via: ViaMarker, quiet: quiet})
	if err != nil {
		return err
	}
	return p.tell(ctx, act, o.RealJID, bare, msg)
}

func realString(o policies.Occupant) string {
	if !o.RealJID.Equal(jid.JID{}) {
		return o.RealJID.String()
	}
	return o.RealRaw
}

// tell sends text privately to a person: to the full real JID when known
// (the client that asked), else the bare one.
func (p *Policy) tell(ctx context.Context, act policies.Actions, full jid.JID, bare, text string) error {
	if text == "" {
		return nil
	}
	to := full
	if to.Equal(jid.JID{}) {
		j, err := jid.Parse(bare)
		if err != nil {
			p.log.Debug("cannot address applicant", zap.String("jid", bare))
			return nil
		}
		to = j
	}
	return act.Tell(ctx, to, text)
}

func (p *Policy) tellEntry(ctx context.Context, act policies.Actions, e *Entry, text string) error {
	full, _ := jid.Parse(e.Real)
	return p.tell(ctx, act, full, e.JID, text)
}

func (p *Policy) occupantLeft(ctx context.Context, now time.Time, room policies.Room, act policies.Actions, ev policies.OccupantLeft) error {
	bare := ev.Occupant.BareString()
	if bare == "" {
		return nil
	}
	if ev.Why == policies.LeftBanned {
		return p.banned(ctx, now, act, bare)
	}
	e, ok := p.queue[bare]
	if !ok {
		return nil
	}
	if seats := room.ByBareJID(bare); len(seats) > 0 {
		e.Nick = seats[0].Nick
		return p.putJSON(ctx, nsQueue, bare, e)
	}
	return p.left(ctx, now, act, e)
}

func (p *Policy) nickChanged(ctx context.Context, now time.Time, room policies.Room, act policies.Actions, ev policies.NickChanged) error {
	o := ev.Occupant
	bare := o.BareString()
	if bare == "" {
		return nil
	}
	had, has := p.hasMarker(ev.OldNick), p.hasMarker(o.Nick)
	e, queued := p.queue[bare]
	switch {
	case queued && had && !has && e.has(ViaMarker):
		if len(e.Via) == 1 {
			if err := p.remove(ctx, act, bare); err != nil {
				return err
			}
			return p.tell(ctx, act, o.RealJID, bare, fmt.Sprintf(
				"Your voice request in %s is withdrawn because your nick no longer starts with %q. Put it back in front of your nick to ask again.",
				room.Addr(), p.eff.Marker))
		}
		e.Via = removeString(e.Via, ViaMarker)
		e.Nick = o.Nick
		return p.putJSON(ctx, nsQueue, bare, e)
	case queued:
		e.Nick = o.Nick
		if has && !e.has(ViaMarker) {
			e.Via = append(e.Via, ViaMarker)
		}
		return p.putJSON(ctx, nsQueue, bare, e)
	case has && !had && o.Role == policies.RoleVisitor:
		msg, _, err := p.enqueue(ctx, now, room, act, request{bare: bare, real: realString(o), occ: o, nick: o.Nick, via: ViaMarker})
		if err != nil {
			return err
		}
		return p.tell(ctx, act, o.RealJID, bare, msg)
	}
	return nil
}

func (p *Policy) roleChanged(ctx context.Context, room policies.Room, act policies.Actions, ev policies.RoleChanged) error {
	o := ev.Occupant
	bare := o.BareString()
	if bare == "" {
		return nil
	}
	if o.Role.HasVoice() && !ev.Old.HasVoice() {
		// Voice came another way (a moderator, the server): nothing to vet.
		return p.remove(ctx, act, bare)
	}
	// A moderator (not Steward: debate and idle devoice and revoice on
	// purpose) took voice from an approved person: do not give it back on
	// the next join behind their back.
	if ev.Old.HasVoice() && o.Role == policies.RoleVisitor && ev.Actor != "" && ev.Actor != room.Self().Nick {
		a, err := p.approval(ctx, bare)
		if err != nil || a == nil {
			return err
		}
		if err := p.forgetApproval(ctx, a); err != nil {
			return err
		}
		return act.NotifyOfficers(ctx, fmt.Sprintf("%s (%s) was devoiced by %s in %s; their vetting approval is withdrawn, so Steward will not give voice back when they rejoin.",
			clean(o.Nick, 64), bare, clean(ev.Actor, 64), room.Addr()))
	}
	return nil
}

func (p *Policy) voiceRequested(ctx context.Context, now time.Time, room policies.Room, act policies.Actions, ev policies.VoiceRequested) error {
	bare := bareOf(ev.RealJID, ev.RealRaw)
	occ := ev.From
	if bare == "" {
		bare = occ.BareString()
	}
	if occ.Nick == "" {
		occ, _ = room.Occupant(ev.Nick)
	}
	if bare == "" {
		p.log.Debug("voice request without a real JID", zap.String("nick", ev.Nick))
		return nil
	}
	full := ev.RealJID
	if full.Equal(jid.JID{}) {
		full = occ.RealJID
	}
	if p.eff.AnswerButtonRequestsWith != "" {
		return p.tell(ctx, act, full, bare, p.eff.AnswerButtonRequestsWith)
	}
	if occ.Role.HasVoice() {
		return nil
	}
	nick := ev.Nick
	if nick == "" {
		nick = occ.Nick
	}
	real := ev.RealRaw
	if !ev.RealJID.Equal(jid.JID{}) {
		real = ev.RealJID.String()
	}
	msg, _, err := p.enqueue(ctx, now, room, act, request{bare: bare, real: real, occ: occ, nick: nick, via: ViaForm})
	if err != nil {
		return err
	}
	return p.tell(ctx, act, full, bare, msg)
}

// privateMessage relays an applicant's answer to the officer who asked.
func (p *Policy) privateMessage(ctx context.Context, room policies.Room, act policies.Actions, ev policies.PrivateMessage) error {
	bare := bareOf(ev.FromJID, "")
	if bare == "" {
		bare = ev.From.BareString()
	}
	q, ok := p.asks[bare]
	if !ok || strings.TrimSpace(ev.Body) == "" {
		return nil
	}
	officer, err := jid.Parse(q.Officer)
	if err != nil {
		return fmt.Errorf("vetting: stored officer %q: %w", q.Officer, err)
	}
	nick := bare
	if e, ok := p.queue[bare]; ok {
		nick = e.Nick
	}
	ref := ""
	if n := p.number(bare); n > 0 {
		ref = fmt.Sprintf(" (#%d)", n)
	}
	return act.Tell(ctx, officer, fmt.Sprintf("%s%s in %s answers your question %q:\n%s",
		clean(nick, 64), ref, room.Addr(), clean(q.Question, 200), clean(ev.Body, 2000)))
}

func (p *Policy) timer(ctx context.Context, now time.Time, room policies.Room, act policies.Actions, key string) error {
	switch {
	case key == timerNotify:
		return p.flush(ctx, now, room, act)
	case strings.HasPrefix(key, timerExpire):
		bare := strings.TrimPrefix(key, timerExpire)
		e, ok := p.queue[bare]
		if !ok || e.LeftAt.IsZero() || len(room.ByBareJID(bare)) > 0 {
			return nil
		}
		return p.remove(ctx, act, bare)
	}
	return nil
}

func removeString(list []string, s string) []string {
	out := list[:0]
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}
