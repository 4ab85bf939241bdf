package bot

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"mellium.im/xmpp/jid"

	"github.com/steward-xmpp/steward/bot/proto"
	"github.com/steward-xmpp/steward/bot/xmppc"
	"github.com/steward-xmpp/steward/internal/config"
	"github.com/steward-xmpp/steward/policies"
	"github.com/steward-xmpp/steward/store"
)

// Sharer publishes bans to the bot's own block list (`ban --share`). The
// RTBL service implements it; nil when no list is configured.
type Sharer interface {
	Share(ctx context.Context, target, reason string) (itemID string, err error)
	Unshare(ctx context.Context, target string) error
}

// Options are what cmd/steward gives the bot.
type Options struct {
	Config   *config.Config
	Specs    []policies.Spec
	Store    store.All
	Log      *zap.Logger
	Registry prometheus.Registerer
	// XMPP overrides the connection settings built from Config (tests).
	XMPP *xmppc.Config
	// OnConnect hooks run after every (re)connect, after the rooms were
	// asked to rejoin (e.g. the RTBL resync).
	OnConnect []func(ctx context.Context)
	// OnPubsub receives pubsub events (service = the sender's JID).
	OnPubsub func(service string, ev proto.PubsubEvent)
	// Sharer, when set, makes `ban --share` and `unban --share` work.
	Sharer Sharer
	// ExtraCommands are process-wide commands added by services.
	ExtraCommands []policies.Command
}

// Bot is a running Steward.
type Bot struct {
	conf    atomic.Pointer[config.Config]
	specs   []policies.Spec
	store   store.All
	log     *zap.Logger
	metrics *Metrics
	exec    *Executor
	sched   *Scheduler
	client  *xmppc.Client
	opts    Options
	self    jid.JID

	mu     sync.RWMutex
	rooms  map[string]*room
	ctx    context.Context
	wg     sync.WaitGroup
	cancel context.CancelFunc

	cur atomic.Pointer[session]
	// dms carries direct messages from the XMPP reader to one routing
	// goroutine (dmLoop): routing asks rooms (who is an officer where), and
	// a room may be waiting for an IQ reply that only the reader delivers.
	dms *inbox
	// instNames maps command names that policy instances add to their
	// policy, so that a DM router knows them before any room is asked.
	instNames sync.Map
	// instCmds keeps one copy of each instance command tree, for routing.
	instCmds sync.Map
}

// New builds a bot; Run starts it.
func New(o Options) (*Bot, error) {
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	self, err := jid.Parse(o.Config.XMPP.JID)
	if err != nil {
		return nil, fmt.Errorf("xmpp.jid: %w", err)
	}
	b := &Bot{specs: o.Specs, store: o.Store, log: o.Log, opts: o, self: self.Bare(), rooms: map[string]*room{}, dms: newInbox()}
	b.conf.Store(o.Config)
	b.metrics = NewMetrics(o.Registry)
	l := o.Config.Limits
	b.exec = NewExecutor(&xmppTransport{b: b}, o.Store.Audit(), Limits{GlobalRate: l.GlobalRate, GlobalBurst: l.GlobalBurst, RoomRate: l.RoomRate, RoomBurst: l.RoomBurst}, b.metrics, o.Log.Named("executor"))
	b.sched = NewScheduler(o.Store.Timers(), b.deliverTimer, o.Log.Named("scheduler"), b.metrics)
	xc := o.XMPP
	if xc == nil {
		c, err := xmppConfig(o.Config)
		if err != nil {
			return nil, err
		}
		xc = &c
	}
	b.client = xmppc.NewClient(*xc, o.Log.Named("xmpp"), xmppc.Hooks{
		OnStanza:     b.onStanza,
		OnConnect:    b.onConnect,
		OnDisconnect: b.onDisconnect,
	})
	return b, nil
}

func (b *Bot) cfg() *config.Config { return b.conf.Load() }

func (b *Bot) selfJID() jid.JID { return b.self }

// session returns the live session or nil.
func (b *Bot) session() *session { return b.cur.Load() }

func (b *Bot) redisError(op string, err error) {
	if err == nil || errors.Is(err, store.ErrNotFound) {
		return
	}
	b.metrics.redisError(op)
	b.log.Error("redis", zap.String("op", op), zap.Error(err))
}

// Run connects and serves until ctx is cancelled, then leaves every room
// with an unavailable presence and closes the stream.
func (b *Bot) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	b.ctx, b.cancel = ctx, cancel
	defer cancel()
	for _, rc := range b.cfg().Rooms {
		if err := b.addRoom(ctx, rc, true); err != nil {
			b.log.Error("room", zap.String("room", rc.JID), zap.Error(err))
		}
	}
	recs, err := b.store.Rooms().All(ctx)
	if err != nil {
		b.redisError("rooms.all", err)
	}
	for _, rec := range recs {
		if rec.Banned || rec.Destroyed {
			b.log.Info("not rejoining a remembered room", zap.String("room", rec.JID), zap.String("why", rec.Note))
			continue
		}
		if b.room(rec.JID) != nil {
			continue
		}
		if err := b.addRoom(ctx, config.Room{JID: rec.JID, Password: config.Secret(rec.Password)}, false); err != nil {
			b.log.Error("room", zap.String("room", rec.JID), zap.Error(err))
		}
	}
	b.wg.Add(3)
	go func() { defer b.wg.Done(); b.sched.Run(ctx) }()
	go func() { defer b.wg.Done(); b.selfPingLoop(ctx) }()
	go func() { defer b.wg.Done(); b.dmLoop(ctx) }()
	err = b.client.Run(ctx)
	b.wg.Wait()
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// Stop leaves every room with an unavailable presence, then ends Run.
func (b *Bot) Stop() {
	b.mu.RLock()
	rooms := make([]*room, 0, len(b.rooms))
	for _, r := range b.rooms {
		rooms = append(rooms, r)
	}
	b.mu.RUnlock()
	var wg sync.WaitGroup
	for _, r := range rooms {
		wg.Add(1)
		done := make(chan struct{})
		r.in.push(itemLeave{status: "Steward is shutting down", done: done})
		go func() {
			defer wg.Done()
			select {
			case <-done:
			case <-time.After(3 * time.Second):
			}
		}()
	}
	wg.Wait()
	if b.cancel != nil {
		b.cancel()
	}
}

func (b *Bot) room(addr string) *room {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.rooms[strings.ToLower(addr)]
}

// roomsBySize returns every room, largest first (sweeps start there).
func (b *Bot) roomsBySize() []*room {
	b.mu.RLock()
	rooms := make([]*room, 0, len(b.rooms))
	for _, r := range b.rooms {
		rooms = append(rooms, r)
	}
	b.mu.RUnlock()
	sizes := make(map[*room]int, len(rooms))
	for _, r := range rooms {
		sizes[r] = int(r.size.Load())
	}
	sort.SliceStable(rooms, func(i, j int) bool { return sizes[rooms[i]] > sizes[rooms[j]] })
	return rooms
}

func (b *Bot) addRoom(ctx context.Context, rc config.Room, fromConfig bool) error {
	addr, err := jid.Parse(rc.JID)
	if err != nil {
		return fmt.Errorf("room %q: %w", rc.JID, err)
	}
	addr = addr.Bare()
	key := strings.ToLower(addr.String())
	b.mu.Lock()
	if _, ok := b.rooms[key]; ok {
		b.mu.Unlock()
		return nil
	}
	if rc.Policies == nil {
		rc.Policies = b.defaultPolicies()
	}
	r := newRoom(b, addr, rc, fromConfig)
	b.rooms[key] = r
	b.mu.Unlock()
	b.wg.Add(1)
	go func() { defer b.wg.Done(); r.run(ctx) }()
	if b.session() != nil {
		r.in.push(itemConnected{})
	}
	return nil
}

// defaultPolicies are the policy configs of a room that was not in the
// config file (joined by invitation): every policy at its defaults, off.
func (b *Bot) defaultPolicies() map[string]config.PolicyConfig {
	out := map[string]config.PolicyConfig{}
	for _, s := range b.specs {
		out[s.Name] = config.PolicyConfig{Config: s.NewConfig()}
	}
	return out
}

func (b *Bot) onConnect(ctx context.Context, s *xmppc.Session) {
	b.cur.Store(&session{Session: s})
	b.metrics.connected(true)
	b.log.Info("connected", zap.Stringer("jid", s.LocalAddr()))
	b.mu.RLock()
	for _, r := range b.rooms {
		r.in.push(itemConnected{})
	}
	b.mu.RUnlock()
	for _, f := range b.opts.OnConnect {
		go f(ctx)
	}
}

func (b *Bot) onDisconnect(err error) {
	b.cur.Store(nil)
	b.metrics.connected(false)
	b.mu.RLock()
	for _, r := range b.rooms {
		r.in.push(itemDisconnected{})
	}
	b.mu.RUnlock()
}

// onStanza runs inside the session's Serve loop: decode, route, never block.
func (b *Bot) onStanza(start xml.StartElement, rd xml.TokenReader) {
	at := time.Now()
	in, err := proto.Decode(start, rd)
	if err != nil {
		b.log.Debug("undecodable stanza dropped", zap.Error(err))
		return
	}
	bare := proto.BareOf(in.From)
	if r := b.room(bare); r != nil {
		if in.Message != nil && in.Message.Invite != nil && in.Message.Invite.Mediated {
			// An invitation to a room we are already in: nothing to do.
			return
		}
		r.in.push(itemStanza{in: in, at: at})
		return
	}
	if in.Message == nil {
		return
	}
	m := in.Message
	switch {
	case m.Event != nil:
		if b.opts.OnPubsub != nil {
			b.opts.OnPubsub(bare, *m.Event)
		}
	case m.Invite != nil && m.Invite.Mediated:
		b.onInvite(in.From, m.Invite.From, proto.BareOf(in.From), m.Invite.Password, true)
	case m.DirectInvite != nil:
		if strings.EqualFold(proto.BareOf(m.DirectInvite.Room), bare) {
			// The room's own jabber:x:conference copy of a mediated
			// invitation: the sender is the room, not an inviter.
			b.log.Info("ignoring an invitation sent by the room itself", zap.String("room", bare))
			return
		}
		b.onInvite(in.From, in.From, m.DirectInvite.Room, m.DirectInvite.Password, false)
	case m.Body != "" && (m.Type == "chat" || m.Type == "normal" || m.Type == ""):
		from, body := in.From, m.Body
		b.dms.push(func() { b.onDirectMessage(from, body, at) })
	}
}

// dmLoop routes direct messages in the order they arrived, off the XMPP
// reader.
func (b *Bot) dmLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-b.dms.signal:
		}
		for _, it := range b.dms.drain() {
			it.(func())()
		}
	}
}

// onInvite accepts an invitation only from invites.accept_from.
func (b *Bot) onInvite(sender, inviter, roomAddr, password string, mediated bool) {
	log := b.log.With(zap.String("room", roomAddr), zap.String("inviter", inviter), zap.Bool("mediated", mediated))
	invBare := proto.BareOf(inviter)
	if mediated && strings.EqualFold(invBare, proto.BareOf(sender)) {
		// Prosody names the inviter by occupant JID (room/Nick) unless we
		// are already admin there: the real JID is unknown.
		log.Warn("refused an invitation: the room hid the inviter's real JID; make Steward admin before inviting it, or send a direct invitation (XEP-0249)")
		return
	}
	if !b.acceptsInvitesFrom(invBare) {
		log.Warn("refused an invitation from someone not in invites.accept_from")
		return
	}
	addr, err := jid.Parse(roomAddr)
	if err != nil || addr.Localpart() == "" {
		log.Warn("refused an invitation: not a room address")
		return
	}
	ctx := b.ctx
	rec := store.RoomRecord{JID: strings.ToLower(addr.Bare().String()), InvitedBy: invBare, At: time.Now(), Password: password}
	if old, err := b.store.Rooms().Get(ctx, rec.JID); err == nil && (old.Banned || old.Destroyed) {
		log.Info("invited back into a room that had banned Steward or was destroyed: trying again")
	}
	if err := b.store.Rooms().Put(ctx, rec); err != nil {
		b.redisError("rooms.put", err)
	}
	if r := b.room(rec.JID); r != nil {
		r.in.push(itemFunc{f: func(r *room) {
			if r.state != stateJoined {
				r.state = stateIdle
				r.join(ctx)
			}
		}})
		return
	}
	log.Info("accepted an invitation")
	if err := b.addRoom(ctx, config.Room{JID: rec.JID, Password: config.Secret(password)}, false); err != nil {
		log.Error("could not join", zap.Error(err))
	}
}

func (b *Bot) acceptsInvitesFrom(bare string) bool {
	bare = strings.ToLower(bare)
	_, domain, _ := proto.SplitJID(bare)
	for _, a := range b.cfg().Invites.AcceptFrom {
		a = strings.ToLower(strings.TrimSpace(a))
		if a == bare || (!strings.Contains(a, "@") && a == domain) {
			return true
		}
	}
	return false
}

func (b *Bot) deliverTimer(t store.Timer, done func()) {
	r := b.room(t.Room)
	if r == nil {
		// The room is gone: the timer can never fire usefully.
		done()
		return
	}
	r.in.push(itemTimer{t: t, done: done})
}

// NotifyRooms delivers a policies.Notified event to every room, largest
// first (the RTBL service sweeps rooms this way after a publish).
func (b *Bot) NotifyRooms(topic string, payload any) {
	at := time.Now()
	for _, r := range b.roomsBySize() {
		r.in.push(itemNotify{topic: topic, payload: payload, at: at})
	}
}

func (b *Bot) selfPingLoop(ctx context.Context) {
	iv := b.cfg().XMPP.SelfPingInterval
	if iv <= 0 {
		return
	}
	t := time.NewTicker(iv)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			b.mu.RLock()
			for _, r := range b.rooms {
				r.in.push(itemSelfPing{})
			}
			b.mu.RUnlock()
		}
	}
}

// Reload validates a new config and swaps every room's policies at an event
// boundary; on any error the old config stays.
func (b *Bot) Reload(nc *config.Config) error {
	old := b.cfg()
	b.conf.Store(nc)
	var errs []error
	for _, rc := range nc.Rooms {
		r := b.room(rc.JID)
		if r == nil {
			if err := b.addRoom(b.ctx, rc, true); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		done := make(chan error, 1)
		r.in.push(itemReload{cfg: rc, done: done})
		select {
		case err := <-done:
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", rc.JID, err))
			}
		case <-time.After(30 * time.Second):
			errs = append(errs, fmt.Errorf("%s: room busy, reload not applied within 30s", rc.JID))
		}
	}
	// Rooms removed from the file are left, unless they came from an invitation.
	b.mu.RLock()
	var gone []*room
	for _, r := range b.rooms {
		if r.fromConfig && !slices.ContainsFunc(nc.Rooms, func(rc config.Room) bool { return strings.EqualFold(rc.JID, r.key) }) {
			gone = append(gone, r)
		}
	}
	b.mu.RUnlock()
	for _, r := range gone {
		done := make(chan struct{})
		r.in.push(itemLeave{status: "removed from Steward's configuration", done: done})
		<-done
		b.mu.Lock()
		delete(b.rooms, r.key)
		b.mu.Unlock()
	}
	err := errors.Join(errs...)
	b.metrics.reloaded(err == nil)
	if err != nil {
		b.conf.Store(old)
	}
	return err
}

// Connected reports whether the XMPP session is up.
func (b *Bot) Connected() bool { return b.session() != nil }

// RoomsReady reports whether every room is joined or in a state it cannot
// leave by itself (banned, destroyed); the second value names the others.
func (b *Bot) RoomsReady() (bool, []string) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	var waiting []string
	for _, r := range b.rooms {
		switch roomState(r.stateShown.Load().(string)) {
		case stateJoined, stateBanned, stateDestroyed, stateLeft, stateMembersOnly, stateRefused:
		default:
			waiting = append(waiting, r.key)
		}
	}
	sort.Strings(waiting)
	return len(waiting) == 0, waiting
}

// Store gives the bot's store (for health checks).
func (b *Bot) Store() store.All { return b.store }

// Metrics gives the bot's metrics (services export their gauges through it).
func (b *Bot) Metrics() *Metrics { return b.metrics }

// AnnounceToOfficers tells every officer of every room, once each, by
// direct message (operational notices such as a refused reload).
func (b *Bot) AnnounceToOfficers(ctx context.Context, text string) {
	seen := map[string]bool{}
	for _, r := range b.roomsBySize() {
		officers, _ := ask(r, func(r *room) []string { return r.Officers() })
		for _, o := range officers {
			if seen[o] {
				continue
			}
			seen[o] = true
			if err := b.sendLimited(ctx, jid.JID{}, proto.TextMessage("", o, "chat", text)); err != nil {
				b.log.Warn("could not tell an officer", zap.String("officer", o), zap.Error(err))
			}
		}
	}
}
