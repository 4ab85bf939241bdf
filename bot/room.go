package bot

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"mellium.im/xmpp/jid"

	"github.com/steward-xmpp/steward/bot/proto"
	"github.com/steward-xmpp/steward/internal/config"
	"github.com/steward-xmpp/steward/policies"
	"github.com/steward-xmpp/steward/store"
)

// roomState is where the bot stands with a room.
type roomState string

const (
	stateIdle        roomState = "not joined"
	stateJoining     roomState = "joining"
	stateJoined      roomState = "joined"
	stateBanned      roomState = "banned"
	stateDestroyed   roomState = "destroyed"
	stateMembersOnly roomState = "members-only"
	stateRefused     roomState = "refused"
	stateLeft        roomState = "left"
)

// Items a room's inbox carries besides stanzas.
type (
	itemStanza struct {
		in proto.Inbound
		at time.Time
	}
	itemConnected    struct{}
	itemDisconnected struct{}
	itemJoinTimeout  struct{ gen int }
	itemRejoin       struct{ gen int }
	itemSelfPing     struct{}
	itemTimer        struct {
		t    store.Timer
		done func()
	}
	itemNotify struct {
		topic   string
		payload any
		at      time.Time
	}
	itemCommand struct{ job *commandJob }
	itemReload  struct {
		cfg  config.Room
		done chan error
	}
	itemFunc  struct{ f func(r *room) }
	itemLeave struct {
		status string
		done   chan struct{}
	}
)

// instance is one policy in one room.
type instance struct {
	spec     policies.Spec
	pol      policies.Policy
	enabled  bool
	dryRun   bool
	srcOn    string // where enabled came from: config or redis
	srcDry   string
	crashed  bool
	commands []policies.Command
}

// room is the actor for one room: its goroutine owns everything below.
type room struct {
	b    *Bot
	addr jid.JID
	key  string // lowercase bare JID
	log  *zap.Logger
	in   *inbox

	cfg        config.Room
	fromConfig bool
	wantNick   string
	nick       string // current (or attempted) nick
	conflicts  int
	state      roomState
	stateNote  string
	gen        int // join attempt generation, to ignore stale timeouts
	rejoinWait time.Duration
	everJoined bool

	occ      *occupants
	prev     map[string]policies.Occupant // table before a disconnect, by nick
	self     policies.Occupant
	features policies.Features
	affs     map[string]policies.Affiliation
	told     bool // said "make me admin" already
	subject  string
	// subjectSeen is false until the join's subject message arrived.
	subjectSeen bool

	officersCfg []string
	settings    store.RoomSettings
	pols        []*instance
	seq         uint64

	// Snapshots other goroutines may read (status, readiness, sweeps).
	size       atomic.Int64
	stateShown atomic.Value // string
}

func newRoom(b *Bot, addr jid.JID, rc config.Room, fromConfig bool) *room {
	nick := rc.Nick
	if nick == "" {
		nick = b.cfg().XMPP.Nick
	}
	r := &room{
		b: b, addr: addr, key: strings.ToLower(addr.String()),
		log: b.log.With(zap.String("room", addr.String())),
		in:  newInbox(), cfg: rc, fromConfig: fromConfig,
		wantNick: nick, nick: nick, state: stateIdle,
		occ: newOccupants(), affs: map[string]policies.Affiliation{},
		officersCfg: lowerAll(rc.Officers),
	}
	r.stateShown.Store(string(stateIdle))
	return r
}

func lowerAll(in []string) []string {
	out := make([]string, 0, len(in))
	for _, s := range in {
		out = append(out, strings.ToLower(strings.TrimSpace(s)))
	}
	return out
}

// run is the room goroutine.
func (r *room) run(ctx context.Context) {
	r.loadSettings(ctx)
	r.buildPolicies(r.cfg)
	for {
		select {
		case <-ctx.Done():
			r.closePolicies()
			return
		case <-r.in.signal:
		}
		for _, it := range r.in.drain() {
			if stop := r.handle(ctx, it); stop {
				r.closePolicies()
				return
			}
		}
	}
}

func (r *room) handle(ctx context.Context, it any) (stop bool) {
	defer func() {
		r.size.Store(int64(r.occ.len()))
		r.stateShown.Store(string(r.state))
		if p := recover(); p != nil {
			r.log.Error("room loop recovered a panic", zap.Any("panic", p), zap.ByteString("stack", debug.Stack()))
		}
	}()
	switch it := it.(type) {
	case itemStanza:
		r.onStanza(ctx, it.in, it.at)
	case itemConnected:
		r.join(ctx)
	case itemDisconnected:
		r.onDisconnected()
	case itemJoinTimeout:
		if it.gen == r.gen && r.state == stateJoining {
			r.log.Warn("no answer to join in time; will retry", zap.Duration("timeout", r.b.cfg().XMPP.JoinTimeout))
			r.scheduleRejoin()
		}
	case itemRejoin:
		if it.gen == r.gen && (r.state == stateIdle || r.state == stateJoining) {
			r.join(ctx)
		}
	case itemSelfPing:
		r.selfPing(ctx)
	case itemTimer:
		r.onTimer(ctx, it.t, it.done)
	case itemNotify:
		r.dispatch(ctx, policies.Notified{Topic: it.topic, Payload: it.payload}, it.at)
	case itemCommand:
		r.runCommand(ctx, it.job)
	case itemReload:
		it.done <- r.reload(it.cfg)
	case itemFunc:
		it.f(r)
	case itemLeave:
		r.leave(ctx, it.status)
		close(it.done)
		return true
	}
	return false
}

func (r *room) occupantJID(nick string) string { return r.addr.String() + "/" + nick }

// join sends the join presence; the self-presence (or an error) arrives in
// the inbox later.
func (r *room) join(ctx context.Context) {
	switch r.state {
	case stateBanned, stateDestroyed, stateLeft:
		return
	}
	s := r.b.session()
	if s == nil {
		return
	}
	r.gen++
	gen := r.gen
	r.state = stateJoining
	r.subjectSeen = false
	r.prepareRejoin()
	sctx, cancel := context.WithTimeout(ctx, r.b.cfg().XMPP.JoinTimeout)
	defer cancel()
	if err := s.Send(sctx, proto.JoinPresence("", r.occupantJID(r.nick), string(r.cfg.Password), 0)); err != nil {
		r.log.Warn("could not send join presence", zap.Error(err))
		r.scheduleRejoin()
		return
	}
	time.AfterFunc(r.b.cfg().XMPP.JoinTimeout, func() { r.in.push(itemJoinTimeout{gen: gen}) })
}

// prepareRejoin keeps the old table so that seats seen again after a rejoin
// keep their joined-at and last-active times.
func (r *room) prepareRejoin() {
	if r.occ.len() > 0 {
		r.prev = map[string]policies.Occupant{}
		for o := range r.occ.all() {
			r.prev[o.Nick] = o
		}
	}
	r.occ.clear()
}

func (r *room) scheduleRejoin() {
	r.state = stateIdle
	if r.rejoinWait == 0 {
		r.rejoinWait = 5 * time.Second
	} else {
		r.rejoinWait = min(r.rejoinWait*2, 5*time.Minute)
	}
	gen := r.gen
	time.AfterFunc(r.rejoinWait, func() { r.in.push(itemRejoin{gen: gen}) })
}

func (r *room) onDisconnected() {
	if r.state == stateJoined || r.state == stateJoining {
		r.b.metrics.roomJoined(-1, r.state == stateJoined)
		r.state = stateIdle
	}
	r.gen++
}

func (r *room) leave(ctx context.Context, status string) {
	if s := r.b.session(); s != nil && (r.state == stateJoined || r.state == stateJoining) {
		sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		_ = s.Send(sctx, proto.UnavailablePresence("", r.occupantJID(r.nick), status))
	}
	if r.state == stateJoined {
		r.b.metrics.roomJoined(-1, true)
	}
	r.state = stateLeft
}

// onStanza turns a stanza into zero or more events.
func (r *room) onStanza(ctx context.Context, in proto.Inbound, at time.Time) {
	_, _, nick := proto.SplitJID(in.From)
	switch {
	case in.Presence != nil:
		r.onPresence(ctx, in, nick, at)
	case in.Message != nil:
		r.onMessage(ctx, in, nick, at)
	}
}

func (r *room) isSelf(nick string, p *proto.Presence) bool {
	return (p != nil && p.Has(110)) || nick == r.nick
}

func (r *room) onPresence(ctx context.Context, in proto.Inbound, nick string, at time.Time) {
	p := in.Presence
	if p.Type == "error" {
		r.onPresenceError(ctx, nick, p)
		return
	}
	if nick == "" {
		return
	}
	var item proto.Item
	if len(p.Items) > 0 {
		item = p.Items[0]
	}
	if r.isSelf(nick, p) {
		r.onSelfPresence(ctx, p, item, nick, at)
		return
	}
	if p.Type == "unavailable" {
		r.onUnavailable(ctx, p, item, nick, at)
		return
	}
	role := policies.Role(item.Role)
	aff := policies.Affiliation(item.Affiliation)
	if aff == "" {
		aff = policies.AffNone
	}
	r.noteAffiliation(item.JID, aff)
	if old, ok := r.occ.get(nick); ok {
		o := old
		o.Role, o.Affiliation = role, aff
		if o.OccupantID == "" {
			o.OccupantID = p.OccupantID
		}
		if o.RealRaw == "" && item.JID != "" {
			o.RealRaw, o.RealJID = item.JID, parseJID(item.JID)
		}
		r.occ.put(o)
		if old.Affiliation != aff {
			r.dispatch(ctx, policies.AffiliationChanged{Occupant: o, Old: old.Affiliation, Actor: item.ActorNick, Reason: item.Reason}, at)
		}
		if old.Role != role {
			r.dispatch(ctx, policies.RoleChanged{Occupant: o, Old: old.Role, Actor: item.ActorNick, Reason: item.Reason}, at)
		}
		return
	}
	o := policies.Occupant{
		Nick: nick, RealRaw: item.JID, RealJID: parseJID(item.JID), OccupantID: p.OccupantID,
		Role: role, Affiliation: aff, JoinedAt: at, LastActive: at,
	}
	if prev, ok := r.prev[nick]; ok && prev.BareString() == o.BareString() {
		o.JoinedAt, o.LastActive = prev.JoinedAt, prev.LastActive
	}
	r.occ.put(o)
	r.dispatch(ctx, policies.OccupantJoined{Occupant: o, Initial: r.state == stateJoining}, at)
}

func (r *room) onUnavailable(ctx context.Context, p *proto.Presence, item proto.Item, nick string, at time.Time) {
	if p.Has(303) && item.Nick != "" {
		o, ok := r.occ.rename(nick, item.Nick)
		if !ok {
			return
		}
		r.dispatch(ctx, policies.NickChanged{Occupant: o, OldNick: nick}, at)
		return
	}
	o, ok := r.occ.remove(nick)
	if !ok {
		return
	}
	why := policies.LeftVoluntarily
	switch {
	case p.Has(301):
		why = policies.LeftBanned
		r.noteAffiliation(o.RealRaw, policies.AffOutcast)
		o.Affiliation = policies.AffOutcast
	case p.Has(307):
		why = policies.LeftKicked
	case p.Has(321):
		why = policies.LeftAffiliation
	case p.Has(322):
		why = policies.LeftMembersOnly
	case p.Has(332):
		why = policies.LeftShutdown
	case p.Destroy != nil:
		why = policies.LeftDestroyed
	}
	r.dispatch(ctx, policies.OccupantLeft{Occupant: o, Why: why, Actor: item.ActorNick, Reason: item.Reason}, at)
}

func (r *room) onSelfPresence(ctx context.Context, p *proto.Presence, item proto.Item, nick string, at time.Time) {
	if p.Type == "unavailable" {
		if p.Has(303) && item.Nick != "" {
			// The bot's own nick change: the seat moves, like anyone's.
			r.occ.rename(nick, item.Nick)
			r.self.Nick = item.Nick
			r.nick = item.Nick
			return
		}
		wasJoined := r.state == stateJoined
		r.gen++
		// Out of the room: the table is stale (kept only for a rejoin's
		// joined-at times) and the bot holds no role there any more.
		r.prepareRejoin()
		r.self.Role = policies.RoleNone
		if p.Has(301) {
			r.self.Affiliation = policies.AffOutcast
		}
		switch {
		case p.Destroy != nil:
			r.setTerminal(ctx, stateDestroyed, "the room was destroyed"+suffix(p.Destroy.Reason))
		case p.Has(301):
			r.setTerminal(ctx, stateBanned, "Steward was banned"+suffix(item.Reason))
		case p.Has(322):
			r.setTerminal(ctx, stateMembersOnly, "the room became members-only and Steward is not a member")
		case p.Has(307):
			r.log.Warn("kicked from the room; will rejoin", zap.String("by", item.ActorNick), zap.String("reason", item.Reason))
			r.scheduleRejoin()
		case p.Has(332):
			r.log.Warn("server shutting the room down; will rejoin after reconnect")
			r.state = stateIdle
		default:
			if r.state != stateLeft {
				r.scheduleRejoin()
			}
		}
		if wasJoined {
			r.b.metrics.roomJoined(-1, true)
		}
		return
	}
	r.nick = nick
	prevSelf := r.self
	r.self = policies.Occupant{Nick: nick, RealRaw: r.b.selfJID().String(), RealJID: r.b.selfJID(), OccupantID: p.OccupantID,
		Role: policies.Role(item.Role), Affiliation: policies.Affiliation(item.Affiliation), JoinedAt: at, LastActive: at}
	if r.self.Affiliation == "" {
		r.self.Affiliation = policies.AffNone
	}
	if r.state == stateJoined && !prevSelf.JoinedAt.IsZero() {
		// A nick, role or affiliation change of the seat the bot holds.
		r.self.JoinedAt = prevSelf.JoinedAt
	}
	r.occ.put(r.self)
	if r.state == stateJoined {
		// A role or affiliation change of the bot itself.
		r.warnIfNotModerating(ctx)
		return
	}
	r.state = stateJoined
	r.conflicts = 0
	r.rejoinWait = 0
	r.b.metrics.roomJoined(+1, true)
	r.log.Info("joined room", zap.String("nick", nick), zap.String("role", item.Role), zap.String("affiliation", item.Affiliation))
	r.afterJoin(ctx)
	rejoin := r.everJoined
	r.everJoined = true
	r.prev = nil
	r.dispatch(ctx, policies.JoinedRoom{Self: r.self, Rejoin: rejoin}, at)
	r.warnIfNotModerating(ctx)
}

func suffix(s string) string {
	if s == "" {
		return ""
	}
	return ": " + s
}

// setTerminal records a state the bot must not rejoin-loop out of.
func (r *room) setTerminal(ctx context.Context, st roomState, note string) {
	r.state, r.stateNote = st, note
	r.log.Warn("room left for good", zap.String("state", string(st)), zap.String("why", note))
	rec, err := r.b.store.Rooms().Get(ctx, r.key)
	if err != nil {
		rec = store.RoomRecord{JID: r.key, At: time.Now()}
	}
	switch st {
	case stateDestroyed:
		rec.Destroyed = true
	case stateBanned:
		rec.Banned = true
	}
	rec.Note = note
	if st == stateDestroyed && !r.fromConfig {
		_ = r.b.store.Rooms().Delete(ctx, r.key)
		return
	}
	if err := r.b.store.Rooms().Put(ctx, rec); err != nil {
		r.b.redisError("rooms.put", err)
	}
}

func (r *room) onPresenceError(ctx context.Context, nick string, p *proto.Presence) {
	if r.state != stateJoining {
		r.log.Debug("error presence", zap.String("nick", nick), zap.String("error", errText(p.Error)))
		return
	}
	cond := ""
	if p.Error != nil {
		cond = p.Error.Condition
	}
	switch cond {
	case "conflict":
		r.conflicts++
		if r.conflicts > 5 {
			r.state, r.stateNote = stateRefused, "nick taken: tried "+r.nick
			r.log.Error("nick conflict: giving up", zap.String("nick", r.nick))
			return
		}
		r.nick = fmt.Sprintf("%s_%d", r.wantNick, r.conflicts)
		r.log.Info("nick taken; retrying with a suffix", zap.String("nick", r.nick))
		r.state = stateIdle
		r.join(ctx)
	case "forbidden":
		r.setTerminal(ctx, stateBanned, "the room refuses Steward (banned)")
	case "registration-required":
		r.setTerminal(ctx, stateMembersOnly, "the room is members-only: make Steward a member (or admin)")
	case "not-authorized":
		r.state, r.stateNote = stateRefused, "the room needs a password: set rooms[].password"
		r.log.Error("room needs a password", zap.String("hint", "set rooms[].password"))
	case "item-not-found", "remote-server-not-found":
		r.state, r.stateNote = stateIdle, "the room does not exist (or is locked)"
		r.log.Warn("room not found; will retry")
		r.scheduleRejoin()
	default:
		r.log.Warn("join refused; will retry", zap.String("error", errText(p.Error)))
		r.scheduleRejoin()
	}
}

func errText(e *proto.Error) string {
	if e == nil {
		return "unknown error"
	}
	return e.Error()
}

// afterJoin reads what the room tells about itself. IQs are sent from the
// room goroutine (never from the stanza handler, which must not block).
func (r *room) afterJoin(ctx context.Context) {
	s := r.b.session()
	if s == nil {
		return
	}
	ictx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if info, err := s.DiscoInfo(ictx, r.addr.String()); err == nil {
		r.features = proto.RoomFeatures(info)
	} else {
		r.log.Warn("disco#info of the room failed", zap.Error(err))
	}
	if !r.self.Affiliation.Privileged() {
		return
	}
	for _, a := range []policies.Affiliation{policies.AffOwner, policies.AffAdmin, policies.AffMember, policies.AffOutcast} {
		items, err := s.AffiliationList(ictx, r.addr.String(), string(a))
		if err != nil {
			r.log.Debug("affiliation list not readable", zap.String("affiliation", string(a)), zap.Error(err))
			continue
		}
		for _, it := range items {
			r.noteAffiliation(it.JID, a)
		}
	}
	if r.self.Affiliation == policies.AffOwner && r.features.MaxOccupants == 0 {
		if form, err := s.RoomConfig(ictx, r.addr.String()); err == nil {
			r.features.MaxOccupants = maxUsers(form)
		}
	}
}

func (r *room) warnIfNotModerating(ctx context.Context) {
	if r.Moderating() || r.told {
		return
	}
	r.told = true
	r.log.Warn("not admin or owner here: observing only")
	if s := r.b.session(); s != nil {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_ = r.b.exec.rateWait(sctx, r.addr)
		_ = s.Send(sctx, proto.TextMessage("", r.addr.String(), "groupchat", "Steward is here but cannot moderate: make me admin to moderate. Until then I only observe."))
	}
}

func (r *room) noteAffiliation(rawJID string, a policies.Affiliation) {
	b := proto.BareOf(rawJID)
	if b == "" {
		return
	}
	if a == policies.AffNone || a == "" {
		delete(r.affs, b)
		return
	}
	r.affs[b] = a
}

func parseJID(raw string) jid.JID {
	if raw == "" {
		return jid.JID{}
	}
	j, err := jid.Parse(raw)
	if err != nil {
		return jid.JID{}
	}
	return j
}

func (r *room) onMessage(ctx context.Context, in proto.Inbound, nick string, at time.Time) {
	m := in.Message
	if m.Type == "error" {
		r.log.Debug("error message from room", zap.String("from", in.From), zap.String("error", errText(m.Error)))
		return
	}
	if m.Type == "groupchat" && m.Subject != nil && m.Body == "" {
		// The subject sent at join (Prosody marks it delayed; it may come
		// from the bare room) ends the history and is only recorded; later
		// changes are events.
		if r.subjectSeen && *m.Subject != r.subject && !m.Delayed {
			r.dispatch(ctx, policies.SubjectChanged{By: nick, Subject: *m.Subject}, at)
		}
		r.subject, r.subjectSeen = *m.Subject, true
		return
	}
	if m.VoiceRequest != nil {
		vr := m.VoiceRequest
		o, ok := r.occ.get(vr.Nick)
		if !ok || (vr.JID != "" && proto.BareOf(vr.JID) != o.BareString() && o.BareString() != "") {
			if seats := r.occ.byBareJID(proto.BareOf(vr.JID)); len(seats) > 0 {
				o, ok = seats[0], true
			}
		}
		if !ok {
			o = policies.Occupant{Nick: vr.Nick, RealRaw: vr.JID, RealJID: parseJID(vr.JID), Role: policies.RoleVisitor, Affiliation: policies.AffNone}
		}
		r.dispatch(ctx, policies.VoiceRequested{From: o, Nick: vr.Nick, RealJID: parseJID(vr.JID), RealRaw: vr.JID}, at)
		return
	}
	if nick == "" {
		// From the room itself: status codes and affiliation changes.
		if len(m.Codes) > 0 {
			r.dispatch(ctx, policies.ConfigChanged{Codes: m.Codes}, at)
			if s := r.b.session(); s != nil && r.state == stateJoined {
				ictx, cancel := context.WithTimeout(ctx, 5*time.Second)
				if info, err := s.DiscoInfo(ictx, r.addr.String()); err == nil {
					max := r.features.MaxOccupants
					r.features = proto.RoomFeatures(info)
					if r.features.MaxOccupants == 0 {
						r.features.MaxOccupants = max
					}
				}
				cancel()
			}
		}
		for _, it := range m.Items {
			b := proto.BareOf(it.JID)
			if b == "" || it.Affiliation == "" {
				continue
			}
			old := r.Affiliation(b)
			a := policies.Affiliation(it.Affiliation)
			r.noteAffiliation(it.JID, a)
			if old != a {
				r.dispatch(ctx, policies.AffiliationChanged{Occupant: policies.Occupant{RealRaw: it.JID, RealJID: parseJID(it.JID), Affiliation: a}, Old: old, Actor: it.ActorNick, Reason: it.Reason}, at)
			}
		}
		return
	}
	switch m.Type {
	case "groupchat":
		if m.Delayed || nick == r.nick || (r.self.OccupantID != "" && m.OccupantID == r.self.OccupantID) {
			return // history or our own echo
		}
		if m.Body == "" || m.Moderation != nil {
			return
		}
		o, ok := r.occ.get(nick)
		if !ok {
			return
		}
		o.LastActive = at
		r.occ.touch(nick, at)
		sid := ""
		if m.StanzaIDBy == "" || strings.EqualFold(m.StanzaIDBy, r.addr.String()) {
			sid = m.StanzaID
		}
		r.dispatch(ctx, policies.MessageReceived{From: o, ID: sid, OriginID: m.OriginID, Body: m.Body}, at)
		if strings.HasPrefix(m.Body, "!") && len(m.Body) > 1 {
			r.b.commandFromRoom(ctx, r, o, strings.TrimPrefix(m.Body, "!"), at)
		}
	case "chat", "normal", "":
		if m.Body == "" {
			return
		}
		o, _ := r.occ.get(nick)
		if r.b.isCommand(m.Body) && o.BareString() != "" {
			r.b.commandViaRoomPM(ctx, r, o, m.Body, at)
			return
		}
		r.dispatch(ctx, policies.PrivateMessage{From: o, FromJID: o.Bare(), Via: true, Body: m.Body}, at)
	}
}

// dispatch stamps an event and hands it to each enabled policy in order.
func (r *room) dispatch(ctx context.Context, ev policies.Event, at time.Time) {
	r.seq++
	ev = policies.WithMeta(ev, policies.EventMeta{Room: r.addr, At: at, Seq: r.seq})
	r.b.metrics.event(policies.EventName(ev))
	for _, in := range r.pols {
		if !in.enabled || in.crashed {
			continue
		}
		v, err := r.handleSafely(ctx, in, ev, at)
		if err != nil {
			r.b.metrics.policyError(in.spec.Name)
			r.log.Error("policy failed", zap.String("policy", in.spec.Name), zap.String("event", policies.EventName(ev)), zap.Error(err))
		}
		if v == policies.Stop {
			break
		}
	}
}

func (r *room) handleSafely(ctx context.Context, in *instance, ev policies.Event, at time.Time) (v policies.Verdict, err error) {
	defer func() {
		if p := recover(); p != nil {
			in.crashed = true
			r.log.Error("policy panicked: disabled in this room until reload", zap.String("policy", in.spec.Name),
				zap.Any("panic", p), zap.ByteString("stack", debug.Stack()))
			act := r.b.exec.Actions(r, "policy:steward", "", false, r.b.sched, at)
			_ = act.NotifyOfficers(ctx, fmt.Sprintf("Steward: policy %s failed in %s and is disabled there until the next reload. The log has details.", in.spec.Name, r.addr))
			v, err = policies.Continue, nil
		}
	}()
	act := r.b.exec.Actions(r, "policy:"+in.spec.Name, in.spec.Name, in.dryRun, r.b.sched, at)
	return in.pol.Handle(ctx, ev, r, act)
}

func (r *room) onTimer(ctx context.Context, t store.Timer, done func()) {
	defer done()
	if t.Policy == builtinTimerPolicy {
		r.onBuiltinTimer(ctx, t)
		return
	}
	at := time.Now()
	r.seq++
	ev := policies.TimerFired{EventMeta: policies.EventMeta{Room: r.addr, At: at, Seq: r.seq}, Key: t.Key, Due: t.At}
	r.b.metrics.event("timer_fired")
	for _, in := range r.pols {
		if in.spec.Name != t.Policy || in.crashed {
			continue
		}
		if _, err := r.handleSafely(ctx, in, ev, at); err != nil {
			r.b.metrics.policyError(in.spec.Name)
			r.log.Error("policy failed", zap.String("policy", in.spec.Name), zap.String("event", "timer_fired"), zap.Error(err))
		}
	}
}

func (r *room) selfPing(ctx context.Context) {
	if r.state != stateJoined {
		return
	}
	s := r.b.session()
	if s == nil {
		return
	}
	pctx, cancel := context.WithTimeout(ctx, r.b.cfg().XMPP.PingTimeout)
	defer cancel()
	err := s.Ping(pctx, r.occupantJID(r.nick))
	if proto.SelfPingVerdict(err) {
		return
	}
	r.log.Warn("self-ping says we are no longer in the room; rejoining", zap.Error(err))
	r.b.metrics.roomJoined(-1, true)
	r.state = stateIdle
	r.join(ctx)
}

// --- policies.Room ---

var _ policies.Room = (*room)(nil)

func (r *room) Addr() jid.JID           { return r.addr }
func (r *room) Self() policies.Occupant { return r.self }
func (r *room) Occupant(nick string) (policies.Occupant, bool) {
	return r.occ.get(nick)
}
func (r *room) ByBareJID(bare string) []policies.Occupant { return r.occ.byBareJID(bare) }
func (r *room) ByOccupantID(id string) (policies.Occupant, bool) {
	return r.occ.byOccupantID(id)
}
func (r *room) Occupants() iter.Seq[policies.Occupant] { return r.occ.all() }
func (r *room) Len() int                               { return r.occ.len() }
func (r *room) Features() policies.Features            { return r.features }
func (r *room) Moderating() bool {
	return r.state == stateJoined && r.self.Affiliation.Privileged()
}
func (r *room) Affiliation(bare string) policies.Affiliation {
	if a, ok := r.affs[strings.ToLower(bare)]; ok {
		return a
	}
	return policies.AffNone
}
func (r *room) Affiliated() iter.Seq2[string, policies.Affiliation] {
	return func(yield func(string, policies.Affiliation) bool) {
		for b, a := range r.affs {
			if !yield(b, a) {
				return
			}
		}
	}
}
func (r *room) IsOfficer(bare string) bool {
	return slices.Contains(r.Officers(), strings.ToLower(bare))
}

// Officers is the configured officers adjusted by the runtime settings.
func (r *room) Officers() []string {
	out := make([]string, 0, len(r.officersCfg)+len(r.settings.OfficersAdded))
	for _, o := range r.officersCfg {
		if !slices.Contains(r.settings.OfficersRemoved, o) {
			out = append(out, o)
		}
	}
	for _, o := range r.settings.OfficersAdded {
		if !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	return out
}

func (r *room) LevelOf(bare string) policies.Level {
	bare = strings.ToLower(bare)
	switch {
	case r.Affiliation(bare) == policies.AffOwner:
		return policies.Owner
	case r.Affiliation(bare) == policies.AffAdmin:
		return policies.Admin
	case r.IsOfficer(bare):
		return policies.Officer
	case r.Affiliation(bare) == policies.AffMember:
		return policies.Member
	}
	return policies.Anyone
}

// --- policies and settings ---

func (r *room) loadSettings(ctx context.Context) {
	s, err := r.b.store.Settings().Get(ctx, r.key)
	if err != nil {
		r.b.redisError("settings.get", err)
		return
	}
	r.settings = s
}

// buildPolicies makes one instance of every spec for this room.
func (r *room) buildPolicies(rc config.Room) error {
	var (
		pols []*instance
		errs []error
	)
	for _, spec := range r.b.specs {
		pc, ok := rc.Policies[spec.Name]
		if !ok {
			pc = config.PolicyConfig{Config: spec.NewConfig()}
		}
		in := &instance{spec: spec, enabled: pc.Enabled, dryRun: pc.DryRun, srcOn: "config", srcDry: "config"}
		if ov, ok := r.settings.Policies[spec.Name]; ok {
			if ov.Enabled != nil {
				in.enabled, in.srcOn = *ov.Enabled, "redis"
			}
			if ov.DryRun != nil {
				in.dryRun, in.srcDry = *ov.DryRun, "redis"
			}
		}
		deps := policies.Deps{
			Room:  r.addr,
			Log:   r.b.log.Named("policy." + spec.Name).With(zap.String("room", r.addr.String())),
			KV:    store.Scoped(r.b.store.KV(), "policy:"+spec.Name+":"+r.key+":"),
			Audit: r.b.store.Audit(),
		}
		p, err := spec.New(pc.Config, deps)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", spec.Name, err))
			continue
		}
		in.pol = p
		if c, ok := p.(policies.Commander); ok {
			in.commands = c.Commands()
			for _, c := range in.commands {
				r.b.instNames.Store(strings.ToLower(c.Name), spec.Name)
				r.b.instCmds.Store(strings.ToLower(c.Name), c)
			}
		}
		pols = append(pols, in)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	old := r.pols
	r.pols = pols
	r.cfg = rc
	r.officersCfg = lowerAll(rc.Officers)
	closeAll(old)
	return nil
}

func (r *room) reload(rc config.Room) error {
	if err := r.buildPolicies(rc); err != nil {
		r.log.Error("reload: keeping the old policies", zap.Error(err))
		return err
	}
	r.log.Info("reloaded policies")
	return nil
}

func (r *room) closePolicies() { closeAll(r.pols) }

func closeAll(pols []*instance) {
	for _, in := range pols {
		if c, ok := in.pol.(policies.Closer); ok {
			_ = c.Close()
		}
	}
}

func (r *room) instance(name string) *instance {
	for _, in := range r.pols {
		if in.spec.Name == name {
			return in
		}
	}
	return nil
}

// maxUsers reads the seat cap from a room config form (0 = none given).
func maxUsers(f proto.Form) int {
	for _, v := range []string{"muc#roomconfig_maxusers", "muc#maxusers"} {
		if n, err := strconv.Atoi(f.Value(v)); err == nil && n > 0 {
			return n
		}
	}
	return 0
}
