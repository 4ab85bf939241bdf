package e2e

import (
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"mellium.im/xmlstream"
	"mellium.im/xmpp/stanza"

	"github.com/steward-xmpp/steward/bot/proto"
	"github.com/steward-xmpp/steward/internal/stewardtest"
	"github.com/steward-xmpp/steward/internal/testenv"
	"github.com/steward-xmpp/steward/internal/xmpptest"
	"github.com/steward-xmpp/steward/rtbl"
)

// Nodes on pubsub.localhost that the consuming test's lists follow.
const (
	nodeFeed   = rtbl.DefaultNode // apply, auto_unban
	nodeWatch  = "watch_sha256"   // alert
	nodeStrict = "strict_sha256"  // apply, no auto_unban
)

// rtblLists is the rtbl section of the consuming test; {{.FeedService}} is
// replaced so that a restart can point "feed" at a service that is not there.
const rtblLists = `rtbl:
  lists:
    - {name: feed, service: FEEDSERVICE, node: ` + nodeFeed + `, mode: apply, auto_unban: true}
    - {name: watch, service: {{.PubSub}}, node: ` + nodeWatch + `, mode: alert}
    - {name: strict, service: {{.PubSub}}, node: ` + nodeStrict + `, mode: apply}
`

// guardedRoom is the room section: rtbl on, every list followed.
func guardedRoom(room string) string {
	return `rooms:
  - jid: ` + room + `
    officers: [officer@localhost]
    preset: custom
    policies:
      rtbl:
        enabled: true
`
}

// openRoom creates a persistent, unmoderated room owned by "owner" in which
// only moderators see real JIDs, and makes the bot admin there.
func openRoom(t *testing.T, env *stewardtest.Env, room string) *xmpptest.Client {
	t.Helper()
	ctx := stewardtest.Ctx(t, 20*time.Second)
	owner := env.Client("owner")
	_, err := owner.CreateRoom(ctx, room, "Owner", map[string][]string{
		"muc#roomconfig_persistentroom": {"1"},
		"muc#roomconfig_whois":          {"moderators"},
	})
	stewardtest.MustOK(t, err, "create %s", room)
	stewardtest.MustOK(t, owner.SetAffiliation(ctx, room, env.JID("bot"), "admin"), "make bot admin")
	return owner
}

// connectAt registers user@host and logs it in.
func connectAt(t *testing.T, env *stewardtest.Env, user, host string) *xmpptest.Client {
	t.Helper()
	stewardtest.MustOK(t, env.Prosody.RegisterAt(user, host, "pass-"+user), "register %s@%s", user, host)
	ctx := stewardtest.Ctx(t, 15*time.Second)
	c, err := xmpptest.Connect(ctx, env.Prosody.Addr(), user+"@"+host, "pass-"+user)
	stewardtest.MustOK(t, err, "connect %s@%s", user, host)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// feeder drives a block list node with raw pubsub IQs, as a list operator's
// tooling would.
type feeder struct {
	t       *testing.T
	c       *xmpptest.Client
	service string
}

func (f feeder) iq(payload xml.TokenReader, v any, what string) {
	f.t.Helper()
	ctx := stewardtest.Ctx(f.t, 10*time.Second)
	stewardtest.MustOK(f.t, f.c.Session().UnmarshalIQ(ctx, stanza.SetIQ, f.service, payload, v), "%s", what)
}

func (f feeder) create(node string) {
	f.t.Helper()
	f.iq(proto.CreateNode(node, map[string][]string{"pubsub#access_model": {"open"}, "pubsub#max_items": {"max"}}), nil, "create node "+node)
}

// publish lists target (a bare JID or a domain) on node with a XEP-0377
// spam report carrying text.
func (f feeder) publish(node, target, text string) {
	f.t.Helper()
	f.iq(proto.Publish(node, rtbl.Hash(target), &proto.Report{Reason: rtbl.ReasonSpam, Text: text}), nil, "publish "+target+" on "+node)
}

func (f feeder) retract(node, target string) {
	f.t.Helper()
	f.iq(proto.RetractItem(node, rtbl.Hash(target), true), nil, "retract "+target+" from "+node)
}

// purgeNode is a XEP-0060 §8.5 purge of every item of a node (owner).
func purgeNode(node string) xml.TokenReader {
	purge := xmlstream.Wrap(nil, xml.StartElement{Name: xml.Name{Local: "purge"}, Attr: []xml.Attr{{Name: xml.Name{Local: "node"}, Value: node}}})
	return xmlstream.Wrap(purge, xml.StartElement{Name: xml.Name{Space: "http://jabber.org/protocol/pubsub#owner", Local: "pubsub"}})
}

// officerDM sends a command to the bot by direct message and returns the
// first message from the bot after it whose body contains want.
func officerDM(t *testing.T, env *stewardtest.Env, officer *xmpptest.Client, cmd, want string) string {
	t.Helper()
	ctx := stewardtest.Ctx(t, 20*time.Second)
	mark := officer.Mark()
	_, err := officer.SendChat(ctx, env.JID("bot"), cmd)
	stewardtest.MustOK(t, err, "send %q", cmd)
	st, err := officer.WaitAfter(ctx, mark, func(s xmpptest.Stanza) bool {
		return s.Name == "message" && s.Bare() == env.JID("bot") && strings.Contains(s.Body, want)
	})
	stewardtest.MustOK(t, err, "reply to %q containing %q", cmd, want)
	return st.Body
}

// joinAndGetBanned joins room as nick, waits for the 301 that removes us,
// then checks that a rejoin is refused.
func joinAndGetBanned(t *testing.T, c *xmpptest.Client, room, nick string) {
	t.Helper()
	ctx := stewardtest.Ctx(t, 20*time.Second)
	mark := c.Mark()
	_, err := c.Join(ctx, room, nick)
	stewardtest.MustOK(t, err, "%s joins", nick)
	_, err = c.WaitAfter(ctx, mark, func(s xmpptest.Stanza) bool {
		return s.Name == "presence" && s.Bare() == room && s.Type == "unavailable" && s.HasStatus(301) && s.HasStatus(110)
	})
	stewardtest.MustOK(t, err, "%s is banned (301)", nick)
	cond, err := c.JoinErr(ctx, room, nick)
	stewardtest.MustOK(t, err, "%s rejoins", nick)
	if cond != "forbidden" {
		t.Errorf("%s's rejoin refused with %q, want forbidden", nick, cond)
	}
}

// stillInside shows that c is an occupant with voice: its groupchat message
// comes back to it.
func stillInside(t *testing.T, c *xmpptest.Client, room, body string) {
	t.Helper()
	ctx := stewardtest.Ctx(t, 20*time.Second)
	mark := c.Mark()
	_, err := c.SendGroupchat(ctx, room, body)
	stewardtest.MustOK(t, err, "say %q", body)
	_, err = c.WaitAfter(ctx, mark, func(s xmpptest.Stanza) bool {
		return s.Name == "message" && s.Bare() == room && s.Body == body
	})
	stewardtest.MustOK(t, err, "%q is echoed by the room", body)
}

// notBanned checks that the audit log has no outcast record for bare.
func notBanned(t *testing.T, log, bare string) {
	t.Helper()
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, bare) && strings.Contains(line, "outcast") {
			t.Errorf("%s was banned: %s", bare, line)
		}
	}
}

func waitListed(t *testing.T, st *stewardtest.Steward, bare, list string, listed bool) {
	t.Helper()
	stewardtest.Eventually(t, 20*time.Second, "Steward's view of "+bare+" on "+list, func() bool {
		for _, h := range st.App.RTBL.Match(bare) {
			if h.List == list {
				return listed
			}
		}
		return !listed
	})
}

func waitSubscribed(t *testing.T, st *stewardtest.Steward) {
	t.Helper()
	stewardtest.Eventually(t, 20*time.Second, "every list subscribed", func() bool {
		for _, s := range st.App.RTBL.Status() {
			if !s.Subscribed {
				return false
			}
		}
		return true
	})
}

// TestIntegrationRTBLConsume follows three lists on a local pubsub service
// fed by raw IQs: join bans, domain entries, sweeps, alert mode, members and
// exemptions, auto_unban, `rtbl undo`, and a restart with the list's
// service unreachable.
func TestIntegrationRTBLConsume(t *testing.T) {
	env := stewardtest.NewEnv(t, testenv.ProsodyOptions{})
	room := env.Room("guarded")
	owner := openRoom(t, env, room)
	feed := feeder{t: t, c: env.Client("feeder"), service: env.Prosody.PubSub()}
	for _, n := range []string{nodeFeed, nodeWatch, nodeStrict} {
		feed.create(n)
	}
	lists := strings.Replace(rtblLists, "FEEDSERVICE", "{{.PubSub}}", 1)
	st := env.Start(lists + guardedRoom(room))
	st.WaitReady(20 * time.Second)
	waitSubscribed(t, st)
	officer := env.Client("officer")
	ctx := stewardtest.Ctx(t, 60*time.Second)

	// A listed JID that joins is banned; the log names list, item and reason.
	spammer := env.Client("spammer")
	feed.publish(nodeFeed, env.JID("spammer"), "spam wave")
	waitListed(t, st, env.JID("spammer"), "feed", true)
	joinAndGetBanned(t, spammer, room, "Spam")
	log := officerDM(t, env, officer, "log 5", "spammer@localhost")
	if want := []string{"listed on feed RTBL", "item " + rtbl.Hash(env.JID("spammer")) + " (JID)", "spam wave", "→ outcast"}; !containsAll(log, want) {
		t.Errorf("log = %q, want it to contain %q", log, want)
	}

	// A listed domain bans its users.
	mallory := connectAt(t, env, "mallory", testenv.OtherDomain)
	feed.publish(nodeFeed, testenv.OtherDomain, "spam server")
	waitListed(t, st, "mallory@"+testenv.OtherDomain, "feed", true)
	joinAndGetBanned(t, mallory, room, "Mallory")
	log = officerDM(t, env, officer, "log 5", "mallory@"+testenv.OtherDomain)
	if want := []string{"item " + rtbl.Hash(testenv.OtherDomain) + " (whole server)", "spam server"}; !containsAll(log, want) {
		t.Errorf("log = %q, want it to contain %q", log, want)
	}

	// Publishing a hash while its owner is inside removes them (sweep).
	visitor := env.Client("visitor")
	_, err := visitor.Join(ctx, room, "Vis")
	stewardtest.MustOK(t, err, "visitor joins")
	// A command runs in the room's queue, after the join: once answered,
	// Steward has checked the visitor (and found nothing).
	notBanned(t, officerDM(t, env, officer, "log 20", "Spam"), env.JID("visitor"))
	mark := visitor.Mark()
	feed.publish(nodeFeed, env.JID("visitor"), "listed later")
	_, err = visitor.WaitAfter(ctx, mark, func(s xmpptest.Stanza) bool {
		return s.Name == "presence" && s.Bare() == room && s.Type == "unavailable" && s.HasStatus(301) && s.HasStatus(110)
	})
	stewardtest.MustOK(t, err, "visitor is swept out (301)")

	// An alert list only tells the officers.
	visitor2 := env.Client("visitor2")
	feed.publish(nodeWatch, env.JID("visitor2"), "suspicious")
	waitListed(t, st, env.JID("visitor2"), "watch", true)
	omark := officer.Mark()
	_, err = visitor2.Join(ctx, room, "Vis2")
	stewardtest.MustOK(t, err, "visitor2 joins")
	_, err = officer.WaitAfter(ctx, omark, func(s xmpptest.Stanza) bool {
		return s.Name == "message" && strings.Contains(s.Body, "RTBL alert: Vis2 (visitor2@localhost) is listed on watch") &&
			strings.Contains(s.Body, "No action taken")
	})
	stewardtest.MustOK(t, err, "officer alerted about visitor2")
	stillInside(t, visitor2, room, "visitor2 still here")

	// A member is not actioned.
	member := env.Client("member")
	stewardtest.MustOK(t, owner.SetAffiliation(ctx, room, env.JID("member"), "member"), "make member")
	omark = officer.Mark()
	feed.publish(nodeFeed, env.JID("member"), "disputed")
	// Listed affiliated people are reported, never actioned.
	_, err = officer.WaitAfter(ctx, omark, func(s xmpptest.Stanza) bool {
		return s.Name == "message" && strings.Contains(s.Body, "RTBL report: affiliated people newly listed on feed: member@localhost (member; spam: disputed)")
	})
	stewardtest.MustOK(t, err, "officer told that a member is listed")
	waitListed(t, st, env.JID("member"), "feed", true)
	_, err = member.Join(ctx, room, "Mem")
	stewardtest.MustOK(t, err, "member joins")
	notBanned(t, officerDM(t, env, officer, "log 20", "Spam"), env.JID("member"))
	stillInside(t, member, room, "member still here")

	// An exempted JID is not actioned.
	admin2 := env.Client("admin2")
	officerDM(t, env, officer, "rtbl exempt admin2@localhost", "admin2@localhost is now exempt")
	feed.publish(nodeFeed, env.JID("admin2"), "false positive")
	waitListed(t, st, env.JID("admin2"), "feed", true)
	_, err = admin2.Join(ctx, room, "Adm")
	stewardtest.MustOK(t, err, "exempt admin2 joins")
	notBanned(t, officerDM(t, env, officer, "log 20", "Spam"), env.JID("admin2"))
	stillInside(t, admin2, room, "admin2 still here")

	// Retracting an entry of an auto_unban list lifts the ban.
	feed.retract(nodeFeed, env.JID("spammer"))
	waitListed(t, st, env.JID("spammer"), "feed", false)
	stewardtest.Eventually(t, 20*time.Second, "spammer let back in after the retraction", func() bool {
		_, err := spammer.Join(ctx, room, "Spam")
		return err == nil
	})
	log = officerDM(t, env, officer, "log 30", "no longer listed on feed RTBL")
	if !strings.Contains(log, "undone by") {
		t.Errorf("log = %q, want the spammer's ban marked undone", log)
	}

	// Without auto_unban, officers are told; `rtbl undo strict` lifts all.
	trolls := []*xmpptest.Client{connectAt(t, env, "troll1", env.Prosody.Domain()), connectAt(t, env, "troll2", env.Prosody.Domain())}
	for i, c := range trolls {
		bare := c.Addr().Bare().String()
		feed.publish(nodeStrict, bare, "troll")
		waitListed(t, st, bare, "strict", true)
		joinAndGetBanned(t, c, room, "Troll"+string(rune('1'+i)))
	}
	omark = officer.Mark()
	for _, c := range trolls {
		feed.retract(nodeStrict, c.Addr().Bare().String())
	}
	_, err = officer.WaitAfter(ctx, omark, func(s xmpptest.Stanza) bool {
		return s.Name == "message" && strings.Contains(s.Body, "entries were removed from strict") && strings.Contains(s.Body, "rtbl undo strict")
	})
	stewardtest.MustOK(t, err, "officer told how to undo")
	officerDM(t, env, officer, "rtbl undo strict", "Undid 2 actions")
	for i, c := range trolls {
		_, err := c.Join(ctx, room, "Troll"+string(rune('1'+i)))
		stewardtest.MustOK(t, err, "troll %d back in after rtbl undo", i+1)
	}

	// Purging the node (an owner's clean slate) is applied at once: the
	// entries count as retracted, so auto_unban lifts their bans.
	purged := connectAt(t, env, "purgee", env.Prosody.Domain())
	feed.publish(nodeFeed, env.JID("purgee"), "to be purged")
	waitListed(t, st, env.JID("purgee"), "feed", true)
	joinAndGetBanned(t, purged, room, "Purgee")
	feed.iq(purgeNode(nodeFeed), nil, "purge "+nodeFeed)
	waitListed(t, st, env.JID("purgee"), "feed", false)
	stewardtest.Eventually(t, 20*time.Second, "purgee let back in after the purge", func() bool {
		_, err := purged.Join(ctx, room, "Purgee")
		return err == nil
	})

	// A restart with the list's service unreachable still applies the last
	// set, loaded from Redis under the same list name and prefix.
	late := connectAt(t, env, "latecomer", env.Prosody.Domain())
	feed.publish(nodeFeed, env.JID("latecomer"), "spam wave")
	waitListed(t, st, env.JID("latecomer"), "feed", true)
	st.Stop()
	st = env.Start(strings.Replace(rtblLists, "FEEDSERVICE", "nopubsub.localhost", 1) + guardedRoom(room))
	st.WaitReady(20 * time.Second)
	joinAndGetBanned(t, late, room, "Late")
	status := officerDM(t, env, officer, "rtbl status", "feed (nopubsub.localhost")
	if !containsAll(status, []string{"feed (nopubsub.localhost, node " + nodeFeed + "): apply", "set is ", " old"}) {
		t.Errorf("rtbl status = %q, want feed's service and the age of its set", status)
	}
}

// TestIntegrationRTBLInterop shows that Steward and Prosody's mod_muc_rtbl
// understand each other's block list items, both ways, on one node.
func TestIntegrationRTBLInterop(t *testing.T) {
	const node = "steward_bans"
	env := stewardtest.NewEnv(t, testenv.ProsodyOptions{RTBLMUC: true, RTBLNode: node})
	room := env.Room("guarded")
	openRoom(t, env, room)
	// A room on the MUC service that mod_muc_rtbl guards.
	lobby := "lobby@" + env.Prosody.RTBLMUC()
	ctx := stewardtest.Ctx(t, 60*time.Second)
	feedC := env.Client("feeder")
	_, err := feedC.CreateRoom(ctx, lobby, "Feeder", nil)
	stewardtest.MustOK(t, err, "create %s", lobby)

	st := env.Start(`rtbl:
  lists:
    - {name: ours, service: {{.PubSub}}, node: {{.RTBLNode}}, mode: apply}
  publish: {name: ours, service: {{.PubSub}}, node: {{.RTBLNode}}}
` + guardedRoom(room))
	st.WaitReady(20 * time.Second)
	waitSubscribed(t, st)
	officer := env.Client("officer")

	// Steward → mod_muc_rtbl: `ban … --share` publishes sha256(JID), and
	// the server module then refuses that JID.
	spammer := env.Client("spammer")
	mark := spammer.Mark()
	_, err = spammer.Join(ctx, room, "Spam")
	stewardtest.MustOK(t, err, "spammer joins")
	hash := rtbl.Hash(env.JID("spammer"))
	officerDM(t, env, officer, "ban Spam flooding the room --share", "Shared to the block list (item "+hash+")")
	_, err = spammer.WaitAfter(ctx, mark, func(s xmpptest.Stanza) bool {
		return s.Name == "presence" && s.Bare() == room && s.Type == "unavailable" && s.HasStatus(301)
	})
	stewardtest.MustOK(t, err, "spammer banned by the command")
	var items proto.PubsubReply
	err = feedC.Session().UnmarshalIQ(ctx, stanza.GetIQ, env.Prosody.PubSub(), proto.ItemsQuery(node, 0), &items)
	stewardtest.MustOK(t, err, "fetch %s", node)
	found := false
	for _, it := range items.Items {
		if it.ID == hash {
			found = true
			if it.ReportReason != rtbl.ReasonSpam || it.ReportText != "flooding the room" {
				t.Errorf("shared item's report = %q %q, want spam, \"flooding the room\"", it.ReportReason, it.ReportText)
			}
		}
	}
	if !found {
		t.Fatalf("node %s holds %+v, want an item with id sha256(%s) = %s", node, items.Items, env.JID("spammer"), hash)
	}
	cond, err := spammer.JoinErr(ctx, lobby, "Spam")
	stewardtest.MustOK(t, err, "spammer joins the mod_muc_rtbl room")
	if cond != "forbidden" {
		t.Errorf("mod_muc_rtbl refused the shared JID with %q, want forbidden", cond)
	}

	// mod_muc_rtbl's format → Steward: a list operator publishes an item
	// exactly as mod_muc_rtbl reads it; both the module and Steward act.
	visitor := env.Client("visitor")
	vhash := rtbl.Hash(env.JID("visitor"))
	publish := `<pubsub xmlns="http://jabber.org/protocol/pubsub"><publish node="` + node + `"><item id="` + vhash + `">` +
		`<report xmlns="urn:xmpp:reporting:1" reason="urn:xmpp:reporting:spam"><text>seen on other servers</text></report></item></publish></pubsub>`
	err = feedC.Session().UnmarshalIQ(ctx, stanza.SetIQ, env.Prosody.PubSub(), xml.NewDecoder(strings.NewReader(publish)), nil)
	stewardtest.MustOK(t, err, "feeder publishes")
	cond, err = visitor.JoinErr(ctx, lobby, "Vis")
	stewardtest.MustOK(t, err, "visitor joins the mod_muc_rtbl room")
	if cond != "forbidden" {
		t.Errorf("mod_muc_rtbl refused the listed JID with %q, want forbidden", cond)
	}
	waitListed(t, st, env.JID("visitor"), "ours", true)
	joinAndGetBanned(t, visitor, room, "Vis")
	log := officerDM(t, env, officer, "log 5", "visitor@localhost")
	if want := []string{"listed on ours RTBL", "item " + vhash, "seen on other servers"}; !containsAll(log, want) {
		t.Errorf("log = %q, want it to contain %q", log, want)
	}
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
