package rtbl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"mellium.im/xmpp/jid"

	"github.com/steward-xmpp/steward/policies"
	"github.com/steward-xmpp/steward/store"
)

// List modes.
const (
	ModeApply = "apply" // act on matches
	ModeAlert = "alert" // tell officers only
	ModeOff   = "off"   // not fetched, never matched
)

// KV namespaces of the service (global, not scoped to a room).
const (
	nsListPrefix = "rtbl:list:" // + list name: item id -> Entry JSON
	nsMeta       = "rtbl:meta"  // list name -> meta JSON
	nsExempt     = "rtbl:exempt"
)

// ListConfig is one subscribed list (rtbl.lists[i] in the config file).
type ListConfig struct {
	// Name is how rooms and commands refer to the list.
	Name string
	// Service is the pubsub service JID, e.g. "xmppbl.org".
	Service string
	// Node is the pubsub node, e.g. "muc_bans_sha256".
	Node string
	// Mode is apply, alert or off.
	Mode string
	// AutoUnban lifts the bans made for an entry when it is retracted.
	AutoUnban bool
}

// PublishConfig is the list Steward publishes to with `ban --share`.
type PublishConfig struct {
	Name    string
	Service string
	Node    string
}

// DefaultNode is the node mod_muc_rtbl uses when none is configured.
const DefaultNode = "muc_bans_sha256"

var listName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// ValidateConfig checks the global rtbl section; errors are KeyErrors
// relative to it ("lists[1].mode: …").
func ValidateConfig(lists []ListConfig, pub *PublishConfig) error {
	var errs []error
	seen := map[string]bool{}
	for i, l := range lists {
		at := func(k string) string { return fmt.Sprintf("lists[%d].%s", i, k) }
		if !listName.MatchString(l.Name) {
			errs = append(errs, policies.KeyErrorf(at("name"), "must be lowercase letters, digits, '.', '_' or '-', got %q", l.Name))
		} else if seen[l.Name] {
			errs = append(errs, policies.KeyErrorf(at("name"), "duplicate list name %q", l.Name))
		}
		seen[l.Name] = true
		if _, err := jid.Parse(l.Service); err != nil || l.Service == "" {
			errs = append(errs, policies.KeyErrorf(at("service"), "must be a pubsub service JID, got %q", l.Service))
		}
		if strings.TrimSpace(l.Node) == "" {
			errs = append(errs, policies.KeyErrorf(at("node"), "must not be empty"))
		}
		switch l.Mode {
		case ModeApply, ModeAlert, ModeOff:
		default:
			errs = append(errs, policies.KeyErrorf(at("mode"), `must be "apply", "alert" or "off", got %q`, l.Mode))
		}
	}
	if pub != nil {
		if _, err := jid.Parse(pub.Service); err != nil || pub.Service == "" {
			errs = append(errs, policies.KeyErrorf("publish.service", "must be a pubsub service JID, got %q", pub.Service))
		}
		if strings.TrimSpace(pub.Node) == "" {
			errs = append(errs, policies.KeyErrorf("publish.node", "must not be empty"))
		}
	}
	return errors.Join(errs...)
}

// Hit is one list that lists a JID or its domain.
type Hit struct {
	List   string
	Mode   string
	ItemID string
	// Reason describes the entry's report (Entry.Describe).
	Reason string
	// Domain is true when the domain, not the bare JID, is listed.
	Domain bool
}

// Service follows the configured lists for the whole process: one instance,
// shared by every room's rtbl policy. Matching reads an immutable snapshot
// through an atomic pointer, so it never locks, waits on I/O or allocates.
type Service struct {
	log      *zap.Logger
	src      Source
	kv       store.KV
	notify   Notifier
	now      func() time.Time
	backMin  time.Duration
	backMax  time.Duration
	lists    []*list
	byName   map[string]*list
	publish  *PublishConfig
	exempt   atomic.Pointer[map[string]string] // global: bare JID or domain -> note
	exemptMu sync.Mutex                        // serialises exemption writers

	syncMu     sync.Mutex
	syncCancel context.CancelFunc
	wg         sync.WaitGroup

	roomsMu sync.Mutex
	rooms   map[string]*Policy // room -> the enabled instance
}

type list struct {
	cfg     ListConfig
	set     atomic.Pointer[snapshot]
	matches atomic.Uint64

	mu          sync.Mutex // serialises writers of set and guards the fields below
	lastSync    time.Time
	lastAttempt time.Time
	lastErr     string
	subscribed  bool
	failures    int
	// While a fetch is in flight, live events are also kept here and
	// applied again on top of the fetched items: the fetch may predate them.
	fetching bool
	during   []liveEvent
}

// liveEvent is one pubsub event as OnEvent received it.
type liveEvent struct {
	published []Entry
	retracted []string
}

type snapshot struct {
	m map[[32]byte]item
}

type item struct {
	e    Entry
	desc string
}

type meta struct {
	SyncedAt time.Time `json:"synced_at"`
}

// Option changes a Service's defaults.
type Option func(*Service)

// WithClock replaces time.Now (status ages in tests).
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// WithBackoff sets the first and the longest retry delay of a failed sync
// (default 2s and 5m; each failure doubles the delay).
func WithBackoff(minDelay, maxDelay time.Duration) Option {
	return func(s *Service) { s.backMin, s.backMax = minDelay, maxDelay }
}

// NewService builds the service. kv is the global, unscoped KV; publish may
// be nil. Lists must have passed ValidateConfig.
func NewService(lists []ListConfig, publish *PublishConfig, src Source, kv store.KV, notify Notifier, log *zap.Logger, opts ...Option) *Service {
	s := &Service{
		log: log, src: src, kv: kv, notify: notify, now: time.Now,
		backMin: 2 * time.Second, backMax: 5 * time.Minute,
		byName: map[string]*list{}, publish: publish, rooms: map[string]*Policy{},
	}
	for _, o := range opts {
		o(s)
	}
	if s.log == nil {
		s.log = zap.NewNop()
	}
	for _, c := range lists {
		l := &list{cfg: c}
		l.set.Store(&snapshot{m: map[[32]byte]item{}})
		s.lists = append(s.lists, l)
		s.byName[c.Name] = l
	}
	empty := map[string]string{}
	s.exempt.Store(&empty)
	return s
}

// Lists returns the configured lists in config order.
func (s *Service) Lists() []ListConfig {
	out := make([]ListConfig, len(s.lists))
	for i, l := range s.lists {
		out[i] = l.cfg
	}
	return out
}

// List returns one list's config.
func (s *Service) List(name string) (ListConfig, bool) {
	l, ok := s.byName[name]
	if !ok {
		return ListConfig{}, false
	}
	return l.cfg, true
}

// Publishing returns the list Steward publishes to, nil if none.
func (s *Service) Publishing() *PublishConfig { return s.publish }

// Start loads the last known sets and the global exemptions from the store,
// so that matching works before (or without) the pubsub service. It starts
// nothing; the bot calls OnConnected once the session is up.
func (s *Service) Start(ctx context.Context) error {
	var errs []error
	for _, l := range s.lists {
		if l.cfg.Mode == ModeOff {
			continue
		}
		raw, err := s.kv.All(ctx, nsListPrefix+l.cfg.Name)
		if err != nil {
			errs = append(errs, fmt.Errorf("rtbl: load list %s: %w", l.cfg.Name, err))
			continue
		}
		m := make(map[[32]byte]item, len(raw))
		for id, v := range raw {
			k, err := ParseItemID(id)
			if err != nil {
				continue
			}
			e := Entry{ID: id}
			_ = json.Unmarshal(v, &e) // a damaged payload still leaves the hash usable
			m[k] = item{e: e, desc: e.Describe()}
		}
		l.mu.Lock()
		l.set.Store(&snapshot{m: m})
		if b, err := s.kv.Get(ctx, nsMeta, l.cfg.Name); err == nil {
			var md meta
			if json.Unmarshal(b, &md) == nil {
				l.lastSync = md.SyncedAt
			}
		}
		l.mu.Unlock()
		s.log.Info("rtbl list loaded from store", zap.String("list", l.cfg.Name), zap.Int("entries", len(m)))
	}
	raw, err := s.kv.All(ctx, nsExempt)
	if err != nil {
		errs = append(errs, fmt.Errorf("rtbl: load exemptions: %w", err))
	} else {
		m := make(map[string]string, len(raw))
		for k, v := range raw {
			m[k] = string(v)
		}
		s.exempt.Store(&m)
	}
	return errors.Join(errs...)
}

// OnConnected subscribes to and fetches every list that is not off, each in
// its own goroutine that retries with exponential backoff until it succeeds
// or ctx ends. The bot calls it after every (re)connect; a call cancels the
// retries of the previous one.
func (s *Service) OnConnected(ctx context.Context) {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	if s.syncCancel != nil {
		s.syncCancel()
	}
	ctx, cancel := context.WithCancel(ctx)
	s.syncCancel = cancel
	for _, l := range s.lists {
		if l.cfg.Mode == ModeOff {
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.syncLoop(ctx, l)
		}()
	}
}

// Close stops the sync goroutines and waits for them.
func (s *Service) Close() error {
	s.syncMu.Lock()
	if s.syncCancel != nil {
		s.syncCancel()
	}
	s.syncMu.Unlock()
	s.wg.Wait()
	return nil
}

func (s *Service) syncLoop(ctx context.Context, l *list) {
	delay := s.backMin
	for {
		err := s.syncList(ctx, l)
		if err == nil || ctx.Err() != nil {
			return
		}
		s.log.Warn("rtbl sync failed; keeping the last set", zap.String("list", l.cfg.Name), zap.Duration("retry_in", delay), zap.Error(err))
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		delay = min(delay*2, s.backMax)
	}
}

// syncList subscribes and fetches one list. A fetch that works replaces the
// set even when the subscription failed (the retry subscribes again).
func (s *Service) syncList(ctx context.Context, l *list) error {
	subErr := s.src.Subscribe(ctx, l.cfg.Service, l.cfg.Node)
	l.mu.Lock()
	l.fetching, l.during = true, nil
	l.mu.Unlock()
	entries, fetchErr := s.src.Fetch(ctx, l.cfg.Service, l.cfg.Node)
	var storeErr error
	if fetchErr == nil {
		storeErr = s.resync(ctx, l, entries)
	} else {
		l.mu.Lock()
		l.fetching, l.during = false, nil
		l.mu.Unlock()
	}
	err := errors.Join(wrapErr("subscribe", subErr), wrapErr("fetch", fetchErr), storeErr)
	l.mu.Lock()
	l.lastAttempt = s.now()
	if subErr == nil {
		l.subscribed = true
	} else {
		l.subscribed = false
	}
	if err != nil {
		l.lastErr = strings.ReplaceAll(err.Error(), "\n", "; ")
		l.failures++
	} else {
		l.lastErr = ""
		l.failures = 0
	}
	l.mu.Unlock()
	return err
}

func wrapErr(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}

// resync replaces l's set with entries and tells the rooms what appeared
// and what disappeared since the last known set.
func (s *Service) resync(ctx context.Context, l *list, entries []Entry) error {
	l.mu.Lock()
	old := l.set.Load().m
	m := make(map[[32]byte]item, len(entries))
	bad := 0
	for _, e := range entries {
		k, err := ParseItemID(e.ID)
		if err != nil {
			bad++
			continue
		}
		m[k] = item{e: e, desc: e.Describe()}
	}
	// Events that arrived while the fetch was in flight may be newer than
	// it: apply them again, in order (applying one twice changes nothing).
	for _, ev := range l.during {
		for _, e := range ev.published {
			if k, err := ParseItemID(e.ID); err == nil {
				m[k] = item{e: e, desc: e.Describe()}
			}
		}
		for _, id := range ev.retracted {
			if k, err := ParseItemID(id); err == nil {
				delete(m, k)
			}
		}
	}
	l.fetching, l.during = false, nil
	var appeared []Entry
	var gone []string
	for k, it := range m {
		if _, ok := old[k]; !ok {
			appeared = append(appeared, it.e)
		}
	}
	for k, it := range old {
		if _, ok := m[k]; !ok {
			gone = append(gone, it.e.ID)
		}
	}
	l.set.Store(&snapshot{m: m})
	now := s.now()
	l.lastSync = now
	l.mu.Unlock()
	if bad > 0 {
		s.log.Warn("rtbl items with invalid ids ignored", zap.String("list", l.cfg.Name), zap.Int("count", bad))
	}
	s.log.Info("rtbl list synced", zap.String("list", l.cfg.Name), zap.Int("entries", len(m)),
		zap.Int("added", len(appeared)), zap.Int("removed", len(gone)))

	var errs []error
	if len(appeared) > 0 || len(gone) > 0 || len(old) != len(m) {
		kvm := make(map[string][]byte, len(m))
		for _, it := range m {
			kvm[it.e.ID] = encodeEntry(it.e)
		}
		if err := s.kv.Replace(ctx, nsListPrefix+l.cfg.Name, kvm); err != nil {
			errs = append(errs, fmt.Errorf("store list: %w", err))
		}
	}
	mb, _ := json.Marshal(meta{SyncedAt: now})
	if err := s.kv.Put(ctx, nsMeta, l.cfg.Name, mb); err != nil {
		errs = append(errs, fmt.Errorf("store meta: %w", err))
	}
	s.announce(l, appeared, gone)
	return errors.Join(errs...)
}

func encodeEntry(e Entry) []byte {
	b, _ := json.Marshal(e) // Entry holds only strings
	return b
}

func (s *Service) announce(l *list, appeared []Entry, gone []string) {
	if s.notify == nil {
		return
	}
	slices.SortFunc(appeared, func(a, b Entry) int { return strings.Compare(a.ID, b.ID) })
	slices.Sort(gone)
	if len(appeared) > 0 {
		s.notify.NotifyRooms(Topic, NewPublished(l.cfg.Name, appeared))
	}
	if len(gone) > 0 {
		s.notify.NotifyRooms(Topic, Retracted{List: l.cfg.Name, IDs: gone})
	}
}

// OnEvent applies a pubsub event for (service, node): items published and
// items retracted. Events for unknown nodes or lists that are off are
// ignored; invalid ids are skipped. Republished known items (servers resend
// the last item at each login) change nothing and notify nobody.
func (s *Service) OnEvent(ctx context.Context, service, node string, published []Entry, retracted []string) error {
	l := s.byNode(service, node)
	if l == nil {
		s.log.Debug("rtbl event for an unknown node ignored", zap.String("service", service), zap.String("node", node))
		return nil
	}
	l.mu.Lock()
	if l.fetching {
		l.during = append(l.during, liveEvent{published: published, retracted: retracted})
	}
	old := l.set.Load().m
	var appeared, toPut []Entry
	var gone []string
	m := old
	cloned := false
	clone := func() {
		if !cloned {
			m = make(map[[32]byte]item, len(old)+len(published))
			for k, v := range old {
				m[k] = v
			}
			cloned = true
		}
	}
	for _, e := range published {
		k, err := ParseItemID(e.ID)
		if err != nil {
			continue
		}
		prev, ok := m[k]
		if ok && prev.e == e {
			continue
		}
		clone()
		m[k] = item{e: e, desc: e.Describe()}
		toPut = append(toPut, e)
		if !ok {
			appeared = append(appeared, e)
		}
	}
	for _, id := range retracted {
		k, err := ParseItemID(id)
		if err != nil {
			continue
		}
		if _, ok := m[k]; !ok {
			continue
		}
		clone()
		delete(m, k)
		gone = append(gone, id)
	}
	if cloned {
		l.set.Store(&snapshot{m: m})
	}
	l.mu.Unlock()
	if !cloned {
		return nil
	}
	var errs []error
	for _, e := range toPut {
		if err := s.kv.Put(ctx, nsListPrefix+l.cfg.Name, e.ID, encodeEntry(e)); err != nil {
			errs = append(errs, err)
		}
	}
	if len(gone) > 0 {
		if err := s.kv.Delete(ctx, nsListPrefix+l.cfg.Name, gone...); err != nil {
			errs = append(errs, err)
		}
	}
	s.log.Info("rtbl list updated", zap.String("list", l.cfg.Name), zap.Int("added", len(appeared)), zap.Int("removed", len(gone)))
	s.announce(l, appeared, gone)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("rtbl: store update of %s: %w", l.cfg.Name, err)
	}
	return nil
}

func (s *Service) byNode(service, node string) *list {
	for _, l := range s.lists {
		if l.cfg.Mode != ModeOff && strings.EqualFold(l.cfg.Service, service) && l.cfg.Node == node {
			return l
		}
	}
	return nil
}

// keys returns the hash keys of a bare JID and of its domain. hasDomain is
// false when s is a domain alone (then both keys are the same).
func keys(s string) (jk, dk [32]byte, hasDomain bool) {
	if i := strings.IndexByte(s, '/'); i >= 0 {
		s = s[:i]
	}
	jk = key(s)
	if i := strings.IndexByte(s, '@'); i >= 0 {
		return jk, key(s[i+1:]), true
	}
	return jk, jk, false
}

// Match returns every list, apply or alert, that lists bareJID or its
// domain, in config order.
func (s *Service) Match(bareJID string) []Hit { return s.AppendMatches(nil, bareJID) }

// AppendMatches is Match appending to dst; with a reused dst it allocates
// nothing (the join path).
func (s *Service) AppendMatches(dst []Hit, bareJID string) []Hit {
	if bareJID == "" {
		return dst
	}
	jk, dk, hasDomain := keys(bareJID)
	for _, l := range s.lists {
		if l.cfg.Mode == ModeOff {
			continue
		}
		m := l.set.Load().m
		if it, ok := m[jk]; ok {
			dst = append(dst, Hit{List: l.cfg.Name, Mode: l.cfg.Mode, ItemID: it.e.ID, Reason: it.desc, Domain: !hasDomain})
			continue
		}
		if hasDomain {
			if it, ok := m[dk]; ok {
				dst = append(dst, Hit{List: l.cfg.Name, Mode: l.cfg.Mode, ItemID: it.e.ID, Reason: it.desc, Domain: true})
			}
		}
	}
	return dst
}

// matchList looks bareJID up in one list only (any mode but off).
func (s *Service) matchList(name, bareJID string) (Hit, bool) {
	l, ok := s.byName[name]
	if !ok || bareJID == "" {
		return Hit{}, false
	}
	jk, dk, hasDomain := keys(bareJID)
	m := l.set.Load().m
	if it, ok := m[jk]; ok {
		return Hit{List: name, Mode: l.cfg.Mode, ItemID: it.e.ID, Reason: it.desc, Domain: !hasDomain}, true
	}
	if it, ok := m[dk]; ok && hasDomain {
		return Hit{List: name, Mode: l.cfg.Mode, ItemID: it.e.ID, Reason: it.desc, Domain: true}, true
	}
	return Hit{}, false
}

// countHit records that a policy acted or alerted on a list (for metrics).
func (s *Service) countHit(name string) {
	if l, ok := s.byName[name]; ok {
		l.matches.Add(1)
	}
}

// ListStatus is one list's health, for `rtbl status` and metrics.
type ListStatus struct {
	ListConfig
	// Size is the number of entries in memory.
	Size int
	// LastSync is the last successful full fetch (kept across restarts),
	// zero if never.
	LastSync time.Time
	// Age is the time since LastSync, 0 when never synced.
	Age time.Duration
	// LastAttempt is the last sync attempt of this process.
	LastAttempt time.Time
	// LastError is the last attempt's error, "" after a success.
	LastError string
	// Failures counts attempts failed in a row.
	Failures int
	// Subscribed is true once the last subscribe succeeded.
	Subscribed bool
	// Matches counts joins and occupants that rooms acted or alerted on.
	Matches uint64
}

// Status returns every list's status, in config order.
func (s *Service) Status() []ListStatus {
	now := s.now()
	out := make([]ListStatus, 0, len(s.lists))
	for _, l := range s.lists {
		l.mu.Lock()
		st := ListStatus{
			ListConfig: l.cfg, Size: len(l.set.Load().m), LastSync: l.lastSync,
			LastAttempt: l.lastAttempt, LastError: l.lastErr, Failures: l.failures,
			Subscribed: l.subscribed, Matches: l.matches.Load(),
		}
		l.mu.Unlock()
		if !st.LastSync.IsZero() {
			st.Age = max(now.Sub(st.LastSync), 0)
		}
		out = append(out, st)
	}
	return out
}

// Age is the time since the list's set was last fetched in full; false if
// the list is unknown or was never synced.
func (s *Service) Age(name string) (time.Duration, bool) {
	l, ok := s.byName[name]
	if !ok {
		return 0, false
	}
	l.mu.Lock()
	last := l.lastSync
	l.mu.Unlock()
	if last.IsZero() {
		return 0, false
	}
	return max(s.now().Sub(last), 0), true
}

// NormalizeTarget turns user input into a bare JID or a domain, lowercase,
// with any resource cut off.
func NormalizeTarget(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("empty JID")
	}
	j, err := jid.Parse(s)
	if err != nil {
		return "", fmt.Errorf("%q is not a JID: %w", s, err)
	}
	return strings.ToLower(j.Bare().String()), nil
}

// ErrNoPublish is returned by Share and Unshare without rtbl.publish.
var ErrNoPublish = errors.New("no rtbl.publish list is configured")

// Share publishes target (a bare JID or a domain) to the publish list with
// a XEP-0377 spam report carrying text, and returns the item id.
func (s *Service) Share(ctx context.Context, target, text string) (string, error) {
	if s.publish == nil {
		return "", ErrNoPublish
	}
	t, err := NormalizeTarget(target)
	if err != nil {
		return "", err
	}
	e := Entry{ID: Hash(t), Reason: ReasonSpam, Text: truncate(strings.TrimSpace(text), maxText)}
	if err := s.src.Publish(ctx, s.publish.Service, s.publish.Node, e); err != nil {
		return "", fmt.Errorf("rtbl: publish to %s: %w", s.publish.Name, err)
	}
	s.log.Info("rtbl entry shared", zap.String("list", s.publish.Name), zap.String("item", e.ID))
	return e.ID, nil
}

// Unshare retracts target from the publish list and returns the item id.
func (s *Service) Unshare(ctx context.Context, target string) (string, error) {
	if s.publish == nil {
		return "", ErrNoPublish
	}
	t, err := NormalizeTarget(target)
	if err != nil {
		return "", err
	}
	id := Hash(t)
	if err := s.src.Retract(ctx, s.publish.Service, s.publish.Node, id); err != nil {
		return "", fmt.Errorf("rtbl: retract from %s: %w", s.publish.Name, err)
	}
	s.log.Info("rtbl entry unshared", zap.String("list", s.publish.Name), zap.String("item", id))
	return id, nil
}

// Exempt exempts a bare JID or a domain from every list in every room.
// note is kept with it (who and why).
func (s *Service) Exempt(ctx context.Context, target, note string) error {
	t, err := NormalizeTarget(target)
	if err != nil {
		return err
	}
	s.exemptMu.Lock()
	defer s.exemptMu.Unlock()
	if err := s.kv.Put(ctx, nsExempt, t, []byte(note)); err != nil {
		return fmt.Errorf("rtbl: store exemption: %w", err)
	}
	old := *s.exempt.Load()
	m := make(map[string]string, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[t] = note
	s.exempt.Store(&m)
	return nil
}

// Unexempt removes a global exemption; false if there was none.
func (s *Service) Unexempt(ctx context.Context, target string) (bool, error) {
	t, err := NormalizeTarget(target)
	if err != nil {
		return false, err
	}
	s.exemptMu.Lock()
	defer s.exemptMu.Unlock()
	old := *s.exempt.Load()
	if _, ok := old[t]; !ok {
		return false, nil
	}
	if err := s.kv.Delete(ctx, nsExempt, t); err != nil {
		return false, fmt.Errorf("rtbl: delete exemption: %w", err)
	}
	m := make(map[string]string, len(old))
	for k, v := range old {
		if k != t {
			m[k] = v
		}
	}
	s.exempt.Store(&m)
	return true, nil
}

// IsExempt reports whether a bare JID, or its domain, is exempt globally.
func (s *Service) IsExempt(bareJID string) bool {
	return exemptIn(*s.exempt.Load(), bareJID)
}

// Exemptions lists the global exemptions, sorted.
func (s *Service) Exemptions() map[string]string {
	old := *s.exempt.Load()
	m := make(map[string]string, len(old))
	for k, v := range old {
		m[k] = v
	}
	return m
}

func exemptIn(m map[string]string, bare string) bool {
	if len(m) == 0 || bare == "" {
		return false
	}
	bare = strings.ToLower(bare)
	if _, ok := m[bare]; ok {
		return true
	}
	if i := strings.IndexByte(bare, '@'); i >= 0 {
		_, ok := m[bare[i+1:]]
		return ok
	}
	return false
}

// register makes p the instance commands of room use.
func (s *Service) register(room string, p *Policy) {
	s.roomsMu.Lock()
	s.rooms[room] = p
	s.roomsMu.Unlock()
}

// unregister forgets p unless a reload already replaced it.
func (s *Service) unregister(room string, p *Policy) {
	s.roomsMu.Lock()
	if s.rooms[room] == p {
		delete(s.rooms, room)
	}
	s.roomsMu.Unlock()
}

func (s *Service) instance(room string) *Policy {
	s.roomsMu.Lock()
	defer s.roomsMu.Unlock()
	return s.rooms[room]
}
