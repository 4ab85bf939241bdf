package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"mellium.im/xmpp/stanza"

	"github.com/steward-xmpp/steward/bot/proto"
	"github.com/steward-xmpp/steward/internal/xmpptest"
)

// step is one part of the scenario; it fails when its evidence does not
// arrive in time.
type step struct {
	title string
	run   func(ctx context.Context) error
}

// play runs the steps in order and stops at the first failure.
func (d *demo) play(ctx context.Context) bool {
	steps := []step{
		{"the owner creates a moderated room and Steward joins it", d.stepRoom},
		{"a visitor asks for voice by putting \"?\" in front of the nick", d.stepVoiceRequest},
		{"the vetting officer approves the request", d.stepApprove},
		{"a spammer on the block list tries to join", d.stepSpammer},
		{"the owner reads the audit log and undoes the ban", d.stepLogAndUndo},
	}
	for i, s := range steps {
		d.heading(i+1, s.title)
		if err := s.run(ctx); err != nil {
			if ctx.Err() != nil {
				fmt.Fprintln(d.out, "\nInterrupted.")
				return false
			}
			d.failed(fmt.Sprintf("step %d (%s)", i+1, s.title), err)
			return false
		}
		d.say("demo", "step %d done", i+1)
	}
	fmt.Fprintf(d.out, "\nAll %d steps happened as expected (%.1fs).\n", len(steps), time.Since(d.start).Seconds())
	return true
}

// wait waits up to the step deadline for a stanza at or after mark.
func (d *demo) wait(ctx context.Context, c *xmpptest.Client, mark int, what string, pred func(xmpptest.Stanza) bool) (xmpptest.Stanza, error) {
	ctx, cancel := context.WithTimeout(ctx, d.stepWait)
	defer cancel()
	st, err := c.WaitAfter(ctx, mark, pred)
	if err != nil {
		return st, fmt.Errorf("%s did not happen within %s:\n%w", what, d.stepWait, err)
	}
	return st, nil
}

// fromSteward matches a direct message from Steward whose body contains text.
func (d *demo) fromSteward(text string) func(xmpptest.Stanza) bool {
	bot := d.jid("bot") + "/"
	return func(st xmpptest.Stanza) bool {
		return st.Name == "message" && st.Type != "error" && strings.HasPrefix(st.From, bot) && strings.Contains(st.Body, text)
	}
}

// inRoom matches a groupchat message said in the room by nick whose body
// contains text.
func (d *demo) inRoom(nick, text string) func(xmpptest.Stanza) bool {
	return func(st xmpptest.Stanza) bool {
		return st.Name == "message" && st.Type == "groupchat" && st.From == d.room+"/"+nick &&
			!st.Delayed && strings.Contains(st.Body, text)
	}
}

// item is the first muc#user item of a presence (empty if none).
func item(st xmpptest.Stanza) xmpptest.Item {
	if len(st.Items) == 0 {
		return xmpptest.Item{}
	}
	return st.Items[0]
}

// askSteward sends a direct message to Steward and waits for the answer
// containing want.
func (d *demo) askSteward(ctx context.Context, who, line, want string) (string, error) {
	c := d.clients[who]
	mark := c.Mark()
	d.say(who, "→ Steward (direct message): %s", line)
	if _, err := c.SendChat(ctx, d.jid("bot"), line); err != nil {
		return "", err
	}
	st, err := d.wait(ctx, c, mark, fmt.Sprintf("Steward's answer to %q (containing %q)", line, want), d.fromSteward(want))
	if err != nil {
		return "", err
	}
	d.say("Steward", "→ %s:", who)
	d.quote(st.Body)
	return st.Body, nil
}

// sayInRoom has the owner say a command in the room and waits for
// Steward's reply there ("Owner: …") containing want.
func (d *demo) sayInRoom(ctx context.Context, line, want string) (string, error) {
	owner := d.clients["owner"]
	mark := owner.Mark()
	d.say("owner", "in the room: %s", line)
	if _, err := owner.SendGroupchat(ctx, d.room, line); err != nil {
		return "", err
	}
	st, err := d.wait(ctx, owner, mark, fmt.Sprintf("Steward's reply to %q in the room", line), d.inRoom("Steward", "Owner: "))
	if err != nil {
		return "", err
	}
	d.say("Steward", "in the room:")
	d.quote(st.Body)
	if !strings.Contains(st.Body, want) {
		return "", fmt.Errorf("Steward answered %q, expected it to contain %q", st.Body, want)
	}
	return strings.TrimPrefix(st.Body, "Owner: "), nil
}

func (d *demo) stepRoom(ctx context.Context) error {
	owner, feeder := d.clients["owner"], d.clients["feeder"]
	sctx, cancel := context.WithTimeout(ctx, d.stepWait)
	defer cancel()
	_, err := owner.CreateRoom(sctx, d.room, "Owner", map[string][]string{
		"muc#roomconfig_moderatedroom":  {"1"},
		"muc#roomconfig_persistentroom": {"1"},
		"muc#roomconfig_whois":          {"moderators"},
		"muc#roomconfig_roomname":       {"Lobby"},
	})
	if err != nil {
		return err
	}
	d.say("owner", "creates %s: moderated (newcomers join as visitors and cannot speak), real JIDs visible to moderators only", d.room)
	if err := owner.SetAffiliation(sctx, d.room, d.jid("bot"), "admin"); err != nil {
		return err
	}
	d.say("owner", "makes %s an admin of the room, so Steward may grant voice and ban", d.jid("bot"))

	err = feeder.Session().UnmarshalIQ(sctx, stanza.SetIQ, d.prosody.PubSub(), proto.CreateNode(d.prosody.RTBLNode(), map[string][]string{
		"pubsub#access_model": {"open"}, "pubsub#persist_items": {"1"}, "pubsub#max_items": {"max"},
	}), nil)
	if err != nil {
		return fmt.Errorf("create the block list node: %w", err)
	}
	d.say("feeder", "creates the block list node %s on %s (empty for now), in the format of xmppbl.org's public list",
		d.prosody.RTBLNode(), d.prosody.PubSub())

	mark := owner.Mark()
	d.say("demo", "starting Steward with the demo config (in this process, through internal/app like cmd/steward)")
	if err := d.startSteward(ctx); err != nil {
		return err
	}
	st, err := d.wait(ctx, owner, mark, "Steward's arrival in the room", xmpptest.PresenceOf(d.room, "Steward"))
	if err != nil {
		return err
	}
	it := item(st)
	d.say("Steward", "joined %s as \"Steward\" (affiliation %s, role %s)", d.room, it.Affiliation, it.Role)
	d.why("Steward follows the block list \"demo\" and runs the vetting and rtbl policies in this room (preset: vetted)")
	if it.Role != "moderator" {
		return fmt.Errorf("Steward's role is %q, want moderator", it.Role)
	}
	return nil
}

func (d *demo) stepVoiceRequest(ctx context.Context) error {
	visitor, officer := d.clients["visitor"], d.clients["officer"]
	sctx, cancel := context.WithTimeout(ctx, d.stepWait)
	defer cancel()
	st, err := visitor.Join(sctx, d.room, "Alice")
	if err != nil {
		return err
	}
	d.say("visitor", "joins as \"Alice\": role %s", item(st).Role)
	if item(st).Role != "visitor" {
		return fmt.Errorf("the visitor joined with role %q, want visitor", item(st).Role)
	}
	id, err := visitor.SendGroupchat(sctx, d.room, "Hello! Can anyone hear me?")
	if err != nil {
		return err
	}
	d.say("visitor", "says \"Hello! Can anyone hear me?\"")
	st, err = d.wait(ctx, visitor, 0, "the room's refusal of a visitor's message", xmpptest.ErrorReply(id))
	if err != nil {
		return err
	}
	d.say("Prosody", "refuses the message: %s", st.Error)
	d.why("in a moderated room only occupants with voice may speak; Alice must ask for it")

	vmark, omark := visitor.Mark(), officer.Mark()
	if _, err := visitor.ChangeNick(sctx, d.room, "?Alice"); err != nil {
		return err
	}
	d.say("visitor", "changes nick to \"?Alice\": the room's way to ask for voice (vetting marker \"?\")")
	st, err = d.wait(ctx, visitor, vmark, "Steward's confirmation to the visitor", d.fromSteward("is queued"))
	if err != nil {
		return err
	}
	d.say("Steward", "→ visitor (direct message):")
	d.quote(st.Body)
	d.why("vetting saw the marker, queued the request and told Alice privately")
	st, err = d.wait(ctx, officer, omark, "the notification to the vetting officer", d.fromSteward("New voice request in "+d.room))
	if err != nil {
		return err
	}
	d.say("Steward", "→ officer (direct message, after notify_batch: 1s):")
	d.quote(st.Body)
	d.why("officer@localhost is listed in the room's officers, so Steward notifies it of every new request")
	return nil
}

var requestNumber = regexp.MustCompile(`#(\d+) \?Alice`)

func (d *demo) stepApprove(ctx context.Context) error {
	visitor, owner := d.clients["visitor"], d.clients["owner"]
	queue, err := d.askSteward(ctx, "officer", "queue", "pending voice request")
	if err != nil {
		return err
	}
	m := requestNumber.FindStringSubmatch(queue)
	if m == nil {
		return fmt.Errorf("the queue does not list ?Alice: %q", queue)
	}
	vmark := visitor.Mark()
	if _, err := d.askSteward(ctx, "officer", "approve #"+m[1], "Approved ?Alice"); err != nil {
		return err
	}
	st, err := d.wait(ctx, visitor, vmark, "voice for the visitor", func(st xmpptest.Stanza) bool {
		return st.Name == "presence" && st.From == d.room+"/?Alice" && st.HasStatus(110) && item(st).Role == "participant"
	})
	if err != nil {
		return err
	}
	why := item(st).Reason
	if why == "" {
		why = "none given"
	}
	d.say("Prosody", "?Alice is now a participant (has voice); reason: %s", why)
	st, err = d.wait(ctx, visitor, vmark, "the welcome message", d.fromSteward("Welcome to the lobby"))
	if err != nil {
		return err
	}
	d.say("Steward", "→ visitor (direct message):")
	d.quote(st.Body)
	d.why("the welcome text comes from rooms[0].policies.vetting.welcome in deploy/demo/steward.yaml.tmpl")

	omark := owner.Mark()
	sctx, cancel := context.WithTimeout(ctx, d.stepWait)
	defer cancel()
	if _, err := visitor.SendGroupchat(sctx, d.room, "Thanks! Hello everyone."); err != nil {
		return err
	}
	d.say("visitor", "says \"Thanks! Hello everyone.\"")
	if _, err := d.wait(ctx, owner, omark, "the owner seeing ?Alice's message", d.inRoom("?Alice", "Hello everyone")); err != nil {
		return err
	}
	d.say("owner", "sees ?Alice's message in the room")
	return nil
}

func (d *demo) stepSpammer(ctx context.Context) error {
	feeder, spammer, owner := d.clients["feeder"], d.clients["spammer"], d.clients["owner"]
	sctx, cancel := context.WithTimeout(ctx, d.stepWait)
	defer cancel()
	target := d.jid("spammer")
	sum := sha256.Sum256([]byte(target))
	id := hex.EncodeToString(sum[:])
	err := feeder.Session().UnmarshalIQ(sctx, stanza.SetIQ, d.prosody.PubSub(), proto.Publish(d.prosody.RTBLNode(), id,
		&proto.Report{Reason: proto.ReasonSpam, Text: "posts links to a spam site"}), nil)
	if err != nil {
		return fmt.Errorf("publish the block list entry: %w", err)
	}
	d.say("feeder", "publishes sha256(%q) = %s… to the block list, reason spam", target, id[:12])

	// The entry reaches Steward as a pubsub notification; ask until it is in.
	var answer string
	for {
		answer, err = d.askSteward(ctx, "officer", "rtbl check "+target, target)
		if err != nil {
			return err
		}
		if strings.Contains(answer, "is listed") {
			break
		}
		if err := sctx.Err(); err != nil {
			return fmt.Errorf("Steward did not learn of the block list entry within %s", d.stepWait)
		}
		time.Sleep(200 * time.Millisecond)
	}
	d.why("Steward subscribed to the list's node and got the new entry as a pubsub event")

	smark, omark := spammer.Mark(), owner.Mark()
	if _, err := spammer.Join(sctx, d.room, "Spammy"); err != nil {
		return err
	}
	d.say("spammer", "joins as \"Spammy\"")
	if _, err := d.wait(ctx, spammer, smark, "the spammer's ban", func(st xmpptest.Stanza) bool {
		return st.Name == "presence" && st.Bare() == d.room && st.Type == "unavailable" && st.HasStatus(110) && st.HasStatus(301)
	}); err != nil {
		return err
	}
	st, err := d.wait(ctx, owner, omark, "the ban seen by the owner", func(st xmpptest.Stanza) bool {
		return st.Name == "presence" && st.From == d.room+"/Spammy" && st.Type == "unavailable" && st.HasStatus(301)
	})
	if err != nil {
		return err
	}
	it := item(st)
	d.say("Steward", "bans Spammy (%s) at once: affiliation %s, reason %q", it.JID, it.Affiliation, it.Reason)
	d.why("the rtbl policy hashed the joiner's JID, found it on the \"demo\" list and banned before anyone else acted on the join")
	cond, err := spammer.JoinErr(sctx, d.room, "Spammy")
	if err != nil {
		return err
	}
	d.say("spammer", "tries again and is refused: %s", cond)
	if cond != "forbidden" {
		return fmt.Errorf("the banned spammer's rejoin was refused with %q, want forbidden", cond)
	}
	return nil
}

func (d *demo) stepLogAndUndo(ctx context.Context) error {
	log, err := d.sayInRoom(ctx, "!log 5", "outcast")
	if err != nil {
		return err
	}
	d.why("every action Steward takes goes to its audit log with the policy, the public and the private reason")
	spammer := d.jid("spammer")
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, spammer) && strings.Contains(line, "→ outcast") {
			d.banID, _, _ = strings.Cut(strings.TrimSpace(line), " ")
			break
		}
	}
	if d.banID == "" {
		return fmt.Errorf("no ban of %s in the audit log:\n%s", spammer, log)
	}
	before, err := d.outcasts(ctx)
	if err != nil {
		return err
	}
	if !slices.Contains(before, spammer) {
		return fmt.Errorf("the room's ban list %v lacks %s", before, spammer)
	}
	d.say("owner", "the room's ban list: %s", strings.Join(before, ", "))

	if _, err := d.sayInRoom(ctx, "!undo "+d.banID, "Undone: "+d.banID); err != nil {
		return err
	}
	after, err := d.outcasts(ctx)
	if err != nil {
		return err
	}
	if slices.Contains(after, spammer) {
		return fmt.Errorf("%s is still banned after the undo (ban list %v)", spammer, after)
	}
	d.say("owner", "the room's ban list is now: %s", orNone(after))
	d.why("undo reversed the recorded action (outcast → none); the account is still on the list, so `rtbl exempt %s` would let it stay", spammer)
	return nil
}

// outcasts asks the room for its ban list as the owner.
func (d *demo) outcasts(ctx context.Context) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, d.stepWait)
	defer cancel()
	var reply struct {
		Items []struct {
			JID string `xml:"jid,attr"`
		} `xml:"item"`
	}
	q := `<query xmlns="` + xmpptest.NSMUCAdmin + `"><item affiliation="outcast"/></query>`
	err := d.clients["owner"].Session().UnmarshalIQ(ctx, stanza.GetIQ, d.room, xml.NewDecoder(strings.NewReader(q)), &reply)
	if err != nil {
		return nil, fmt.Errorf("read the ban list: %w", err)
	}
	out := make([]string, 0, len(reply.Items))
	for _, it := range reply.Items {
		out = append(out, it.JID)
	}
	return out, nil
}

func orNone(v []string) string {
	if len(v) == 0 {
		return "(empty)"
	}
	return strings.Join(v, ", ")
}
