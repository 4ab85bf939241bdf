// Package stewardtest starts a real Steward (through internal/app, the same
// code cmd/steward runs) against a private Prosody and Redis, for end-to-end
// tests and the demo. Nothing here is a fake.
package stewardtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/steward-xmpp/steward/internal/app"
	"github.com/steward-xmpp/steward/internal/testenv"
	"github.com/steward-xmpp/steward/internal/xmpptest"
)

// Env is one private Prosody + Redis with accounts.
type Env struct {
	T       testing.TB
	Prosody *testenv.Prosody
	Redis   *testenv.Redis
	// Prefix isolates this test's Redis keys.
	Prefix string
}

// Accounts every Env registers (password = "pass-" + name).
var Accounts = []string{"bot", "owner", "officer", "visitor", "visitor2", "member", "admin2", "spammer", "feeder"}

// NewEnv starts Prosody (with opts) and Redis and registers Accounts. It
// skips the test with a reason when Prosody is not installed.
func NewEnv(t testing.TB, opts testenv.ProsodyOptions) *Env {
	t.Helper()
	p := testenv.MustProsody(t, opts)
	r := testenv.MustRedis(t)
	for _, a := range Accounts {
		p.MustRegister(t, a, "pass-"+a)
	}
	return &Env{T: t, Prosody: p, Redis: r, Prefix: "e2e-" + strings.ToLower(rand.Text()[:8])}
}

// JID returns name@localhost.
func (e *Env) JID(name string) string { return name + "@" + e.Prosody.Domain() }

// Room returns name@conference.localhost.
func (e *Env) Room(name string) string { return name + "@" + e.Prosody.MUC() }

// Client connects a scripted client as one of Accounts.
func (e *Env) Client(name string) *xmpptest.Client {
	e.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	c, err := xmpptest.Connect(ctx, e.Prosody.Addr(), e.JID(name), "pass-"+name)
	if err != nil {
		e.T.Fatalf("connect %s: %v", name, err)
	}
	e.T.Cleanup(func() { _ = c.Close() })
	return c
}

// Vars are what a config template may use.
type Vars struct {
	Addr, RedisURL, Prefix, Domain, MUC, PubSub, RTBLMUC, RTBLNode string
}

// Vars returns the template variables of this Env.
func (e *Env) Vars() Vars {
	return Vars{
		Addr: e.Prosody.Addr(), RedisURL: e.Redis.URL(), Prefix: e.Prefix, Domain: e.Prosody.Domain(),
		MUC: e.Prosody.MUC(), PubSub: e.Prosody.PubSub(), RTBLMUC: e.Prosody.RTBLMUC(), RTBLNode: e.Prosody.RTBLNode(),
	}
}

// BaseConfig is the xmpp/redis part every test config starts with; append
// rooms, invites and rtbl sections to it.
const BaseConfig = `xmpp:
  jid: bot@{{.Domain}}
  password: pass-bot
  address: {{.Addr}}
  tls: insecure_plain
  resource: steward
  nick: Steward
  ping_interval: 30s
  ping_timeout: 5s
  self_ping_interval: 2s
  reconnect_min: 200ms
  reconnect_max: 2s
  join_timeout: 5s
redis:
  url: {{.RedisURL}}
  prefix: {{.Prefix}}
http:
  listen: 127.0.0.1:0
limits:
  global_rate: 200
  global_burst: 200
  room_rate: 100
  room_burst: 100
`

// Steward is one running bot process (in-process, via internal/app).
type Steward struct {
	App    *app.App
	Path   string
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	t      testing.TB
}

// WriteConfig renders BaseConfig + extra with the Env's variables into a
// file and returns its path.
func (e *Env) WriteConfig(extra string) string {
	e.T.Helper()
	tpl, err := template.New("cfg").Parse(BaseConfig + extra)
	if err != nil {
		e.T.Fatalf("config template: %v", err)
	}
	var buf bytes.Buffer
	if err := tpl.Execute(&buf, e.Vars()); err != nil {
		e.T.Fatalf("config template: %v", err)
	}
	path := filepath.Join(e.T.TempDir(), "steward.yaml")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		e.T.Fatal(err)
	}
	return path
}

// Start runs Steward with BaseConfig + extra until the test ends (or Stop).
func (e *Env) Start(extra string) *Steward {
	e.T.Helper()
	return e.StartFile(e.WriteConfig(extra), zaptest.NewLogger(e.T, zaptest.Level(zap.InfoLevel)))
}

// StartFile runs Steward from a config file with the given logger.
func (e *Env) StartFile(path string, log *zap.Logger) *Steward {
	e.T.Helper()
	cfg, err := app.Load(path, nil)
	if err != nil {
		e.T.Fatalf("config: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, log, app.Options{})
	if err != nil {
		cancel()
		e.T.Fatalf("app.New: %v", err)
	}
	a.ReloadFromFile = func() error { return a.ReloadFile(path, nil) }
	s := &Steward{App: a, Path: path, cancel: cancel, done: make(chan error, 1), t: e.T}
	go func() { s.done <- a.Run(ctx) }()
	e.T.Cleanup(s.Stop)
	return s
}

// Stop leaves the rooms and ends the bot; safe to call twice.
func (s *Steward) Stop() {
	s.once.Do(func() {
		s.App.Stop()
		s.cancel()
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			s.t.Errorf("steward did not stop within 10s")
		}
	})
}

// Kill ends the bot without leaving rooms (as a crash would).
func (s *Steward) Kill() {
	s.once.Do(func() {
		s.cancel()
		<-s.done
	})
}

// WaitReady waits until Steward is connected and every room is joined.
func (s *Steward) WaitReady(timeout time.Duration) {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	var last []string
	for time.Now().Before(deadline) {
		if last = s.App.Ready(context.Background()); len(last) == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.t.Fatalf("steward not ready after %s: %v", timeout, last)
}

// Eventually polls cond until it is true or the timeout passes.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s", timeout, what)
}

// Ctx returns a context with a timeout bound to the test.
func Ctx(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// MustOK fails the test on err.
func MustOK(t testing.TB, err error, what string, args ...any) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", fmt.Sprintf(what, args...), err)
	}
}
