package vetting

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"mellium.im/xmpp/jid"

	"github.com/steward-xmpp/steward/policies"
)

// Commands returns the vetting commands. Officers (and admins and owners)
// work the queue; admins change the rules; anyone may request and, as
// vouch_by allows, vouch.
func (p *Policy) Commands() []policies.Command {
	return []policies.Command{
		{Name: "queue", Level: policies.Officer, Run: p.cmd(p.runQueue),
			Help: "List pending voice requests, vouched first, then oldest first, numbered for approve/deny/ask."},
		{Name: "approve", Usage: "approve <nick|#n> [--member] [text for the applicant]", Level: policies.Officer, Run: p.cmd(p.runApprove),
			Help: "Give voice (and membership with --member or grant: member); works on any visitor present, queued or not."},
		{Name: "deny", Usage: "deny <nick|#n> [reason]", Level: policies.Officer, Run: p.cmd(p.runDeny),
			Help: "Decline a request; the applicant is told the reason, and repeats within the cooldown are answered automatically."},
		{Name: "ask", Usage: "ask <nick|#n> <question>", Level: policies.Officer, Run: p.cmd(p.runAsk),
			Help: "Send a question to an applicant; their answer comes back to you, and they never see your JID."},
		{Name: "vouch", Usage: "vouch <nick>", Level: policies.Anyone, Run: p.cmd(p.runVouch),
			Help: "Vouch for a newcomer: they get voice (or the top of the queue), and you are answerable for them."},
		{Name: "revoke", Usage: "revoke <nick|jid>", Level: policies.Officer, Run: p.cmd(p.runRevoke),
			Help: "Forget an approval and take voice (and membership given by vetting) away."},
		{Name: "request", Usage: "request [a few words about yourself]", Level: policies.Anyone, Run: p.cmd(p.runRequest),
			Help: "Ask for voice (by direct message: visitors usually cannot speak in the room)."},
		{Name: "vetting", Usage: "vetting show|set|reset|record", Help: "Show or change this room's vetting rules.", Level: policies.Officer,
			Sub: []policies.Command{
				{Name: "show", Level: policies.Officer, Run: p.cmd(p.runShow), Help: "Show the effective vetting rules."},
				{Name: "set", Usage: "vetting set <key> <value>", Level: policies.Admin, Run: p.cmd(p.runSet),
					Help: "Change a rule at run time (wins over the config file): " + strings.Join(settableKeys, ", ") + "."},
				{Name: "reset", Usage: "vetting reset <key>", Level: policies.Admin, Run: p.cmd(p.runReset),
					Help: "Go back to the config file's value for a rule."},
				{Name: "record", Usage: "vetting record <nick|jid>", Level: policies.Officer, Run: p.cmd(p.runRecord),
					Help: "Show what vetting remembers about a person: approval, denial, vouches given and received."},
			}},
	}
}

type runFunc func(ctx context.Context, inv policies.Invocation, room policies.Room, act policies.Actions) error

// cmd loads the state before a command runs.
func (p *Policy) cmd(f runFunc) runFunc {
	return func(ctx context.Context, inv policies.Invocation, room policies.Room, act policies.Actions) error {
		if err := p.load(ctx); err != nil {
			return err
		}
		return f(ctx, inv, room, act)
	}
}

// target is the person a command names.
type target struct {
	bare  string
	nick  string
	occ   policies.Occupant // a present seat, zero if absent
	entry *Entry
}

func (t target) hasVoice(room policies.Room) bool {
	for _, o := range room.ByBareJID(t.bare) {
		if o.Role.HasVoice() {
			return true
		}
	}
	return t.occ.Role.HasVoice()
}

// resolve finds who "#n", a nick or a JID means.
func (p *Policy) resolve(room policies.Room, arg string, queued bool) (target, error) {
	var t target
	switch {
	case strings.HasPrefix(arg, "#"):
		n, err := strconv.Atoi(arg[1:])
		if err != nil || n < 1 {
			return t, policies.Usagef("%q is not a queue number such as #1", arg)
		}
		if len(p.list.Order) == 0 {
			return t, policies.Usagef("no numbers have been given out yet: send queue first")
		}
		if n > len(p.list.Order) {
			return t, policies.Usagef("there is no #%d: send queue to see the current list", n)
		}
		t.bare = p.list.Order[n-1]
		if t.entry = p.queue[t.bare]; t.entry == nil {
			return t, policies.Usagef("#%d (%s) is no longer pending: send queue to see the current list", n, t.bare)
		}
	default:
		if o, ok := room.Occupant(arg); ok {
			if t.bare = o.BareString(); t.bare == "" {
				return t, policies.Usagef("Steward cannot see %s's real JID here, so it cannot vet them", arg)
			}
			t.occ, t.nick = o, o.Nick
			break
		}
		for _, e := range p.sorted() {
			if e.Nick == arg || t.entry == nil && strings.EqualFold(e.Nick, arg) {
				t.entry, t.bare = e, e.JID
			}
		}
		if t.entry != nil {
			break
		}
		if strings.Contains(arg, "@") {
			if j, err := jid.Parse(arg); err == nil {
				t.bare = j.Bare().String()
				break
			}
			return t, policies.Usagef("%q is not a valid JID", arg)
		}
		return t, policies.Usagef("no one called %q is in the room or the queue", arg)
	}
	if t.entry == nil {
		t.entry = p.queue[t.bare]
	}
	if t.occ.Nick == "" {
		if seats := room.ByBareJID(t.bare); len(seats) > 0 {
			t.occ = seats[0]
		}
	}
	switch {
	case t.occ.Nick != "":
		t.nick = t.occ.Nick
	case t.entry != nil:
		t.nick = t.entry.Nick
	default:
		t.nick = t.bare
	}
	if queued && t.entry == nil {
		return t, policies.Usagef("%s is not in the queue: send queue to see who is", t.nick)
	}
	return t, nil
}

// grant gives voice (and membership), remembers the approval, drops the
// request and welcomes the person. It returns what was done, for the reply.
func (p *Policy) grant(ctx context.Context, now time.Time, room policies.Room, act policies.Actions, t target, member bool, by, via, text string) (string, error) {
	why := policies.Reason{Public: "approved by vetting", Private: "approved by " + by + " (" + via + ")", Group: "vetting", Ref: t.bare}
	seats := room.ByBareJID(t.bare)
	if len(seats) == 0 && t.occ.Nick != "" {
		seats = []policies.Occupant{t.occ}
	}
	if len(seats) == 0 && !member && !p.eff.RememberApprovals {
		// Voice is a role: with nothing remembered, approving an absent
		// person would do nothing at all.
		return "", policies.Usagef("%s is not in the room, and remember_approvals is off: approve them when they are back", t.nick)
	}
	var done []string
	if member {
		j, err := jid.Parse(t.bare)
		if err != nil {
			return "", policies.Usagef("%q is not a JID that can be made a member", t.bare)
		}
		if err := act.SetAffiliation(ctx, j, policies.AffMember, why); err != nil {
			return "", err
		}
		done = append(done, "membership")
	}
	voiced := false
	for _, o := range seats {
		if o.Role != policies.RoleVisitor {
			continue
		}
		if err := act.SetRole(ctx, o.Nick, policies.RoleParticipant, why); err != nil {
			return "", err
		}
		voiced = true
	}
	if voiced {
		done = append(done, "voice")
	}
	oid := t.occ.OccupantID
	if oid == "" && t.entry != nil {
		oid = t.entry.OccupantID
	}
	if p.eff.RememberApprovals {
		if err := p.saveApproval(ctx, Approval{JID: t.bare, OccupantID: oid, At: now, By: by, Member: member, Via: via}); err != nil {
			return "", err
		}
		done = append(done, "remembered")
	}
	entry := t.entry
	if entry == nil {
		entry = p.queue[t.bare]
	}
	if err := p.remove(ctx, act, t.bare); err != nil {
		return "", err
	}
	var msg strings.Builder
	fmt.Fprintf(&msg, "%s: ", room.Addr())
	if len(seats) == 0 {
		msg.WriteString("your voice request was approved. You will get voice when you join the room.")
	} else {
		msg.WriteString(p.eff.Welcome)
	}
	if member {
		msg.WriteString(" You are a member of the room now.")
	}
	if text != "" {
		msg.WriteString("\n" + text)
	}
	if p.eff.TellDropMarker && p.hasMarker(t.nick) {
		fmt.Fprintf(&msg, "\nYou can remove %q from the start of your nick now.", p.eff.Marker)
	}
	full := t.occ.RealJID
	if full.Equal(jid.JID{}) && entry != nil {
		full, _ = jid.Parse(entry.Real)
	}
	if err := p.tell(ctx, act, full, t.bare, msg.String()); err != nil {
		return "", err
	}
	if len(done) == 0 {
		return "nothing to change", nil
	}
	return strings.Join(done, ", "), nil
}

func (p *Policy) runQueue(ctx context.Context, inv policies.Invocation, room policies.Room, _ policies.Actions) error {
	if len(inv.Args) > 0 {
		return policies.Usagef("queue takes no arguments")
	}
	entries := p.sorted()
	p.list.Order = p.list.Order[:0]
	for _, e := range entries {
		p.list.Order = append(p.list.Order, e.JID)
	}
	if err := p.saveListing(ctx); err != nil {
		return err
	}
	if len(entries) == 0 {
		return inv.Reply(ctx, fmt.Sprintf("No pending voice requests in %s.", room.Addr()))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d pending voice %s in %s (vouched first, then oldest first):", len(entries), plural(len(entries), "request", "requests"), room.Addr())
	for i, e := range entries {
		fmt.Fprintf(&b, "\n#%d %s", i+1, p.describe(e, inv.At, room))
	}
	if !p.hours.Open(inv.At) {
		fmt.Fprintf(&b, "\nVetting hours are closed now; they resume %s.", p.hours.resumes(inv.At))
	}
	return inv.Reply(ctx, b.String())
}

func (p *Policy) runApprove(ctx context.Context, inv policies.Invocation, room policies.Room, act policies.Actions) error {
	flags, rest, err := policies.Flags(inv.Args, []string{"member"}, nil)
	if err != nil {
		return err
	}
	if len(rest) == 0 {
		return policies.Usagef("say whom to approve")
	}
	t, err := p.resolve(room, rest[0], false)
	if err != nil {
		return err
	}
	if t.entry == nil {
		if t.occ.Nick == "" {
			return policies.Usagef("%s is neither in the queue nor in the room", t.nick)
		}
		if t.hasVoice(room) {
			return policies.Usagef("%s already has voice", t.nick)
		}
	}
	member := flags["member"] != "" || p.eff.Grant == GrantMember
	done, err := p.grant(ctx, inv.At, room, act, t, member, inv.From.String(), "approve", strings.Join(rest[1:], " "))
	if err != nil {
		return err
	}
	return inv.Reply(ctx, fmt.Sprintf("Approved %s (%s): %s. They were told.", t.nick, t.bare, done))
}

func (p *Policy) runDeny(ctx context.Context, inv policies.Invocation, room policies.Room, act policies.Actions) error {
	if len(inv.Args) == 0 {
		return policies.Usagef("say whom to deny")
	}
	t, err := p.resolve(room, inv.Args[0], true)
	if err != nil {
		return err
	}
	reason := clean(policies.TextAfter(inv.Text, 1), 500)
	d := &Denial{At: inv.At, By: inv.From.String(), Reason: reason}
	if err := p.putJSON(ctx, nsDenied, t.bare, d); err != nil {
		return err
	}
	p.denied[t.bare] = d
	e := t.entry
	if err := p.remove(ctx, act, t.bare); err != nil {
		return err
	}
	msg := fmt.Sprintf("%s: your voice request was declined", room.Addr())
	if reason != "" {
		msg += ": " + reason
	}
	msg += "."
	if p.eff.Cooldown > 0 {
		msg += " You can ask again after " + p.when(inv.At.Add(p.eff.Cooldown)) + "."
	} else {
		msg += " You can ask again later."
	}
	if err := p.tellEntry(ctx, act, e, msg); err != nil {
		return err
	}
	return inv.Reply(ctx, fmt.Sprintf("Denied %s (%s); they were told.", t.nick, t.bare))
}

func (p *Policy) runAsk(ctx context.Context, inv policies.Invocation, room policies.Room, act policies.Actions) error {
	if len(inv.Args) < 2 {
		return policies.Usagef("say whom to ask and what")
	}
	t, err := p.resolve(room, inv.Args[0], true)
	if err != nil {
		return err
	}
	q := clean(policies.TextAfter(inv.Text, 1), 1000)
	a := Ask{Officer: inv.From.String(), Question: q, At: inv.At}
	if err := p.putJSON(ctx, nsAsks, t.bare, a); err != nil {
		return err
	}
	p.asks[t.bare] = a
	if err := p.tellEntry(ctx, act, t.entry, fmt.Sprintf("A vetting officer of %s asks:\n%s\nPlease answer by replying to this message; your answer is passed on.", room.Addr(), q)); err != nil {
		return err
	}
	return inv.Reply(ctx, fmt.Sprintf("Asked %s. Their answer will come to you by direct message.", t.nick))
}

func (p *Policy) runRevoke(ctx context.Context, inv policies.Invocation, room policies.Room, act policies.Actions) error {
	if len(inv.Args) != 1 {
		return policies.Usagef("name one person")
	}
	t, err := p.resolve(room, inv.Args[0], false)
	if err != nil {
		return err
	}
	a, err := p.approval(ctx, t.bare)
	if err != nil {
		return err
	}
	why := policies.Reason{Public: "voice revoked by vetting", Private: "revoked by " + inv.From.String(), Group: "vetting", Ref: t.bare}
	var done []string
	if a != nil {
		if err := p.forgetApproval(ctx, a); err != nil {
			return err
		}
		done = append(done, "approval forgotten")
		if a.Member && room.Affiliation(t.bare) == policies.AffMember {
			j, err := jid.Parse(t.bare)
			if err != nil {
				return err
			}
			if err := act.SetAffiliation(ctx, j, policies.AffNone, why); err != nil {
				return err
			}
			done = append(done, "membership removed")
		}
	}
	devoiced := false
	for _, o := range room.ByBareJID(t.bare) {
		if o.Role != policies.RoleParticipant {
			continue
		}
		if err := act.SetRole(ctx, o.Nick, policies.RoleVisitor, why); err != nil {
			return err
		}
		devoiced = true
	}
	if devoiced {
		done = append(done, "voice taken")
	}
	if len(done) == 0 {
		return policies.Usagef("%s has no vetting approval and no voice to revoke", t.nick)
	}
	return inv.Reply(ctx, fmt.Sprintf("Revoked %s (%s): %s.", t.nick, t.bare, strings.Join(done, ", ")))
}

func (p *Policy) runRequest(ctx context.Context, inv policies.Invocation, room policies.Room, act policies.Actions) error {
	bare := inv.From.String()
	seats := room.ByBareJID(bare)
	if len(seats) == 0 {
		return inv.Reply(ctx, fmt.Sprintf("Please join %s first, then send this request again: voice is given to people in the room.", room.Addr()))
	}
	for _, o := range seats {
		if o.Role.HasVoice() {
			return inv.Reply(ctx, fmt.Sprintf("You already have voice in %s.", room.Addr()))
		}
	}
	o := seats[0]
	msg, _, err := p.enqueue(ctx, inv.At, room, act, request{
		bare: bare, real: realString(o), occ: o, nick: o.Nick, via: ViaDM, words: clean(strings.TrimSpace(inv.Text), 300)})
	if err != nil {
		return err
	}
	return inv.Reply(ctx, msg)
}

// settableKeys are the rules `vetting set` may change.
var settableKeys = []string{"hours", "cooldown", "max_pending", "allowed_servers", "denied_servers", "grant", "answer_button_requests_with"}

// setKey applies one run-time setting to c.
func setKey(c *Config, key, val string) error {
	switch key {
	case "hours":
		c.Hours = val
	case "cooldown":
		d, err := time.ParseDuration(val)
		if err != nil {
			return policies.KeyErrorf(key, "%q is not a duration such as 24h or 30m", val)
		}
		c.Cooldown = d
	case "max_pending":
		n, err := strconv.Atoi(val)
		if err != nil {
			return policies.KeyErrorf(key, "%q is not a whole number", val)
		}
		c.MaxPending = n
	case "allowed_servers":
		c.AllowedServers = splitList(val)
	case "denied_servers":
		c.DeniedServers = splitList(val)
	case "grant":
		c.Grant = val
	case "answer_button_requests_with":
		c.AnswerButtonRequestsWith = val
	default:
		return policies.KeyErrorf(key, "cannot be set at run time; these can: %s", strings.Join(settableKeys, ", "))
	}
	return nil
}

// splitList reads "a.org, b.org" or "a.org b.org"; "none" or "-" is empty.
func splitList(s string) []string {
	if s == "none" || s == "-" {
		return []string{}
	}
	out := []string{}
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		out = append(out, strings.ToLower(f))
	}
	return out
}

func (p *Policy) runSet(ctx context.Context, inv policies.Invocation, _ policies.Room, _ policies.Actions) error {
	if len(inv.Args) < 2 {
		return policies.Usagef("give a key and a value; keys: %s", strings.Join(settableKeys, ", "))
	}
	key, val := inv.Args[0], strings.TrimSpace(policies.TextAfter(inv.Text, 1))
	next := map[string]string{key: val}
	for k, v := range p.settings {
		if k != key {
			next[k] = v
		}
	}
	if err := p.apply(next); err != nil {
		return policies.Usagef("%v", err)
	}
	b, _ := json.Marshal(val)
	if err := p.kv.Put(ctx, nsSettings, key, b); err != nil {
		_ = p.apply(p.settings)
		return fmt.Errorf("vetting: save setting: %w", err)
	}
	p.settings = next
	return inv.Reply(ctx, fmt.Sprintf("%s is now %s (until vetting reset %s).", key, p.show(key), key))
}

func (p *Policy) runReset(ctx context.Context, inv policies.Invocation, _ policies.Room, _ policies.Actions) error {
	if len(inv.Args) != 1 {
		return policies.Usagef("name one key")
	}
	key := inv.Args[0]
	if !slices.Contains(settableKeys, key) {
		return policies.Usagef("%s cannot be set at run time; these can: %s", key, strings.Join(settableKeys, ", "))
	}
	if _, ok := p.settings[key]; !ok {
		return inv.Reply(ctx, fmt.Sprintf("%s was not changed at run time; it is %s.", key, p.show(key)))
	}
	next := map[string]string{}
	for k, v := range p.settings {
		if k != key {
			next[k] = v
		}
	}
	if err := p.apply(next); err != nil {
		return policies.Usagef("%v", err)
	}
	if err := p.kv.Delete(ctx, nsSettings, key); err != nil {
		_ = p.apply(p.settings)
		return fmt.Errorf("vetting: reset setting: %w", err)
	}
	p.settings = next
	return inv.Reply(ctx, fmt.Sprintf("%s is back to the config file's value: %s.", key, p.show(key)))
}

// show formats one key's effective value.
func (p *Policy) show(key string) string {
	c := p.eff
	list := func(l []string) string {
		if len(l) == 0 {
			return "(none)"
		}
		return strings.Join(l, ", ")
	}
	text := func(s string) string {
		if s == "" {
			return "(none)"
		}
		return strconv.Quote(s)
	}
	switch key {
	case "marker":
		return text(c.Marker)
	case "hours":
		return p.hours.String()
	case "allowed_servers":
		return list(c.AllowedServers)
	case "denied_servers":
		return list(c.DeniedServers)
	case "answer_button_requests_with":
		return text(c.AnswerButtonRequestsWith)
	case "cooldown":
		return c.Cooldown.String()
	case "max_pending":
		return strconv.Itoa(c.MaxPending)
	case "grant":
		return c.Grant
	case "keep_after_leave":
		return c.KeepAfterLeave.String()
	case "notify_batch":
		return c.NotifyBatch.String()
	case "vouch_by":
		return c.VouchBy
	case "vouch_effect":
		return c.VouchEffect
	case "tell_drop_marker":
		return strconv.FormatBool(c.TellDropMarker)
	case "remember_approvals":
		return strconv.FormatBool(c.RememberApprovals)
	case "welcome":
		return text(c.Welcome)
	}
	return "?"
}

var allKeys = []string{"marker", "hours", "allowed_servers", "denied_servers", "answer_button_requests_with", "cooldown",
	"max_pending", "grant", "keep_after_leave", "notify_batch", "vouch_by", "vouch_effect", "tell_drop_marker", "remember_approvals", "welcome"}

func (p *Policy) runShow(ctx context.Context, inv policies.Invocation, room policies.Room, _ policies.Actions) error {
	var b strings.Builder
	state := "open"
	if !p.hours.Open(inv.At) {
		state = "closed, resumes " + p.hours.resumes(inv.At)
	}
	fmt.Fprintf(&b, "Vetting in %s: %d pending, hours %s now.", room.Addr(), len(p.queue), state)
	for _, k := range allKeys {
		fmt.Fprintf(&b, "\n%s: %s", k, p.show(k))
		if _, ok := p.settings[k]; ok {
			b.WriteString(" (set by command)")
		}
	}
	return inv.Reply(ctx, b.String())
}

func (p *Policy) runRecord(ctx context.Context, inv policies.Invocation, room policies.Room, _ policies.Actions) error {
	if len(inv.Args) != 1 {
		return policies.Usagef("name one person")
	}
	t, err := p.resolve(room, inv.Args[0], false)
	if err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Vetting record of %s in %s:", t.bare, room.Addr())
	if t.entry != nil {
		fmt.Fprintf(&b, "\n- pending: %s", p.describe(t.entry, inv.At, room))
	}
	a, err := p.approval(ctx, t.bare)
	if err != nil {
		return err
	}
	if a != nil {
		fmt.Fprintf(&b, "\n- approved %s by %s (%s)", p.when(a.At), a.By, a.Via)
	}
	d, err := p.denial(ctx, t.bare)
	if err != nil {
		return err
	}
	if d != nil {
		fmt.Fprintf(&b, "\n- denied %s by %s: %s", p.when(d.At), d.By, d.Reason)
	}
	var vr VouchRecord
	if _, err := p.getJSON(ctx, nsVouches, t.bare, &vr); err != nil {
		return err
	}
	for _, v := range vr.Vouches {
		fmt.Fprintf(&b, "\n- vouched for by %s on %s", v.By, p.when(v.At))
	}
	if !vr.BannedAt.IsZero() {
		fmt.Fprintf(&b, "\n- banned %s", p.when(vr.BannedAt))
	}
	var r VoucherRecord
	if _, err := p.getJSON(ctx, nsVouchers, t.bare, &r); err != nil {
		return err
	}
	for _, v := range r.Vouched {
		banned := ""
		if slices.Contains(r.Banned, v.For) {
			banned = " — BANNED since"
		}
		fmt.Fprintf(&b, "\n- vouched for %s on %s%s", v.For, p.when(v.At), banned)
	}
	if len(r.Vouched) > 0 {
		fmt.Fprintf(&b, "\n- %s", voucherSummary(r))
	}
	if !strings.Contains(b.String(), "\n") {
		b.WriteString(" nothing remembered.")
	}
	return inv.Reply(ctx, b.String())
}
