// Command steward-demo shows Steward at work. It starts a private Prosody
// and Redis (internal/testenv), creates a moderated room, runs the real
// Steward in-process (internal/app, the code cmd/steward runs) with the
// config rendered from deploy/demo/steward.yaml.tmpl, and lets scripted
// accounts act out a scenario while it narrates what happens and why: a
// visitor asks for voice and a vetting officer approves it, a spammer on a
// block list is banned on sight, the owner reads the audit log and undoes
// the ban.
//
// It is run by scripts/demo, which installs Prosody and Redis first:
//
//	scripts/demo          # the scenario, then everything stays up until Ctrl-C
//	scripts/demo --once   # the scenario only: exit 0 if every step happened
//
// Every step waits for its evidence (the stanzas the scripted clients
// receive) up to a deadline; a step that does not happen prints "FAILED"
// and ends the scenario. Steward's own log goes to a file, so that the
// transcript stays readable; its path is printed.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/template"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/steward-xmpp/steward/internal/app"
	"github.com/steward-xmpp/steward/internal/testenv"
	"github.com/steward-xmpp/steward/internal/xmpptest"
)

// accounts are registered on the private server, each with the password
// "pass-" + name. guest is left for a person to try vetting by hand.
var accounts = []string{"bot", "owner", "officer", "visitor", "spammer", "feeder", "guest"}

// scripted are the accounts the scenario logs in.
var scripted = []string{"owner", "officer", "visitor", "spammer", "feeder"}

// roomName is the local part of the demo room on conference.localhost.
const roomName = "lobby"

func main() {
	once := flag.Bool("once", false, "run the scenario, stop everything and exit: 0 if every step happened, 1 if not")
	stepWait := flag.Duration("step-timeout", 15*time.Second, "how long each step waits for its evidence")
	tmplPath := flag.String("config-template", "", "Steward config template (default: deploy/demo/steward.yaml.tmpl of this checkout)")
	keep := flag.Bool("keep", false, "keep the work directory (config and Steward's log) after exit")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Stdout, options{once: *once, stepWait: *stepWait, tmplPath: *tmplPath, keep: *keep}))
}

type options struct {
	once     bool
	stepWait time.Duration
	tmplPath string
	keep     bool
}

// run sets up, plays the scenario and tears down; it returns the exit status.
func run(ctx context.Context, out io.Writer, o options) int {
	d := &demo{out: out, start: time.Now(), stepWait: o.stepWait, clients: map[string]*xmpptest.Client{}}
	d.banner("Steward demo: a private Prosody and Redis, a moderated room, Steward and five scripted accounts")
	err := d.setUp(ctx, o.tmplPath)
	ok := err == nil
	if err != nil {
		d.failed("setting up", err)
	} else {
		ok = d.play(ctx)
	}
	if ok && !o.once {
		d.handOver(ctx)
	}
	interrupted := ctx.Err() != nil
	d.tearDown(o.keep || (!ok && !interrupted))
	switch {
	case !ok && interrupted:
		return 130
	case !ok:
		return 1
	}
	return 0
}

// demo holds what the scenario started.
type demo struct {
	out      io.Writer
	start    time.Time
	stepWait time.Duration

	dir     string // config and Steward's log
	logPath string
	logFile *os.File
	prosody *testenv.Prosody
	redis   *testenv.Redis
	clients map[string]*xmpptest.Client
	room    string

	steward     *app.App
	stewardStop context.CancelFunc
	stewardDone chan error

	banID string // the audit record of the spammer's ban, read from !log
}

// configVars are the fields deploy/demo/steward.yaml.tmpl may use.
type configVars struct {
	BotJID, BotPassword, Addr, RedisURL, Prefix string
	Room, OfficerJID, PubSub, RTBLNode          string
}

func (d *demo) jid(name string) string { return name + "@" + testenv.Domain }

func (d *demo) setUp(ctx context.Context, tmplPath string) error {
	if !testenv.ProsodyInstalled() {
		return fmt.Errorf("%s is not installed: run scripts/demo, which installs it", testenv.ProsodyBin)
	}
	dir, err := os.MkdirTemp("", "steward-demo-")
	if err != nil {
		return err
	}
	d.dir = dir
	d.logPath = filepath.Join(dir, "steward.log")

	d.say("demo", "starting a private Prosody (loopback only, its own directory and ports)")
	if d.prosody, err = testenv.StartProsody(testenv.ProsodyOptions{}); err != nil {
		return err
	}
	d.say("demo", "Prosody serves %s at %s, rooms on %s, pubsub on %s", testenv.Domain, d.prosody.Addr(), d.prosody.MUC(), d.prosody.PubSub())
	if d.redis, err = testenv.StartRedis(); err != nil {
		return err
	}
	d.say("demo", "Redis at %s (Steward keeps queues, approvals and its audit log there)", d.redis.URL())
	for _, a := range accounts {
		if err := d.prosody.Register(a, "pass-"+a); err != nil {
			return err
		}
	}
	d.say("demo", "registered %s (password pass-<name>)", strings.Join(accounts, ", "))
	for _, a := range scripted {
		cctx, cancel := context.WithTimeout(ctx, d.stepWait)
		c, err := xmpptest.Connect(cctx, d.prosody.Addr(), d.jid(a), "pass-"+a)
		cancel()
		if err != nil {
			return fmt.Errorf("log in as %s: %w", a, err)
		}
		d.clients[a] = c
	}
	d.say("demo", "%s are online", strings.Join(scripted, ", "))
	d.room = roomName + "@" + d.prosody.MUC()

	cfgPath, err := d.writeConfig(tmplPath)
	if err != nil {
		return err
	}
	d.say("demo", "Steward's config: %s (from deploy/demo/steward.yaml.tmpl)", cfgPath)
	d.say("demo", "Steward's log:    %s", d.logPath)
	return nil
}

// writeConfig renders the template into the work directory.
func (d *demo) writeConfig(tmplPath string) (string, error) {
	if tmplPath == "" {
		root, err := repoRoot()
		if err != nil {
			return "", err
		}
		tmplPath = filepath.Join(root, "deploy", "demo", "steward.yaml.tmpl")
	}
	text, err := os.ReadFile(tmplPath)
	if err != nil {
		return "", fmt.Errorf("config template: %w", err)
	}
	tpl, err := template.New(filepath.Base(tmplPath)).Option("missingkey=error").Parse(string(text))
	if err != nil {
		return "", fmt.Errorf("config template: %w", err)
	}
	var buf bytes.Buffer
	err = tpl.Execute(&buf, configVars{
		BotJID: d.jid("bot"), BotPassword: "pass-bot", Addr: d.prosody.Addr(), RedisURL: d.redis.URL(),
		Prefix: "demo-" + strings.ToLower(rand.Text()[:8]), Room: d.room, OfficerJID: d.jid("officer"),
		PubSub: d.prosody.PubSub(), RTBLNode: d.prosody.RTBLNode(),
	})
	if err != nil {
		return "", fmt.Errorf("config template: %w", err)
	}
	path := filepath.Join(d.dir, "steward.yaml")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		return "", err
	}
	return path, nil
}

// repoRoot finds the checkout (the directory with go.mod) from the working
// directory upwards.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "deploy", "demo", "steward.yaml.tmpl")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("deploy/demo/steward.yaml.tmpl not found above the working directory: run from the checkout or pass --config-template")
		}
		dir = parent
	}
}

// startSteward loads the rendered config and runs Steward in-process.
func (d *demo) startSteward(ctx context.Context) error {
	cfg, err := app.Load(filepath.Join(d.dir, "steward.yaml"), nil)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	d.logFile, err = os.OpenFile(d.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	enc := zap.NewDevelopmentEncoderConfig()
	enc.EncodeTime = zapcore.ISO8601TimeEncoder
	log := zap.New(zapcore.NewCore(zapcore.NewConsoleEncoder(enc), zapcore.AddSync(d.logFile), zap.DebugLevel))
	if lvl, err := zapcore.ParseLevel(cfg.Log.Level); err == nil {
		log = log.WithOptions(zap.IncreaseLevel(lvl))
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a, err := app.New(runCtx, cfg, log, app.Options{})
	if err != nil {
		cancel()
		return err
	}
	d.steward, d.stewardStop, d.stewardDone = a, cancel, make(chan error, 1)
	go func() { d.stewardDone <- a.Run(runCtx) }()

	deadline := time.Now().Add(2 * d.stepWait)
	for {
		problems := a.Ready(ctx)
		if len(problems) == 0 {
			return nil
		}
		select {
		case err := <-d.stewardDone:
			d.stewardDone <- err
			return fmt.Errorf("steward stopped: %v", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("steward not ready after %s: %s", 2*d.stepWait, strings.Join(problems, "; "))
		}
	}
}

// handOver prints how to talk to the running bot and waits for Ctrl-C.
func (d *demo) handOver(ctx context.Context) {
	// The scripted accounts log out so that a person can use them.
	for _, name := range scripted {
		_ = d.clients[name].Close()
		delete(d.clients, name)
	}
	w := d.out
	fmt.Fprintf(w, "\nSteward is still running. Talk to it with any XMPP client:\n")
	fmt.Fprintf(w, "  server    %s (no TLS needed on loopback; STARTTLS offers a self-signed certificate for %q)\n", d.prosody.Addr(), testenv.Domain)
	fmt.Fprintf(w, "  room      %s (moderated; Steward is admin there, nick Steward)\n", d.room)
	fmt.Fprintf(w, "  accounts  owner@localhost    / pass-owner    the room's owner: try \"!help\", \"!log\", \"!status\" in the room\n")
	fmt.Fprintf(w, "            officer@localhost  / pass-officer  vetting officer: send \"queue\", \"approve #1\" to bot@localhost\n")
	fmt.Fprintf(w, "            guest@localhost    / pass-guest    a newcomer: join as \"?guest\" to ask for voice\n")
	fmt.Fprintf(w, "            visitor@localhost  / pass-visitor  approved: gets voice back at once on rejoining\n")
	fmt.Fprintf(w, "            spammer@localhost  / pass-spammer  on the demo block list: banned on sight\n")
	fmt.Fprintf(w, "  Steward   bot@localhost; say \"help\" to it by direct message\n")
	if addr := d.steward.HTTPAddr(); addr != "" {
		fmt.Fprintf(w, "  metrics   http://%s/metrics   readiness http://%s/readyz\n", addr, addr)
	}
	fmt.Fprintf(w, "  its log   %s\n", d.logPath)
	fmt.Fprintf(w, "Press Ctrl-C to stop Steward, Prosody and Redis.\n")
	select {
	case <-ctx.Done():
		fmt.Fprintln(w)
	case err := <-d.stewardDone:
		d.stewardDone <- err
		d.say("demo", "Steward stopped by itself: %v (see %s)", err, d.logPath)
	}
}

// tearDown stops Steward (it leaves its rooms), the clients and the servers.
func (d *demo) tearDown(keep bool) {
	d.say("demo", "stopping: Steward leaves the room, then Prosody and Redis stop")
	if d.steward != nil {
		d.steward.Stop()
		d.stewardStop()
		select {
		case <-d.stewardDone:
		case <-time.After(10 * time.Second):
			fmt.Fprintln(d.out, "warning: Steward did not stop within 10s")
		}
	}
	for _, c := range d.clients {
		_ = c.Close()
	}
	if d.logFile != nil {
		_ = d.logFile.Close()
	}
	if d.prosody != nil {
		if err := d.prosody.Stop(); err != nil {
			fmt.Fprintln(d.out, "warning:", err)
		}
	}
	if d.redis != nil {
		if err := d.redis.Stop(); err != nil {
			fmt.Fprintln(d.out, "warning:", err)
		}
	}
	if d.dir == "" {
		return
	}
	if keep {
		fmt.Fprintf(d.out, "Kept %s (config and Steward's log).\n", d.dir)
		return
	}
	_ = os.RemoveAll(d.dir)
}

// Narration.

func (d *demo) banner(text string) {
	fmt.Fprintf(d.out, "%s\n%s\n", text, strings.Repeat("=", len([]rune(text))))
}

func (d *demo) heading(n int, title string) {
	fmt.Fprintf(d.out, "\nStep %d: %s\n", n, title)
}

// say prints one timestamped line of the transcript.
func (d *demo) say(who, format string, args ...any) {
	fmt.Fprintf(d.out, "[%6.2fs] %-8s %s\n", time.Since(d.start).Seconds(), who, fmt.Sprintf(format, args...))
}

// quote prints text received from someone, indented under the last line.
func (d *demo) quote(text string) {
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		fmt.Fprintf(d.out, "%19s│ %s\n", "", line)
	}
}

// why prints the explanation of what just happened.
func (d *demo) why(format string, args ...any) {
	fmt.Fprintf(d.out, "%19s→ %s\n", "", fmt.Sprintf(format, args...))
}

func (d *demo) failed(what string, err error) {
	fmt.Fprintf(d.out, "\nFAILED: %s: %v\n", what, err)
	if d.logPath == "" {
		return
	}
	if data, rerr := os.ReadFile(d.logPath); rerr == nil && len(data) > 0 {
		lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		lines = lines[max(0, len(lines)-40):]
		fmt.Fprintf(d.out, "--- last lines of Steward's log (%s) ---\n%s\n", d.logPath, strings.Join(lines, "\n"))
	}
}
