package bot

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/steward-xmpp/steward/bot/proto"
	"github.com/steward-xmpp/steward/internal/config"
	"github.com/steward-xmpp/steward/policies"
	"github.com/steward-xmpp/steward/store"
	"github.com/steward-xmpp/steward/store/memstore"
	"github.com/steward-xmpp/steward/store/redisstore"
)

// The foundation's performance figures (docs/performance.md, "Foundation"):
// events per second through the room loop, heap bytes per tracked occupant
// and Redis round trips per event on the hot path. Everything runs offline:
// a Bot built by New (it connects only in Run), rooms started by addRoom,
// and pre-decoded stanzas pushed into the rooms' inboxes the way the
// session's reader pushes them.

// benchConfig is the test policy's (empty) config section.
type benchConfig struct{}

func (benchConfig) Validate() error { return nil }

// benchPolicy either does nothing, or devoices the author of every
// groupchat message whose body starts with "act" (acts=true). The rooms
// run it in dry-run, so each act is one audited "would have".
type benchPolicy struct{ acts bool }

func (p benchPolicy) Handle(ctx context.Context, ev policies.Event, _ policies.Room, act policies.Actions) (policies.Verdict, error) {
	if !p.acts {
		return policies.Continue, nil
	}
	if m, ok := ev.(policies.MessageReceived); ok && strings.HasPrefix(m.Body, "act") {
		return policies.Continue, act.SetRole(ctx, m.From.Nick, policies.RoleVisitor, policies.Because("benchmark"))
	}
	return policies.Continue, nil
}

func benchSpec(acts bool) policies.Spec {
	return policies.Spec{
		Name: "bench", Summary: "benchmark policy", Needs: policies.NeedModerator,
		NewConfig: func() policies.Config { return benchConfig{} },
		New: func(policies.Config, policies.Deps) (policies.Policy, error) {
			return benchPolicy{acts: acts}, nil
		},
	}
}

const benchSelf = "steward@example.org"

// benchBot is a bot with n joined rooms, each running its goroutine, with
// the bot admin there and one participant, alice.
type benchBot struct {
	b      *Bot
	rooms  []*room
	cancel context.CancelFunc
}

func newBenchBot(tb testing.TB, st store.All, acts bool, n int) *benchBot {
	tb.Helper()
	cfg := config.Defaults()
	cfg.XMPP.JID = benchSelf
	b, err := New(Options{Config: &cfg, Specs: []policies.Spec{benchSpec(acts)}, Store: st})
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	bb := &benchBot{b: b, cancel: cancel}
	for i := range n {
		rc := config.Room{
			JID:      fmt.Sprintf("room%d@muc.example.org", i),
			Policies: map[string]config.PolicyConfig{"bench": {Enabled: true, DryRun: true, Config: benchConfig{}}},
		}
		if err := b.addRoom(ctx, rc, true); err != nil {
			tb.Fatal(err)
		}
		r := b.room(rc.JID)
		bb.rooms = append(bb.rooms, r)
		r.in.push(itemStanza{in: selfPresence(r), at: time.Now()})
		r.in.push(itemStanza{in: joinPresence(r, "alice", "alice@example.org/phone"), at: time.Now()})
	}
	bb.fence()
	for _, r := range bb.rooms {
		if !r.Moderating() || r.Len() != 2 {
			tb.Fatalf("%s: moderating=%v with %d occupants, want a joined room with 2", r.key, r.Moderating(), r.Len())
		}
	}
	return bb
}

// fence waits until every room has handled everything pushed so far.
func (bb *benchBot) fence() {
	var wg sync.WaitGroup
	for _, r := range bb.rooms {
		wg.Add(1)
		r.in.push(itemFunc{f: func(*room) { wg.Done() }})
	}
	wg.Wait()
}

func (bb *benchBot) stop() {
	bb.cancel()
	bb.b.wg.Wait()
}

func selfPresence(r *room) proto.Inbound {
	return proto.Inbound{Name: "presence", From: r.occupantJID(r.nick), Presence: &proto.Presence{
		MUC: true, Codes: []int{110}, OccupantID: "oid-self",
		Items: []proto.Item{{Affiliation: "admin", Role: "moderator", JID: benchSelf + "/steward"}},
	}}
}

func joinPresence(r *room, nick, real string) proto.Inbound {
	return proto.Inbound{Name: "presence", From: r.occupantJID(nick), Presence: &proto.Presence{
		MUC: true, OccupantID: "oid-" + nick,
		Items: []proto.Item{{Affiliation: "none", Role: "participant", JID: real}},
	}}
}

func leavePresence(r *room, nick, real string) proto.Inbound {
	return proto.Inbound{Name: "presence", Type: "unavailable", From: r.occupantJID(nick), Presence: &proto.Presence{
		Type: "unavailable", MUC: true, OccupantID: "oid-" + nick,
		Items: []proto.Item{{Affiliation: "none", Role: "none", JID: real}},
	}}
}

func groupchat(r *room, nick, body string) proto.Inbound {
	return proto.Inbound{Name: "message", Type: "groupchat", From: r.occupantJID(nick), Message: &proto.Message{
		Type: "groupchat", Body: body, StanzaID: "sid-1", StanzaIDBy: r.addr.String(), OccupantID: "oid-" + nick,
	}}
}

// stream is the cycle of stanzas pushed into one room.
type stream func(r *room) []proto.Inbound

// messages: alice talking. With the acting policy every one is acted on.
func messages(r *room) []proto.Inbound {
	return []proto.Inbound{groupchat(r, "alice", "act on this")}
}

// churn: bob joins, says something, and leaves; alice answers.
func churn(r *room) []proto.Inbound {
	const bob = "bob@example.org/laptop"
	return []proto.Inbound{
		joinPresence(r, "bob", bob),
		groupchat(r, "bob", "hello"),
		groupchat(r, "alice", "hi bob"),
		leavePresence(r, "bob", bob),
	}
}

// runRoomLoop pushes b.N stanzas round-robin over the rooms from one
// goroutine (as the session reader does) and waits until all are handled.
func runRoomLoop(b *testing.B, open func(testing.TB) store.All, acts bool, rooms int, s stream) {
	bb := newBenchBot(b, open(b), acts, rooms)
	defer bb.stop()
	cycles := make([][]proto.Inbound, len(bb.rooms))
	for i, r := range bb.rooms {
		cycles[i] = s(r)
	}
	at := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ri := i % len(bb.rooms)
		c := cycles[ri]
		bb.rooms[ri].in.push(itemStanza{in: c[(i/len(bb.rooms))%len(c)], at: at})
	}
	bb.fence()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func openMem(testing.TB) store.All { return memstore.New() }

// BenchmarkRoomLoop measures events per second through the room loop:
// decoding excluded (see BenchmarkRoomLoopXML), policy dispatch, the
// occupant table and, for the acting policy, the executor in dry-run with
// its audit record.
func BenchmarkRoomLoop(b *testing.B) {
	for _, rooms := range []int{1, 1000} {
		b.Run(fmt.Sprintf("policy=noop/events=messages/rooms=%d", rooms), func(b *testing.B) {
			runRoomLoop(b, openMem, false, rooms, messages)
		})
		b.Run(fmt.Sprintf("policy=noop/events=churn/rooms=%d", rooms), func(b *testing.B) {
			runRoomLoop(b, openMem, false, rooms, churn)
		})
		b.Run(fmt.Sprintf("policy=dryrun/store=mem/events=messages/rooms=%d", rooms), func(b *testing.B) {
			runRoomLoop(b, openMem, true, rooms, messages)
		})
		b.Run(fmt.Sprintf("policy=dryrun/store=redis/events=messages/rooms=%d", rooms), func(b *testing.B) {
			runRoomLoop(b, func(tb testing.TB) store.All { return openRedis(tb, nil) }, true, rooms, messages)
		})
	}
}

// BenchmarkRoomLoopXML is BenchmarkRoomLoop with the stanza decoding and
// routing of the session's stanza handler included (Bot.onStanza on a
// token stream), for 1,000 rooms and the no-op policy.
func BenchmarkRoomLoopXML(b *testing.B) {
	bb := newBenchBot(b, memstore.New(), false, 1000)
	defer bb.stop()
	raw := make([][]byte, len(bb.rooms))
	for i, r := range bb.rooms {
		raw[i] = fmt.Appendf(nil, `<message xmlns="jabber:client" type="groupchat" from="%s/alice" to="%s/steward" id="m1">`+
			`<body>hello everyone</body><occupant-id xmlns="urn:xmpp:occupant-id:0" id="oid-alice"/>`+
			`<stanza-id xmlns="urn:xmpp:sid:0" id="sid-1" by="%s"/></message>`, r.addr, benchSelf, r.addr)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d := xml.NewDecoder(bytes.NewReader(raw[i%len(raw)]))
		tok, err := d.Token()
		if err != nil {
			b.Fatal(err)
		}
		bb.b.onStanza(tok.(xml.StartElement), d)
	}
	bb.fence()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkOccupantMemory seats 100,000 occupants across 1,000 rooms
// through the real presence path (100 joins per room, each dispatched to a
// no-op policy) and reports the live heap they add per occupant. Run it
// with -benchtime=1x: one iteration is one whole measurement.
func BenchmarkOccupantMemory(b *testing.B) {
	const rooms, perRoom = 1000, 100
	var total float64
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		bb := newBenchBot(b, memstore.New(), false, rooms)
		before := liveHeap()
		b.StartTimer()
		for n := range perRoom {
			for _, r := range bb.rooms {
				nick := fmt.Sprintf("guest%d", n)
				real := fmt.Sprintf("guest%d.%s@example.net/phone", n, r.addr.Localpart())
				r.in.push(itemStanza{in: joinPresence(r, nick, real), at: time.Now()})
			}
		}
		bb.fence()
		b.StopTimer()
		after := liveHeap()
		seated := 0
		for _, r := range bb.rooms {
			seated += r.Len() - 2 // the bot and alice were there before
		}
		if seated != rooms*perRoom {
			b.Fatalf("seated %d occupants, want %d", seated, rooms*perRoom)
		}
		total += float64(int64(after)-int64(before)) / float64(seated)
		runtime.KeepAlive(bb)
		bb.stop()
	}
	b.ReportMetric(total/float64(b.N), "B/occupant")
}

// liveHeap is the heap in use after a full collection.
func liveHeap() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// roundTrips counts what a go-redis client sends: each command and each
// pipeline is one round trip. The handshake of a new pool connection
// (HELLO, then a pipeline of AUTH/SELECT/CLIENT SETINFO) is not an event's
// cost: it is kept apart, as "setup".
type roundTrips struct {
	mu    sync.Mutex
	n     int
	names map[string]int
}

func (rt *roundTrips) add(name string, setup bool) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.names == nil {
		rt.names = map[string]int{}
	}
	if setup {
		rt.names["setup:"+name]++
		return
	}
	rt.n++
	rt.names[name]++
}

// take returns the round trips counted so far, with the commands by name,
// and starts counting again from zero.
func (rt *roundTrips) take() (int, map[string]int) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	n, names := rt.n, rt.names
	rt.n, rt.names = 0, nil
	return n, names
}

// handshake are the commands go-redis sends on a new connection.
func handshake(name string) bool {
	switch name {
	case "hello", "auth", "select", "client", "readonly":
		return true
	}
	return false
}

func (rt *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (rt *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		rt.add(cmd.Name(), handshake(cmd.Name()))
		return next(ctx, cmd)
	}
}

func (rt *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		setup := len(cmds) > 0
		for _, c := range cmds {
			setup = setup && handshake(c.Name())
		}
		rt.add("pipeline", setup)
		return next(ctx, cmds)
	}
}

// openRedis returns a redisstore on STEWARD_TEST_REDIS_URL under a fresh
// prefix (deleted afterwards), counting round trips into rt when not nil.
func openRedis(tb testing.TB, rt *roundTrips) store.All {
	tb.Helper()
	u := os.Getenv("STEWARD_TEST_REDIS_URL")
	if u == "" {
		tb.Skip("STEWARD_TEST_REDIS_URL unset: set it to a scratch Redis database, e.g. redis://127.0.0.1:6379/14")
	}
	opt, err := redis.ParseURL(u)
	if err != nil {
		tb.Fatalf("STEWARD_TEST_REDIS_URL: %v", err)
	}
	c := redis.NewClient(opt)
	if err := c.Ping(context.Background()).Err(); err != nil {
		tb.Fatalf("redis at STEWARD_TEST_REDIS_URL: %v", err)
	}
	prefix := fmt.Sprintf("steward-bench-%016x", rand.Uint64())
	tb.Cleanup(func() {
		ctx := context.Background()
		var cursor uint64
		for {
			ks, next, err := c.Scan(ctx, cursor, prefix+":*", 1000).Result()
			if err != nil {
				tb.Errorf("clean up %s: %v", prefix, err)
				break
			}
			if len(ks) > 0 {
				if err := c.Del(ctx, ks...).Err(); err != nil {
					tb.Errorf("clean up %s: %v", prefix, err)
					break
				}
			}
			if cursor = next; cursor == 0 {
				break
			}
		}
		_ = c.Close()
	})
	if rt != nil {
		c.AddHook(rt)
	}
	return redisstore.New(c, prefix)
}

// TestHotPathRedisRoundTrips shows that the hot path costs at most one
// Redis round trip per event: presences and messages no policy acts on
// touch memory only, and an event a policy acts on in dry-run costs the
// audit append (one EVALSHA).
func TestHotPathRedisRoundTrips(t *testing.T) {
	rt := &roundTrips{}
	st := openRedis(t, rt)
	bb := newBenchBot(t, st, true, 3)
	defer bb.stop()
	// Warm up: the first audit append loads the Lua script (EVALSHA,
	// NOSCRIPT, EVAL); later ones are one EVALSHA.
	for _, r := range bb.rooms {
		r.in.push(itemStanza{in: groupchat(r, "alice", "act: warm-up"), at: time.Now()})
	}
	bb.fence()

	const cycles = 50
	rt.take()
	events := 0
	for range cycles {
		for _, r := range bb.rooms {
			for _, in := range churn(r) { // no body starts with "act"
				r.in.push(itemStanza{in: in, at: time.Now()})
				events++
			}
		}
	}
	bb.fence()
	idle, idleNames := rt.take()
	if idle != 0 {
		t.Errorf("%d events no policy acts on made %d Redis round trips %v, want 0", events, idle, idleNames)
	}

	acted := 0
	for range cycles {
		for _, r := range bb.rooms {
			r.in.push(itemStanza{in: groupchat(r, "alice", "act on this"), at: time.Now()})
			acted++
		}
	}
	bb.fence()
	got, names := rt.take()
	if got > acted {
		t.Errorf("%d events acted on in dry-run made %d Redis round trips %v, want at most one each", acted, got, names)
	}
	// The actions did happen: each left its dry-run record.
	for _, r := range bb.rooms {
		recs, err := st.Audit().Recent(context.Background(), r.addr.String(), 2*cycles)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != cycles+1 {
			t.Errorf("%s: %d audit records, want %d (warm-up included)", r.key, len(recs), cycles+1)
		}
		for _, rec := range recs {
			if rec.Result != ResultDryRun || rec.Action != KindRole || rec.TargetNick != "alice" {
				t.Errorf("%s: record %+v, want a dry-run devoice of alice", r.key, rec)
				break
			}
		}
	}
	t.Logf("round trips: %d %v for %d events nobody acts on; %d %v for %d events acted on in dry-run", idle, idleNames, events, got, names, acted)
}
