// Package app wires Steward together: the store, the RTBL service, the
// policies and the bot, plus the HTTP endpoints. cmd/steward, the demo and
// the end-to-end tests all start Steward through it, so they run the same
// code.
package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/steward-xmpp/steward/bot"
	"github.com/steward-xmpp/steward/bot/proto"
	"github.com/steward-xmpp/steward/bot/xmppc"
	"github.com/steward-xmpp/steward/internal/config"
	"github.com/steward-xmpp/steward/policies"
	"github.com/steward-xmpp/steward/policies/builtin"
	"github.com/steward-xmpp/steward/rtbl"
	"github.com/steward-xmpp/steward/store"
	"github.com/steward-xmpp/steward/store/redisstore"
)

// ConfigSpecs are the policy specs used to load and validate a config file
// (before any service exists).
func ConfigSpecs() []policies.Spec { return builtin.Specs(builtin.Services{}) }

// Load reads and validates a config file with the built-in policies.
func Load(path string, env []string) (*config.Config, error) {
	return config.Load(path, ConfigSpecs(), env)
}

// Options tune an App for tests.
type Options struct {
	// XMPP overrides the connection settings (e.g. a test CA pool).
	XMPP *xmppc.Config
	// Registry receives the metrics; nil makes a private one.
	Registry *prometheus.Registry
}

// App is one running Steward.
type App struct {
	Bot   *bot.Bot
	RTBL  *rtbl.Service
	Store store.All

	cfg  *config.Config
	log  *zap.Logger
	reg  *prometheus.Registry
	http *http.Server
	addr string

	// ReloadFromFile, when set, re-reads the config file (SIGHUP and
	// POST /-/reload).
	ReloadFromFile func() error

	events     chan pubsubEvent
	mu         sync.Mutex
	subscribed *prometheus.GaugeVec
}

type pubsubEvent struct {
	service string
	ev      proto.PubsubEvent
}

// lateNotifier lets the RTBL service be built before the bot it notifies.
type lateNotifier struct{ b *bot.Bot }

func (n *lateNotifier) NotifyRooms(topic string, payload any) {
	if n.b != nil {
		n.b.NotifyRooms(topic, payload)
	}
}

// source implements rtbl.Source over the bot's pubsub operations.
type source struct{ ps func() bot.PubSub }

func (s source) Fetch(ctx context.Context, service, node string) ([]rtbl.Entry, error) {
	items, err := s.ps().Items(ctx, service, node)
	if err != nil {
		return nil, err
	}
	out := make([]rtbl.Entry, 0, len(items))
	for _, it := range items {
		out = append(out, rtbl.Entry{ID: it.ID, Reason: it.ReportReason, Text: it.ReportText})
	}
	return out, nil
}

func (s source) Subscribe(ctx context.Context, service, node string) error {
	return s.ps().Subscribe(ctx, service, node)
}

func (s source) Publish(ctx context.Context, service, node string, e rtbl.Entry) error {
	var rep *proto.Report
	if e.Reason != "" || e.Text != "" {
		rep = &proto.Report{Reason: e.Reason, Text: e.Text}
	}
	return s.ps().Publish(ctx, service, node, e.ID, rep)
}

func (s source) Retract(ctx context.Context, service, node, id string) error {
	return s.ps().Retract(ctx, service, node, id)
}

// sharer adapts the RTBL service to bot.Sharer.
type sharer struct{ s *rtbl.Service }

func (sh sharer) Share(ctx context.Context, target, reason string) (string, error) {
	return sh.s.Share(ctx, target, reason)
}

func (sh sharer) Unshare(ctx context.Context, target string) error {
	_, err := sh.s.Unshare(ctx, target)
	return err
}

// New connects to Redis and builds everything; Run starts it.
func New(ctx context.Context, cfg *config.Config, log *zap.Logger, o Options) (*App, error) {
	reg := o.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	a := &App{cfg: cfg, log: log, reg: reg, events: make(chan pubsubEvent, 4096)}
	redisErrors := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "steward_store_errors_total", Help: "Failed Redis calls by store operation."}, []string{"op"})
	reg.MustRegister(redisErrors)
	st, err := redisstore.Open(ctx, redisstore.Options{
		URL: cfg.Redis.URL.Reveal(), Addrs: cfg.Redis.Addrs, MasterName: cfg.Redis.MasterName,
		Password: cfg.Redis.Password.Reveal(), Prefix: cfg.Redis.Prefix,
	}, redisstore.WithErrorHook(func(op string, err error) { redisErrors.WithLabelValues(op).Inc() }))
	if err != nil {
		return nil, fmt.Errorf("redis (%s): %w", cfg.Redis.SafeURL(), err)
	}
	a.Store = st

	var lists []rtbl.ListConfig
	for _, l := range cfg.RTBL.Lists {
		lists = append(lists, rtbl.ListConfig{Name: l.Name, Service: l.Service, Node: l.Node, Mode: l.Mode, AutoUnban: l.AutoUnban})
	}
	var pub *rtbl.PublishConfig
	if p := cfg.RTBL.Publish; p != nil {
		pub = &rtbl.PublishConfig{Name: p.Name, Service: p.Service, Node: p.Node}
	}
	notifier := &lateNotifier{}
	var b *bot.Bot
	a.RTBL = rtbl.NewService(lists, pub, source{ps: func() bot.PubSub { return b.PubSub() }}, st.KV(), notifier, log.Named("rtbl"))
	specs := builtin.Specs(builtin.Services{RTBL: a.RTBL})
	// Re-decode the policy sections with the live specs, so instances get
	// configs validated against the services they will use.
	b, err = bot.New(bot.Options{
		Config: cfg, Specs: specs, Store: st, Log: log, Registry: reg, XMPP: o.XMPP,
		OnConnect: []func(context.Context){a.onConnect},
		OnPubsub:  func(service string, ev proto.PubsubEvent) { a.events <- pubsubEvent{service, ev} },
		Sharer:    sharer{a.RTBL},
	})
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	notifier.b = b
	a.Bot = b
	subscribed := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "steward_rtbl_subscribed", Help: "1 when the subscription to the list is healthy."}, []string{"list"})
	reg.MustRegister(subscribed)
	a.subscribed = subscribed
	return a, nil
}

func (a *App) exportRTBL(subscribed *prometheus.GaugeVec) {
	m := a.Bot.Metrics()
	for _, s := range a.RTBL.Status() {
		m.RTBL(s.Name, s.Size, s.Age)
		v := 0.0
		if s.Subscribed {
			v = 1
		}
		subscribed.WithLabelValues(s.Name).Set(v)
	}
}

// onConnect runs after every (re)connect: create our own published node if
// needed, then resync and resubscribe every list.
func (a *App) onConnect(ctx context.Context) {
	if p := a.cfg.RTBL.Publish; p != nil {
		err := a.Bot.PubSub().Create(ctx, p.Service, p.Node, map[string][]string{
			"pubsub#access_model": {"open"}, "pubsub#persist_items": {"1"}, "pubsub#max_items": {"max"},
		})
		if err != nil && !isConflict(err) {
			a.log.Warn("could not create the published block list node", zap.String("service", p.Service), zap.String("node", p.Node), zap.Error(err))
		}
	}
	a.RTBL.OnConnected(ctx)
}

func isConflict(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "conflict") || strings.Contains(err.Error(), "already exists"))
}

// Run serves until ctx ends; call Stop to leave rooms cleanly first.
func (a *App) Run(ctx context.Context) error {
	if err := a.RTBL.Start(ctx); err != nil {
		a.log.Warn("could not load the stored block lists; starting empty", zap.Error(err))
	}
	go a.pubsubWorker(ctx)
	go func() {
		t := time.NewTicker(10 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				a.exportRTBL(a.subscribed)
			}
		}
	}()
	if a.cfg.HTTP.Listen != "" {
		if err := a.serveHTTP(a.cfg.HTTP.Listen); err != nil {
			return err
		}
	}
	err := a.Bot.Run(ctx)
	_ = a.RTBL.Close()
	if a.http != nil {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		_ = a.http.Shutdown(sctx)
		cancel()
	}
	_ = a.Store.Close()
	return err
}

// pubsubWorker applies pubsub events in order, off the XMPP reader.
func (a *App) pubsubWorker(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case e := <-a.events:
			if e.ev.Purge || e.ev.Delete {
				// A purged or deleted node: fetch every list again, so that
				// entries that vanished count as retracted (auto_unban,
				// officers told) right away, not at the next reconnect.
				a.log.Info("block list node purged or deleted: resyncing", zap.String("service", e.service), zap.String("node", e.ev.Node))
				a.RTBL.OnConnected(ctx)
				continue
			}
			var pub []rtbl.Entry
			for _, it := range e.ev.Items {
				pub = append(pub, rtbl.Entry{ID: it.ID, Reason: it.ReportReason, Text: it.ReportText})
			}
			if len(pub) == 0 && len(e.ev.Retracts) == 0 {
				continue
			}
			if err := a.RTBL.OnEvent(ctx, e.service, e.ev.Node, pub, e.ev.Retracts); err != nil {
				a.log.Warn("block list event not applied", zap.String("service", e.service), zap.String("node", e.ev.Node), zap.Error(err))
			}
		}
	}
}

// Stop leaves every room with an unavailable presence and ends Run.
func (a *App) Stop() { a.Bot.Stop() }

// Reload applies a new, already validated config.
func (a *App) Reload(nc *config.Config) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.Bot.Reload(nc); err != nil {
		return err
	}
	a.cfg = nc
	return nil
}

// ReloadFile re-reads a config file and applies it. On any problem the old
// configuration stays, and the officers of every room are told why by
// direct message (the problems name keys, never secret values).
func (a *App) ReloadFile(path string, env []string) error {
	nc, err := Load(path, env)
	if err == nil {
		err = a.Reload(nc)
	} else {
		err = fmt.Errorf("%s", config.FormatErrors(err))
	}
	if err != nil {
		a.log.Error("reload refused: keeping the old configuration", zap.String("file", path), zap.Error(err))
		a.Bot.AnnounceToOfficers(context.Background(), fmt.Sprintf("Steward: the configuration reload from %s was refused and the old configuration kept:\n%s", path, err))
		return fmt.Errorf("keeping the old configuration:\n%w", err)
	}
	a.log.Info("configuration reloaded", zap.String("file", path))
	return nil
}

// HTTPAddr is the address the HTTP server listens on ("" when off).
func (a *App) HTTPAddr() string { return a.addr }

func (a *App) serveHTTP(listen string) error {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("http.listen %s: %w", listen, err)
	}
	a.addr = ln.Addr().String()
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/-/reload", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.WriteHeader(http.StatusMethodNotAllowed)
			_, _ = w.Write([]byte("use POST\n"))
			return
		}
		if a.ReloadFromFile == nil {
			w.WriteHeader(http.StatusNotImplemented)
			_, _ = w.Write([]byte("this Steward was not started from a config file\n"))
			return
		}
		if err := a.ReloadFromFile(); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = fmt.Fprintln(w, err)
			return
		}
		_, _ = w.Write([]byte("reloaded\n"))
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		if problems := a.Ready(r.Context()); len(problems) > 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			for _, p := range problems {
				_, _ = fmt.Fprintln(w, p)
			}
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	a.http = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := a.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("http server", zap.Error(err))
		}
	}()
	a.log.Info("http listening", zap.String("addr", a.addr))
	return nil
}

// Ready lists what keeps Steward from being ready (empty when ready). A
// block list service being down does not: the last set is still applied.
func (a *App) Ready(ctx context.Context) []string {
	var out []string
	if !a.Bot.Connected() {
		out = append(out, "xmpp: not connected")
	}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := a.Store.Ping(pctx); err != nil {
		out = append(out, "redis: "+err.Error())
	}
	if ok, waiting := a.Bot.RoomsReady(); !ok {
		out = append(out, fmt.Sprintf("rooms not joined yet: %v", waiting))
	}
	return out
}
