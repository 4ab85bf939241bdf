package vetting_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/steward-xmpp/steward/policies"
	"github.com/steward-xmpp/steward/policies/policytest"
	"github.com/steward-xmpp/steward/store"
	"github.com/steward-xmpp/steward/vetting"
)

// countingKV counts calls; in store/redisstore each is one Redis round trip.
type countingKV struct {
	store.KV
	calls []string
}

func (k *countingKV) note(op, ns string) { k.calls = append(k.calls, op+" "+ns) }

func (k *countingKV) Put(ctx context.Context, ns, f string, v []byte) error {
	k.note("put", ns)
	return k.KV.Put(ctx, ns, f, v)
}
func (k *countingKV) Get(ctx context.Context, ns, f string) ([]byte, error) {
	k.note("get", ns)
	return k.KV.Get(ctx, ns, f)
}
func (k *countingKV) Delete(ctx context.Context, ns string, f ...string) error {
	k.note("delete", ns)
	return k.KV.Delete(ctx, ns, f...)
}
func (k *countingKV) All(ctx context.Context, ns string) (map[string][]byte, error) {
	k.note("all", ns)
	return k.KV.All(ctx, ns)
}
func (k *countingKV) Replace(ctx context.Context, ns string, m map[string][]byte) error {
	k.note("replace", ns)
	return k.KV.Replace(ctx, ns, m)
}
func (k *countingKV) Len(ctx context.Context, ns string) (int, error) {
	k.note("len", ns)
	return k.KV.Len(ctx, ns)
}

// counted is a harness whose policy runs over a counting KV; commands
// must go to the returned instance (run), not through h.Command.
func counted(t testing.TB, mut func(*vetting.Config)) (*policytest.Harness, *countingKV, *vetting.Policy) {
	t.Helper()
	h := setup(t, mut)
	kv := &countingKV{KV: h.KV}
	c := vetting.Defaults()
	if mut != nil {
		mut(c)
	}
	p, err := vetting.New(*c, policies.Deps{Room: h.Room.JID, KV: kv, Audit: h.Audit})
	if err != nil {
		t.Fatal(err)
	}
	h.Policy = p
	return h, kv, p
}

// TestKVCostPerRequest pins the queue's Redis cost, so that the README's
// figures stay true.
func TestKVCostPerRequest(t *testing.T) {
	h, kv, p := counted(t, nil)
	h.Join(visitor("warm", "warm@example.org")) // first event loads the state
	if got, want := strings.Join(kv.calls, ", "), "all queue, get listing, all asks, all settings, get approved"; got != want {
		t.Fatalf("load: %s, want %s", got, want)
	}
	steps := []struct {
		name string
		do   func()
		want string
	}{
		{"visitor joins", func() { h.Join(visitor("alice", "alice@example.org")) }, "get approved"},
		{"form request", func() { h.VoiceRequest("alice") }, "get denied, put queue, put listing"},
		{"same person asks again by DM", func() { run(t, h, p, "alice@example.org", "request hello") }, "put queue"},
		{"marker join (new person)", func() { h.Join(visitor("?bob", "bob@example.org")) }, "get approved, get denied, put queue, put listing"},
		{"batch of officer notifications", func() { h.Advance(5 * time.Second) }, "put listing"},
		{"approve", func() { run(t, h, p, officer, "approve alice") }, "put approved, put approved_oid, delete queue"},
		{"approved person rejoins", func() { h.Leave("alice"); h.Join(visitor("alice", "alice@example.org")) }, ""},
	}
	for _, s := range steps {
		kv.calls = nil
		s.do()
		got := strings.Join(kv.calls, ", ")
		t.Logf("%-32s %d KV ops: %s", s.name, len(kv.calls), got)
		if got != s.want {
			t.Errorf("%s: %s, want %s", s.name, got, s.want)
		}
	}
}

// BenchmarkRequestCycle measures a visitor joining, asking by the form and
// leaving (the request is dropped), over the in-memory KV.
func BenchmarkRequestCycle(b *testing.B) {
	h, kv, _ := counted(b, nil)
	h.Join(visitor("warm", "warm@example.org"))
	kv.calls = nil
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		nick := fmt.Sprintf("v%d", i)
		i++
		h.Join(visitor(nick, nick+"@example.org"))
		h.VoiceRequest(nick)
		h.Leave(nick)
	}
	b.ReportMetric(float64(len(kv.calls))/float64(i), "kv-ops/cycle")
}
