// Command vetting measures the vetting queue end to end: a real Steward
// (started through internal/app, as cmd/steward does) against a private
// Prosody and a private Redis on loopback, driven by scripted clients.
//
// Each measured cycle is one new pending request, worked as an officer
// would:
//
//  1. a visitor sends the voice-request form; measured: until the officer's
//     client receives the notification DM (request → notification);
//  2. the officer sends "approve bench #n" by DM; measured: until the
//     visitor's client sees its own presence with role participant
//     (approve → voice);
//  3. the officer sends "revoke bench <nick>", which takes voice again and
//     forgets the approval, so the visitor's next request is a new entry.
//
// Each request comes from a new account (a newcomer, as in real use) that
// joins before its cycle and leaves after it; -reuse k lets k accounts take
// turns instead. One request is in flight at a time, so the latencies are
// those of an idle system, not of a queue under load. Around each step the
// program counts Steward's Redis round trips (a hook on its client) and the
// commands Redis executed (INFO total_commands_processed and commandstats
// deltas, which include the commands run inside Lua scripts).
//
//	go run ./bench/vetting -n 120
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/steward-xmpp/steward/internal/app"
	"github.com/steward-xmpp/steward/internal/stewardtest"
	"github.com/steward-xmpp/steward/internal/testenv"
	"github.com/steward-xmpp/steward/internal/xmpptest"
)

func main() {
	o := options{}
	flag.IntVar(&o.n, "n", 120, "measured requests (cycles)")
	flag.IntVar(&o.reuse, "reuse", 0, "0: every request comes from a new account (a newcomer); k > 0: k accounts take turns and stay in the room, so each one's audit history grows")
	flag.IntVar(&o.warmup, "warmup", 5, "unmeasured cycles first")
	flag.DurationVar(&o.batch, "notify-batch", 0, "the room's vetting notify_batch (0: notify at once; it adds to request → notification)")
	flag.DurationVar(&o.settle, "settle", 50*time.Millisecond, "pause before each Redis reading, outside the timed spans, so that writes done after the observed stanza are counted in their step")
	flag.BoolVar(&o.verbose, "v", false, "log Steward's warnings and each cycle")
	flag.Parse()
	if o.n < 1 || o.reuse < 0 || o.warmup < 0 {
		fmt.Fprintln(os.Stderr, "bench/vetting: -n must be at least 1, -reuse and -warmup at least 0")
		os.Exit(2)
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench/vetting:", err)
		os.Exit(1)
	}
}

type options struct {
	n, reuse, warmup int
	batch, settle    time.Duration
	verbose          bool
}

const (
	roomLocal = "bench"
	stepWait  = 30 * time.Second
)

// steps of a cycle, for the Redis counts.
var stepNames = []string{"request + notification", "approve", "revoke"}

func run(o options) error {
	// A shared Redis (STEWARD_TEST_REDIS_URL) would count other clients'
	// commands: always use a private one.
	os.Unsetenv(testenv.RedisURLEnv)
	p, err := testenv.StartProsody(testenv.ProsodyOptions{})
	if err != nil {
		return err
	}
	defer p.Stop()
	rs, err := testenv.StartRedis()
	if err != nil {
		return err
	}
	defer rs.Stop()

	visitors := o.reuse
	if visitors == 0 {
		visitors = o.warmup + o.n
	}
	visitorNames := make([]string, visitors)
	for i := range visitorNames {
		visitorNames[i] = fmt.Sprintf("nc%d", i)
	}
	for _, a := range append([]string{"bot", "owner", "officer"}, visitorNames...) {
		if err := p.Register(a, "pass-"+a); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	connect := func(name string) (*xmpptest.Client, error) {
		cctx, ccancel := context.WithTimeout(ctx, stepWait)
		defer ccancel()
		return xmpptest.Connect(cctx, p.Addr(), name+"@"+p.Domain(), "pass-"+name)
	}
	room := roomLocal + "@" + p.MUC()

	owner, err := connect("owner")
	if err != nil {
		return err
	}
	defer owner.Close()
	if _, err := owner.CreateRoom(ctx, room, "Owner", map[string][]string{
		"muc#roomconfig_moderatedroom":  {"1"},
		"muc#roomconfig_persistentroom": {"1"},
		"muc#roomconfig_whois":          {"moderators"},
	}); err != nil {
		return err
	}
	if err := owner.SetAffiliation(ctx, room, "bot@"+p.Domain(), "admin"); err != nil {
		return err
	}

	// Steward, from a config file as in production.
	path, err := writeConfig(p, rs, room, o.batch)
	if err != nil {
		return err
	}
	cfg, err := app.Load(path, nil)
	if err != nil {
		return err
	}
	log := zap.NewNop()
	if o.verbose {
		zc := zap.NewDevelopmentConfig()
		zc.Level = zap.NewAtomicLevelAt(zap.WarnLevel)
		if log, err = zc.Build(); err != nil {
			return err
		}
	}
	actx, acancel := context.WithCancel(ctx)
	defer acancel()
	a, err := app.New(actx, cfg, log, app.Options{})
	if err != nil {
		return err
	}
	rt := &roundTrips{by: map[string]int64{}}
	sc, ok := a.Store.(interface{ Client() redis.UniversalClient })
	if !ok {
		return fmt.Errorf("the store is %T, not redisstore", a.Store)
	}
	sc.Client().AddHook(rt)
	done := make(chan error, 1)
	go func() { done <- a.Run(actx) }()
	defer func() {
		a.Stop()
		acancel()
		<-done
	}()
	if err := waitReady(ctx, a); err != nil {
		return err
	}

	officer, err := connect("officer")
	if err != nil {
		return err
	}
	defer officer.Close()

	opt, err := redis.ParseURL(rs.URL())
	if err != nil {
		return err
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()

	b := &bench{o: o, room: room, bot: "bot@" + p.Domain(), officer: officer, rdb: rdb, rt: rt, connect: connect}
	if o.reuse > 0 {
		for i, name := range visitorNames {
			c, err := connect(name)
			if err != nil {
				return err
			}
			defer c.Close()
			if _, err := c.Join(ctx, room, nickOf(i)); err != nil {
				return err
			}
			b.present = append(b.present, c)
		}
	}
	for i := range o.warmup {
		if _, err := b.cycle(ctx, i); err != nil {
			return fmt.Errorf("warm-up cycle %d: %w", i, err)
		}
	}
	idle, err := b.idleCommands(ctx, time.Second)
	if err != nil {
		return err
	}
	var res []cycleResult
	start := time.Now()
	for i := range o.n {
		r, err := b.cycle(ctx, o.warmup+i)
		if err != nil {
			return fmt.Errorf("cycle %d: %w", i, err)
		}
		res = append(res, r)
		if o.verbose {
			fmt.Fprintf(os.Stderr, "cycle %d: notify %s, approve %s, commands %v, round trips %v\n", i, r.notify, r.approve, r.commands, r.trips)
		}
	}
	report(o, res, idle, time.Since(start))
	return nil
}

// writeConfig renders stewardtest.BaseConfig plus one vetting room.
func writeConfig(p *testenv.Prosody, rs *testenv.Redis, room string, batch time.Duration) (string, error) {
	text := stewardtest.BaseConfig + `rooms:
  - jid: ` + room + `
    officers: [officer@{{.Domain}}]
    policies:
      vetting:
        enabled: true
        notify_batch: ` + batch.String() + "\n"
	tpl, err := template.New("cfg").Parse(text)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	err = tpl.Execute(&buf, stewardtest.Vars{
		Addr: p.Addr(), RedisURL: rs.URL(), Prefix: "bench", Domain: p.Domain(), MUC: p.MUC(), PubSub: p.PubSub(),
		RTBLMUC: p.RTBLMUC(), RTBLNode: p.RTBLNode(),
	})
	if err != nil {
		return "", err
	}
	// Next to the Prosody's files, so that Prosody's cleanup removes it.
	path := filepath.Join(p.Dir(), "steward.yaml")
	return path, os.WriteFile(path, buf.Bytes(), 0o600)
}

func waitReady(ctx context.Context, a *app.App) error {
	deadline := time.Now().Add(stepWait)
	var last []string
	for time.Now().Before(deadline) {
		if last = a.Ready(ctx); len(last) == 0 {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("steward not ready after %s: %v", stepWait, last)
}

func nickOf(i int) string { return fmt.Sprintf("B%d", i) }

type bench struct {
	o       options
	room    string
	bot     string
	officer *xmpptest.Client
	present []*xmpptest.Client // with -reuse: the visitors taking turns
	connect func(name string) (*xmpptest.Client, error)
	rdb     *redis.Client
	rt      *roundTrips
}

type cycleResult struct {
	notify, approve time.Duration
	// Per step (stepNames): commands Redis executed for Steward (INFO), and
	// Steward's round trips to Redis (client hook).
	commands, trips []int64
	// Over the whole cycle, by command name: executed by Redis (scripts'
	// inner commands under their own names) and sent by Steward.
	executed, sent map[string]int64
	// Round trips by command name, per step.
	sentBy []map[string]int64
}

var numberRE = regexp.MustCompile(`#(\d+) (\S+) —`)

// visitor returns the client and nick asking in cycle i, and what to do
// when the cycle is over.
func (b *bench) visitor(ctx context.Context, i int) (*xmpptest.Client, string, func(), error) {
	if len(b.present) > 0 {
		k := i % len(b.present)
		return b.present[k], nickOf(k), func() {}, nil
	}
	c, err := b.connect(fmt.Sprintf("nc%d", i))
	if err != nil {
		return nil, "", nil, err
	}
	nick := nickOf(i)
	if _, err := c.Join(ctx, b.room, nick); err != nil {
		c.Close()
		return nil, "", nil, err
	}
	return c, nick, func() {
		_ = c.Leave(ctx, b.room, nick)
		_ = c.Close()
	}, nil
}

// snapshot is one reading of both counters.
type snapshot struct {
	redis redisStats
	sent  map[string]int64
	trips int64
}

// cycle runs one request through the queue.
func (b *bench) cycle(ctx context.Context, i int) (cycleResult, error) {
	var r cycleResult
	wctx, cancel := context.WithTimeout(ctx, stepWait)
	defer cancel()
	v, nick, release, err := b.visitor(wctx, i)
	if err != nil {
		return r, err
	}
	defer release()
	snaps := make([]snapshot, 0, len(stepNames)+1)
	snap := func() error {
		time.Sleep(b.o.settle) // let the previous step's trailing writes land
		trips, sent := b.rt.read()
		s, err := b.stats(ctx)
		snaps = append(snaps, snapshot{redis: s, sent: sent, trips: trips})
		return err
	}
	if err := snap(); err != nil {
		return r, err
	}

	// 1. request → notification.
	om, vm := b.officer.Mark(), v.Mark()
	t0 := time.Now()
	if err := v.SendVoiceRequest(wctx, b.room); err != nil {
		return r, err
	}
	var n string
	_, err = b.officer.WaitAfter(wctx, om, func(s xmpptest.Stanza) bool {
		if !b.fromBot(s) || !strings.HasPrefix(s.Body, "New voice request in "+b.room) {
			return false
		}
		for _, m := range numberRE.FindAllStringSubmatch(s.Body, -1) {
			if m[2] == nick {
				n = m[1]
				return true
			}
		}
		return false
	})
	if err != nil {
		return r, fmt.Errorf("notification: %w", err)
	}
	r.notify = time.Since(t0)
	if _, err := v.WaitAfter(wctx, vm, func(s xmpptest.Stanza) bool { return b.fromBot(s) && strings.Contains(s.Body, "is queued") }); err != nil {
		return r, fmt.Errorf("applicant's answer: %w", err)
	}
	if err := snap(); err != nil {
		return r, err
	}

	// 2. approve → voice.
	om, vm = b.officer.Mark(), v.Mark()
	t0 = time.Now()
	if _, err := b.officer.SendChat(wctx, b.bot, "approve "+roomLocal+" #"+n); err != nil {
		return r, err
	}
	if _, err := v.WaitAfter(wctx, vm, selfRole(b.room, nick, "participant")); err != nil {
		return r, fmt.Errorf("voice: %w", err)
	}
	r.approve = time.Since(t0)
	if _, err := b.officer.WaitAfter(wctx, om, func(s xmpptest.Stanza) bool { return b.fromBot(s) && strings.HasPrefix(s.Body, "Approved "+nick) }); err != nil {
		return r, fmt.Errorf("approve reply: %w", err)
	}
	if err := snap(); err != nil {
		return r, err
	}

	// 3. revoke, so that the next request is a new entry.
	om, vm = b.officer.Mark(), v.Mark()
	if _, err := b.officer.SendChat(wctx, b.bot, "revoke "+roomLocal+" "+nick); err != nil {
		return r, err
	}
	if _, err := v.WaitAfter(wctx, vm, selfRole(b.room, nick, "visitor")); err != nil {
		return r, fmt.Errorf("devoice: %w", err)
	}
	if _, err := b.officer.WaitAfter(wctx, om, func(s xmpptest.Stanza) bool { return b.fromBot(s) && strings.HasPrefix(s.Body, "Revoked "+nick) }); err != nil {
		return r, fmt.Errorf("revoke reply: %w", err)
	}
	if err := snap(); err != nil {
		return r, err
	}

	for j := 1; j < len(snaps); j++ {
		// Each INFO is one command, counted in the next reading.
		r.commands = append(r.commands, snaps[j].redis.total-snaps[j-1].redis.total-1)
		r.trips = append(r.trips, snaps[j].trips-snaps[j-1].trips)
		r.sentBy = append(r.sentBy, deltas(snaps[j-1].sent, snaps[j].sent))
	}
	first, last := snaps[0], snaps[len(snaps)-1]
	r.executed = deltas(first.redis.calls, last.redis.calls)
	delete(r.executed, "info")
	r.sent = deltas(first.sent, last.sent)
	return r, nil
}

func deltas(before, after map[string]int64) map[string]int64 {
	out := map[string]int64{}
	for k, v := range after {
		if d := v - before[k]; d > 0 {
			out[k] = d
		}
	}
	return out
}

// roundTrips is a go-redis hook on Steward's own client: it counts what
// Steward sends, one round trip per command or pipeline.
type roundTrips struct {
	mu    sync.Mutex
	trips int64
	by    map[string]int64
}

func (h *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.mu.Lock()
		h.trips++
		h.by[cmd.Name()]++
		h.mu.Unlock()
		return next(ctx, cmd)
	}
}

func (h *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.mu.Lock()
		h.trips++
		h.by["pipeline"]++
		h.mu.Unlock()
		return next(ctx, cmds)
	}
}

func (h *roundTrips) read() (int64, map[string]int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.trips, maps.Clone(h.by)
}

func (b *bench) fromBot(s xmpptest.Stanza) bool {
	return s.Name == "message" && s.Type == "chat" && s.Bare() == b.bot
}

// selfRole matches the client's own presence (status 110) with role.
func selfRole(room, nick, role string) func(xmpptest.Stanza) bool {
	return func(s xmpptest.Stanza) bool {
		return s.Name == "presence" && s.Type == "" && s.From == room+"/"+nick && s.HasStatus(110) &&
			len(s.Items) > 0 && s.Items[0].Role == role
	}
}

// idleCommands counts the commands Redis processes while nothing happens
// for d (Steward's background traffic), less our own INFO.
func (b *bench) idleCommands(ctx context.Context, d time.Duration) (int64, error) {
	s0, err := b.stats(ctx)
	if err != nil {
		return 0, err
	}
	time.Sleep(d)
	s1, err := b.stats(ctx)
	if err != nil {
		return 0, err
	}
	return s1.total - s0.total - 1, nil
}

type redisStats struct {
	total int64            // total_commands_processed
	calls map[string]int64 // commandstats: calls by command
}

var callsRE = regexp.MustCompile(`(?m)^cmdstat_([^:]+):calls=(\d+)`)

func (b *bench) stats(ctx context.Context) (redisStats, error) {
	info, err := b.rdb.Info(ctx, "stats", "commandstats").Result()
	if err != nil {
		return redisStats{}, fmt.Errorf("redis INFO: %w", err)
	}
	s := redisStats{calls: map[string]int64{}}
	found := false
	for line := range strings.SplitSeq(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "total_commands_processed:"); ok {
			if s.total, err = strconv.ParseInt(v, 10, 64); err != nil {
				return s, err
			}
			found = true
		}
	}
	if !found {
		return s, errors.New("redis INFO: no total_commands_processed")
	}
	for _, m := range callsRE.FindAllStringSubmatch(info, -1) {
		n, _ := strconv.ParseInt(m[2], 10, 64)
		s.calls[m[1]] = n
	}
	return s, nil
}

func report(o options, res []cycleResult, idle int64, took time.Duration) {
	var notify, approve []time.Duration
	commands := make([][]int64, len(stepNames)+1) // the last one: whole cycle
	trips := make([][]int64, len(stepNames)+1)
	for _, r := range res {
		notify = append(notify, r.notify)
		approve = append(approve, r.approve)
		var c, t int64
		for j := range stepNames {
			commands[j] = append(commands[j], r.commands[j])
			trips[j] = append(trips[j], r.trips[j])
			c, t = c+r.commands[j], t+r.trips[j]
		}
		commands[len(stepNames)] = append(commands[len(stepNames)], c)
		trips[len(stepNames)] = append(trips[len(stepNames)], t)
	}
	who := "each request from a new account"
	if o.reuse > 0 {
		who = fmt.Sprintf("%d accounts taking turns", o.reuse)
	}
	fmt.Printf("vetting end to end: %d requests (%s; %d warm-up cycles before), notify_batch %s, %s in all\n",
		len(res), who, o.warmup, o.batch, took.Round(time.Millisecond))
	fmt.Printf("%-36s median %8s   p99 %8s   min %8s   max %8s\n", "request → officer's notification",
		pct(notify, 50), pct(notify, 99), pct(notify, 0), pct(notify, 100))
	fmt.Printf("%-36s median %8s   p99 %8s   min %8s   max %8s\n", "approve → visitor sees participant",
		pct(approve, 50), pct(approve, 99), pct(approve, 0), pct(approve, 100))
	fmt.Printf("\nRedis per step: round trips Steward sent (client hook) and commands Redis executed\n"+
		"(INFO total_commands_processed delta, scripts' inner commands included, our INFO excluded;\n"+
		"idle background: %d commands in 1s)\n", idle)
	fmt.Printf("  %-24s %22s %22s\n", "", "round trips", "commands executed")
	fmt.Printf("  %-24s %22s %22s\n", "", "median (min–max)", "median (min–max)")
	for j, name := range append(slices.Clone(stepNames), "whole cycle") {
		fmt.Printf("  %-24s %22s %22s\n", name, spread(trips[j]), spread(commands[j]))
		if j < len(stepNames) {
			by := byName(res, func(r cycleResult) map[string]int64 { return r.sentBy[j] })
			var parts []string
			for _, n := range slices.Sorted(maps.Keys(by)) {
				parts = append(parts, fmt.Sprintf("%s %d", n, ipct(by[n], 50)))
			}
			fmt.Printf("  %-24s   sent: %s\n", "", strings.Join(parts, ", "))
		}
	}
	fmt.Println("  by command over a whole cycle (median): sent by Steward | executed by Redis")
	sent, executed := byName(res, func(r cycleResult) map[string]int64 { return r.sent }), byName(res, func(r cycleResult) map[string]int64 { return r.executed })
	names := slices.Sorted(maps.Keys(sent))
	for n := range executed {
		if _, ok := sent[n]; !ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	for _, n := range names {
		s, e := "-", "-"
		if v, ok := sent[n]; ok {
			s = strconv.FormatInt(ipct(v, 50), 10)
		}
		if v, ok := executed[n]; ok {
			e = strconv.FormatInt(ipct(v, 50), 10)
		}
		fmt.Printf("    %-10s %4s | %4s\n", n, s, e)
	}
}

func byName(res []cycleResult, f func(cycleResult) map[string]int64) map[string][]int64 {
	out := map[string][]int64{}
	for _, r := range res {
		for n := range f(r) {
			out[n] = nil
		}
	}
	for n := range out {
		for _, r := range res {
			out[n] = append(out[n], f(r)[n])
		}
	}
	return out
}

func spread(xs []int64) string {
	return fmt.Sprintf("%d (%d–%d)", ipct(xs, 50), ipct(xs, 0), ipct(xs, 100))
}

// pct is the p-th percentile (nearest rank) of ds.
func pct(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[rank(len(s), p)].Round(10 * time.Microsecond)
}

func ipct(xs []int64, p int) int64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[rank(len(s), p)]
}

func rank(n, p int) int {
	if p <= 0 {
		return 0
	}
	r := (p*n + 99) / 100 // ceil(p/100 · n), nearest rank
	return min(max(r, 1), n) - 1
}
