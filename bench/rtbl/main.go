// Command rtbl measures Steward's RTBL join path against a private Prosody
// and Redis (internal/testenv), with Steward running in-process through
// internal/app, exactly as cmd/steward runs it.
//
// It reports three things:
//
//  1. the membership check (rtbl.Service.AppendMatches) on a 100,000-entry
//     list, as testing.Benchmark measures it;
//  2. join→ban seen by the joiner, side by side: the server's floor (the
//     room owner bans by IQ as soon as it sees the join presence) and
//     Steward (the joiner is listed on a followed list), interleaved;
//  3. Steward's internal time from the join presence received to the
//     outcast IQ sent, from the steward_action_latency_seconds histogram on
//     /metrics.
//
// Usage:
//
//	go run ./bench/rtbl -n 200
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"mellium.im/xmpp/stanza"

	"github.com/steward-xmpp/steward/bot/proto"
	"github.com/steward-xmpp/steward/internal/app"
	"github.com/steward-xmpp/steward/internal/testenv"
	"github.com/steward-xmpp/steward/internal/xmpptest"
	"github.com/steward-xmpp/steward/rtbl"
	"github.com/steward-xmpp/steward/store/memstore"
)

func main() {
	n := flag.Int("n", 200, "join→ban rounds of each kind (floor and Steward)")
	warmup := flag.Int("warmup", 10, "rounds of each kind run first and not counted")
	entries := flag.Int("entries", 100_000, "entries on the list for the membership benchmark")
	flag.Parse()
	if err := run(*n, *warmup, *entries); err != nil {
		fmt.Fprintln(os.Stderr, "bench/rtbl:", err)
		os.Exit(1)
	}
}

func run(n, warmup, entries int) error {
	if err := membership(entries); err != nil {
		return err
	}
	return endToEnd(n, warmup)
}

// membership benchmarks the check every join makes: two SHA-256 hashes and
// a map lookup per list.
func membership(size int) error {
	ctx := context.Background()
	lists := []rtbl.ListConfig{{Name: "bench", Service: "pubsub.example.org", Node: rtbl.DefaultNode, Mode: rtbl.ModeApply}}
	s := rtbl.NewService(lists, nil, nil, memstore.NewKV(), nil, zap.NewNop())
	es := make([]rtbl.Entry, 0, size)
	for i := range size - 1 {
		es = append(es, rtbl.Entry{ID: rtbl.Hash(fmt.Sprintf("user%d@spam%d.example", i, i%97)), Reason: rtbl.ReasonSpam})
	}
	es = append(es, rtbl.Entry{ID: rtbl.Hash("evil.example"), Reason: rtbl.ReasonSpam})
	if err := s.OnEvent(ctx, "pubsub.example.org", rtbl.DefaultNode, es, nil); err != nil {
		return err
	}
	fmt.Printf("== membership check, %d entries (rtbl.Service.AppendMatches) ==\n", s.Status()[0].Size)
	for _, tc := range []struct{ name, jid string }{
		{"hit_jid", "user4242@spam71.example"},
		{"hit_domain", "anyone@evil.example"},
		{"miss", "friend@example.org"},
	} {
		dst := make([]rtbl.Hit, 0, 4)
		r := testing.Benchmark(func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				dst = s.AppendMatches(dst[:0], tc.jid)
			}
		})
		fmt.Printf("%-11s %8.1f ns/op %4d B/op %3d allocs/op\n", tc.name, float64(r.T.Nanoseconds())/float64(r.N), r.AllocedBytesPerOp(), r.AllocsPerOp())
	}
	return nil
}

const (
	floorRoom   = "floor"   // Steward present, rtbl off: the owner bans
	guardedRoom = "guarded" // rtbl on: Steward bans
	victimNick  = "Victim"
)

var accounts = []string{"bot", "owner", "victim", "feeder"}

const configTmpl = `xmpp:
  jid: bot@%[1]s
  password: pass-bot
  address: %[2]s
  tls: insecure_plain
  resource: steward
  nick: Steward
redis:
  url: %[3]s
  prefix: bench-%[4]s
http:
  listen: 127.0.0.1:0
log:
  level: warn
limits:
  global_rate: 10000
  global_burst: 10000
  room_rate: 10000
  room_burst: 10000
rtbl:
  lists:
    - {name: feed, service: %[5]s, node: %[6]s, mode: apply}
rooms:
  - jid: %[7]s
    preset: custom
  - jid: %[8]s
    preset: custom
    policies:
      rtbl: {enabled: true}
`

// endToEnd starts Prosody, Redis and Steward, and times join→ban.
func endToEnd(n, warmup int) (err error) {
	p, err := testenv.StartProsody(testenv.ProsodyOptions{})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, p.Stop()) }()
	r, err := testenv.StartRedis()
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, r.Stop()) }()
	for _, a := range accounts {
		if err := p.Register(a, "pass-"+a); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	connect := func(name string) (*xmpptest.Client, error) {
		return xmpptest.Connect(ctx, p.Addr(), name+"@"+p.Domain(), "pass-"+name)
	}
	owner, err := connect("owner")
	if err != nil {
		return err
	}
	defer owner.Close()
	victim, err := connect("victim")
	if err != nil {
		return err
	}
	defer victim.Close()
	feeder, err := connect("feeder")
	if err != nil {
		return err
	}
	defer feeder.Close()

	floor, guarded := floorRoom+"@"+p.MUC(), guardedRoom+"@"+p.MUC()
	botJID, victimJID := "bot@"+p.Domain(), "victim@"+p.Domain()
	for _, room := range []string{floor, guarded} {
		if _, err := owner.CreateRoom(ctx, room, "Owner", map[string][]string{
			"muc#roomconfig_persistentroom": {"1"}, "muc#roomconfig_whois": {"moderators"},
		}); err != nil {
			return err
		}
		if err := owner.SetAffiliation(ctx, room, botJID, "admin"); err != nil {
			return err
		}
	}
	// The list: one node on the local pubsub service, victim listed.
	if err := feeder.Session().UnmarshalIQ(ctx, stanza.SetIQ, p.PubSub(), proto.CreateNode(rtbl.DefaultNode, nil), nil); err != nil {
		return fmt.Errorf("create node: %w", err)
	}
	if err := feeder.Session().UnmarshalIQ(ctx, stanza.SetIQ, p.PubSub(),
		proto.Publish(rtbl.DefaultNode, rtbl.Hash(victimJID), &proto.Report{Reason: rtbl.ReasonSpam, Text: "bench"}), nil); err != nil {
		return fmt.Errorf("publish: %w", err)
	}

	st, err := startSteward(ctx, fmt.Sprintf(configTmpl, p.Domain(), p.Addr(), r.URL(), strings.ToLower(rand.Text()[:8]),
		p.PubSub(), rtbl.DefaultNode, floor, guarded))
	if err != nil {
		return err
	}
	defer st.stop()
	if err := waitFor(ctx, "victim listed in Steward", func() bool { return len(st.a.RTBL.Match(victimJID)) > 0 }); err != nil {
		return err
	}

	var floorT, stewardT []time.Duration
	var before histogram
	for i := range warmup + n {
		if i == warmup {
			if before, err = latencyHistogram(st.a.HTTPAddr()); err != nil {
				return err
			}
		}
		f, err := floorRound(ctx, owner, victim, floor, victimJID)
		if err != nil {
			return fmt.Errorf("floor round %d: %w", i, err)
		}
		s, err := stewardRound(ctx, owner, victim, guarded, victimJID)
		if err != nil {
			return fmt.Errorf("steward round %d: %w", i, err)
		}
		if i >= warmup {
			floorT, stewardT = append(floorT, f), append(stewardT, s)
		}
	}
	after, err := latencyHistogram(st.a.HTTPAddr())
	if err != nil {
		return err
	}

	fmt.Printf("\n== join→ban seen by the joiner, %d rounds each (after %d warm-up), interleaved ==\n", n, warmup)
	fm, fp := pct(floorT, 50), pct(floorT, 99)
	sm, sp := pct(stewardT, 50), pct(stewardT, 99)
	fmt.Printf("%-28s median %8s  p99 %8s\n", "floor (owner bans by IQ)", ms(fm), ms(fp))
	fmt.Printf("%-28s median %8s  p99 %8s\n", "Steward (listed joiner)", ms(sm), ms(sp))
	fmt.Printf("%-28s median %7.2fx  p99 %7.2fx  (goal ≤ 1.5x)\n", "ratio Steward/floor", ratio(sm, fm), ratio(sp, fp))

	d := after.minus(before)
	fmt.Printf("\n== Steward internal: join presence received → outcast IQ sent (steward_action_latency_seconds) ==\n")
	fmt.Printf("observations %d, mean %s\n", d.count, ms(time.Duration(d.sum/float64(max(d.count, 1))*float64(time.Second))))
	fmt.Printf("p50 ≤ %s, p99 ≤ %s (bucket upper bounds; goal p99 < 1 ms)\n", boundMs(d.quantile(0.50)), boundMs(d.quantile(0.99)))
	fmt.Printf("buckets:")
	for i, le := range d.les {
		if d.counts[i] > 0 && (i == 0 || d.counts[i] != d.counts[i-1]) {
			fmt.Printf(" ≤%s:%d", boundMs(le), d.counts[i])
		}
	}
	fmt.Println()
	return nil
}

// joinRaw sends a MUC join and returns when it is written.
func joinRaw(ctx context.Context, c *xmpptest.Client, room string) error {
	return c.SendRaw(ctx, `<presence to="`+room+"/"+victimNick+`"><x xmlns="`+xmpptest.NSMUC+`"><history maxstanzas="0"/></x></presence>`)
}

func banned(room string) func(xmpptest.Stanza) bool {
	return func(s xmpptest.Stanza) bool {
		return s.Name == "presence" && s.Bare() == room && s.Type == "unavailable" && s.HasStatus(301) && s.HasStatus(110)
	}
}

// floorRound: the owner bans the victim by IQ right after it sees the join
// presence; the time is from the join sent to the victim seeing its 301.
func floorRound(ctx context.Context, owner, victim *xmpptest.Client, room, victimJID string) (time.Duration, error) {
	omark, vmark := owner.Mark(), victim.Mark()
	done := make(chan error, 1)
	go func() {
		_, err := owner.WaitAfter(ctx, omark, func(s xmpptest.Stanza) bool {
			return s.Name == "presence" && s.From == room+"/"+victimNick && s.Type == ""
		})
		if err == nil {
			err = owner.SetAffiliation(ctx, room, victimJID, "outcast")
		}
		done <- err
	}()
	t0 := time.Now()
	if err := joinRaw(ctx, victim, room); err != nil {
		return 0, err
	}
	if _, err := victim.WaitAfter(ctx, vmark, banned(room)); err != nil {
		return 0, err
	}
	d := time.Since(t0)
	if err := <-done; err != nil {
		return 0, err
	}
	return d, owner.SetAffiliation(ctx, room, victimJID, "none")
}

// stewardRound: the victim is listed; Steward bans it on join.
func stewardRound(ctx context.Context, owner, victim *xmpptest.Client, room, victimJID string) (time.Duration, error) {
	vmark := victim.Mark()
	t0 := time.Now()
	if err := joinRaw(ctx, victim, room); err != nil {
		return 0, err
	}
	if _, err := victim.WaitAfter(ctx, vmark, banned(room)); err != nil {
		return 0, err
	}
	d := time.Since(t0)
	return d, owner.SetAffiliation(ctx, room, victimJID, "none")
}

type steward struct {
	a      *app.App
	cancel context.CancelFunc
	done   chan error
}

func startSteward(ctx context.Context, cfgText string) (*steward, error) {
	dir, err := os.MkdirTemp("", "steward-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "steward.yaml")
	if err := os.WriteFile(path, []byte(cfgText), 0o600); err != nil {
		return nil, err
	}
	cfg, err := app.Load(path, nil)
	if err != nil {
		return nil, err
	}
	log, err := zap.NewDevelopment(zap.IncreaseLevel(zap.WarnLevel))
	if err != nil {
		return nil, err
	}
	rctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(rctx, cfg, log, app.Options{})
	if err != nil {
		cancel()
		return nil, err
	}
	s := &steward{a: a, cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- a.Run(rctx) }()
	if err := waitFor(ctx, "Steward ready", func() bool { return len(a.Ready(ctx)) == 0 }); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

func (s *steward) stop() {
	s.a.Stop()
	s.cancel()
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
	}
}

func waitFor(ctx context.Context, what string, cond func() bool) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("timed out waiting for %s", what)
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

// histogram is one scrape of a Prometheus histogram: cumulative counts by
// upper bound.
type histogram struct {
	les    []float64
	counts []uint64
	sum    float64
	count  uint64
}

const latencyMetric = "steward_action_latency_seconds"

// latencyHistogram scrapes /metrics.
func latencyHistogram(addr string) (histogram, error) {
	var h histogram
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return h, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		name, rest, ok := strings.Cut(line, " ")
		if !ok || !strings.HasPrefix(name, latencyMetric) {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
		if err != nil {
			return h, fmt.Errorf("metrics line %q: %w", line, err)
		}
		switch {
		case strings.HasPrefix(name, latencyMetric+`_bucket{le="`):
			le, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimPrefix(name, latencyMetric+`_bucket{le="`), `"}`), 64)
			if err != nil {
				return h, fmt.Errorf("metrics line %q: %w", line, err)
			}
			h.les, h.counts = append(h.les, le), append(h.counts, uint64(v))
		case name == latencyMetric+"_sum":
			h.sum = v
		case name == latencyMetric+"_count":
			h.count = uint64(v)
		}
	}
	if err := sc.Err(); err != nil {
		return h, err
	}
	if len(h.les) == 0 {
		return h, fmt.Errorf("no %s on /metrics", latencyMetric)
	}
	return h, nil
}

func (h histogram) minus(o histogram) histogram {
	d := histogram{les: h.les, counts: make([]uint64, len(h.counts)), sum: h.sum - o.sum, count: h.count - o.count}
	for i := range h.counts {
		d.counts[i] = h.counts[i]
		if i < len(o.counts) {
			d.counts[i] -= o.counts[i]
		}
	}
	return d
}

// quantile returns the upper bound of the bucket holding the q-quantile.
func (h histogram) quantile(q float64) float64 {
	want := uint64(math.Ceil(q * float64(h.count)))
	for i, c := range h.counts {
		if c >= want {
			return h.les[i]
		}
	}
	return math.Inf(1)
}

func pct(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	i := int(math.Ceil(float64(p)/100*float64(len(s)))) - 1
	return s[max(i, 0)]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.3f ms", float64(d)/float64(time.Millisecond)) }

func boundMs(le float64) string {
	if math.IsInf(le, 1) {
		return "+Inf"
	}
	return fmt.Sprintf("%.3f ms", le*1000)
}

func ratio(a, b time.Duration) float64 {
	if b == 0 {
		return math.NaN()
	}
	return float64(a) / float64(b)
}
