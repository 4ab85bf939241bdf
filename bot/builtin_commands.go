package bot

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
	"mellium.im/xmpp/jid"

	"github.com/steward-xmpp/steward/bot/proto"
	"github.com/steward-xmpp/steward/policies"
	"github.com/steward-xmpp/steward/store"
)

// builtinTimerPolicy is the policy name the bot's own timers (timed bans)
// are stored under.
const builtinTimerPolicy = "steward"

// builtins returns the commands every room has.
func (b *Bot) builtins() []policies.Command {
	return []policies.Command{
		{Name: "help", Usage: "help [command]", Help: "Lists the commands you may use here, or explains one.", Level: policies.Anyone, Global: true, Run: b.cmdHelp},
		{Name: "status", Usage: "status", Help: "Rooms, Steward's role, policies with their dry-run flags and where each setting comes from, queue sizes.", Level: policies.Officer, Global: true, Run: b.cmdStatus},
		{Name: "log", Usage: "log [n]", Help: "The newest n (default 10) audit records of the room: what Steward did, for whom, why.", Level: policies.Officer, Run: b.cmdLog},
		{Name: "undo", Usage: "undo <id>", Help: "Reverses one recorded action (a ban, a role change) by its id from `log`.", Level: policies.Officer, Run: b.cmdUndo},
		{Name: "kick", Usage: "kick <nick> [reason]", Help: "Removes the occupant from the room (they may come back).", Level: policies.Officer, Run: b.cmdKick},
		{Name: "ban", Usage: "ban <nick|jid> [duration] [reason] [--share]", Help: "Bans a real JID (outcast). With a duration (30m, 2h, 7d) Steward lifts the ban itself, even across restarts. --share also publishes it to the block list Steward publishes.", Level: policies.Officer, Run: b.cmdBan},
		{Name: "unban", Usage: "unban <jid> [--share]", Help: "Lifts a ban. --share also retracts it from Steward's published block list.", Level: policies.Officer, Run: b.cmdUnban},
		{Name: "voice", Usage: "voice <nick>", Help: "Grants voice (role participant).", Level: policies.Officer, Run: b.cmdRole(policies.RoleParticipant)},
		{Name: "devoice", Usage: "devoice <nick>", Help: "Revokes voice (role visitor).", Level: policies.Officer, Run: b.cmdRole(policies.RoleVisitor)},
		{Name: "policy", Usage: "policy list|enable|disable|dryrun <name> [on|off]", Help: "Shows or changes which policies run here. Changes are kept in Redis and win over the config file.", Level: policies.Officer, Sub: []policies.Command{
			{Name: "list", Usage: "policy list", Help: "Every policy, on/off, dry-run, and where each came from.", Level: policies.Officer, Run: b.cmdPolicyList},
			{Name: "enable", Usage: "policy enable <name>", Help: "Turns a policy on in this room.", Level: policies.Admin, Run: b.cmdPolicySet("enable")},
			{Name: "disable", Usage: "policy disable <name>", Help: "Turns a policy off in this room.", Level: policies.Admin, Run: b.cmdPolicySet("disable")},
			{Name: "dryrun", Usage: "policy dryrun <name> [on|off]", Help: "In dry-run a policy only logs and audits what it would have done.", Level: policies.Admin, Run: b.cmdPolicySet("dryrun")},
		}},
		{Name: "officer", Usage: "officer add|remove|list <jid>", Help: "Manages the room's officers (people who may moderate through Steward).", Level: policies.Officer, Sub: []policies.Command{
			{Name: "list", Usage: "officer list", Help: "The room's officers and where each comes from.", Level: policies.Officer, Run: b.cmdOfficerList},
			{Name: "add", Usage: "officer add <jid>", Help: "Makes a real JID an officer of this room.", Level: policies.Admin, Run: b.cmdOfficerSet(true)},
			{Name: "remove", Usage: "officer remove <jid>", Help: "Removes an officer of this room.", Level: policies.Admin, Run: b.cmdOfficerSet(false)},
		}},
	}
}

func asRoom(rv policies.Room) *room { return rv.(*room) }

func (b *Bot) cmdHelp(ctx context.Context, inv policies.Invocation, rv policies.Room, _ policies.Actions) error {
	r := asRoom(rv)
	cmds := r.allCommands()
	if len(inv.Args) > 0 {
		c, path, _ := policies.Find(cmds, inv.Args)
		if c == nil {
			return policies.Usagef("no command %q", strings.Join(inv.Args, " "))
		}
		text := fmt.Sprintf("%s — %s (level: %s)", usageOf(*c, path), c.Help, c.Level)
		for _, s := range c.Sub {
			text += fmt.Sprintf("\n  %s — %s (level: %s)", s.Usage, s.Help, s.Level)
		}
		return inv.Reply(ctx, text)
	}
	var lines []string
	for _, c := range cmds {
		if c.Level > inv.Level {
			continue
		}
		u := c.Usage
		if u == "" {
			u = c.Name
		}
		lines = append(lines, "  "+u)
	}
	sort.Strings(lines)
	where := "In the room, start a command with \"!\". By direct message, no \"!\"; put the room after the command when you are an officer of several rooms."
	return inv.Reply(ctx, fmt.Sprintf("Commands you may use in %s (you are %s):\n%s\n%s\n\"help <command>\" explains one.", r.addr, inv.Level, strings.Join(lines, "\n"), where))
}

func (b *Bot) cmdStatus(ctx context.Context, inv policies.Invocation, rv policies.Room, _ policies.Actions) error {
	r := asRoom(rv)
	var sb strings.Builder
	conn := "connected"
	if b.session() == nil {
		conn = "disconnected"
	}
	fmt.Fprintf(&sb, "Steward %s as %s; %d room(s); scheduler: %d timer(s) pending.\n", conn, b.self, len(b.roomsBySize()), b.sched.Len())
	fmt.Fprintf(&sb, "%s: %s as %q, role %s, affiliation %s, %d occupant(s)", r.addr, r.state, r.nick, r.self.Role, r.self.Affiliation, r.occ.len())
	if r.stateNote != "" {
		fmt.Fprintf(&sb, " (%s)", r.stateNote)
	}
	if r.state == stateJoined && !r.Moderating() {
		sb.WriteString(" — observing only: make Steward admin to moderate")
	}
	fmt.Fprintf(&sb, "\n  features: %s\n  queues: %d event(s) waiting in this room, %d stanza(s) waiting on rate limits\n  policies:", featureSummary(r.features), r.in.len(), b.exec.Waiting())
	for _, in := range r.pols {
		fmt.Fprintf(&sb, "\n    %s: %s (from %s), dry-run %s (from %s)%s", in.spec.Name, onOff(in.enabled), in.srcOn, onOff(in.dryRun), in.srcDry, crashed(in))
		if rep, ok := in.pol.(policies.Reporter); ok && in.enabled && !in.crashed {
			if line := rep.Report(); line != "" {
				sb.WriteString(" — " + line)
			}
		}
	}
	for _, other := range b.roomsBySize() {
		if other == r {
			continue
		}
		fmt.Fprintf(&sb, "\n  other room %s: %s, %d occupant(s)", other.key, other.stateShown.Load(), other.size.Load())
	}
	return inv.Reply(ctx, sb.String())
}

func crashed(in *instance) string {
	if in.crashed {
		return " — DISABLED after a failure until reload"
	}
	return ""
}

func onOff(v bool) string {
	if v {
		return "on"
	}
	return "off"
}

func featureSummary(f policies.Features) string {
	var parts []string
	add := func(ok bool, s string) {
		if ok {
			parts = append(parts, s)
		}
	}
	add(f.Moderated, "moderated")
	add(f.MembersOnly, "members-only")
	add(f.SemiAnonymous, "semi-anonymous")
	add(f.NonAnonymous, "non-anonymous")
	add(f.Persistent, "persistent")
	add(f.VoiceRequests, "voice requests")
	add(f.OccupantIDs, "occupant-id")
	if f.Moderation != "" {
		parts = append(parts, "retraction ("+f.Moderation+")")
	} else {
		parts = append(parts, "no message retraction")
	}
	if f.MaxOccupants > 0 {
		parts = append(parts, fmt.Sprintf("max %d occupants", f.MaxOccupants))
	}
	return strings.Join(parts, ", ")
}

func (b *Bot) cmdLog(ctx context.Context, inv policies.Invocation, rv policies.Room, _ policies.Actions) error {
	n := 10
	if len(inv.Args) > 0 {
		v, err := strconv.Atoi(inv.Args[0])
		if err != nil || v < 1 || v > 200 {
			return policies.Usagef("n must be a number from 1 to 200, got %q", inv.Args[0])
		}
		n = v
	}
	recs, err := b.store.Audit().Recent(ctx, asRoom(rv).key, n)
	if err != nil {
		return fmt.Errorf("reading the audit log: %w", err)
	}
	if len(recs) == 0 {
		return inv.Reply(ctx, "The audit log of this room is empty.")
	}
	lines := make([]string, 0, len(recs))
	for _, rec := range recs {
		lines = append(lines, FormatRecord(rec))
	}
	return inv.Reply(ctx, strings.Join(lines, "\n"))
}

// FormatRecord renders an audit record on one line.
func FormatRecord(rec store.AuditRecord) string {
	target := rec.TargetJID
	if rec.TargetNick != "" {
		if target != "" {
			target = rec.TargetNick + " (" + target + ")"
		} else {
			target = rec.TargetNick
		}
	}
	s := fmt.Sprintf("%s %s %s: %s %s", rec.ID, rec.At.UTC().Format("2006-01-02 15:04:05Z"), rec.Actor, rec.Action, target)
	if rec.Value != "" && rec.Action != "say" && rec.Action != "whisper" && rec.Action != "tell" && rec.Action != "notify" {
		s += " → " + rec.Value
	}
	if rec.Public != "" {
		s += " — " + rec.Public
	}
	if rec.Private != "" {
		s += " [" + rec.Private + "]"
	}
	s += " (" + rec.Result
	if e := strings.TrimPrefix(rec.Error, rec.Result+": "); e != "" {
		s += ": " + e
	}
	s += ")"
	if rec.UndoneBy != "" {
		s += " undone by " + rec.UndoneBy
	}
	if rec.UndoOf != "" {
		s += " undoes " + rec.UndoOf
	}
	return s
}

func (b *Bot) cmdUndo(ctx context.Context, inv policies.Invocation, _ policies.Room, act policies.Actions) error {
	if len(inv.Args) != 1 {
		return policies.Usagef("give one record id from `log`")
	}
	n, err := act.Undo(ctx, policies.UndoFilter{ID: inv.Args[0]}, policies.Reason{Public: "undone by an officer", Private: "undo by " + inv.From.String()})
	if err != nil {
		return err
	}
	return inv.Reply(ctx, fmt.Sprintf("Undone: %s (%d action reversed).", inv.Args[0], n))
}

func reasonFrom(inv policies.Invocation, words []string, fallback string) policies.Reason {
	text := strings.Join(words, " ")
	if text == "" {
		text = fallback
	}
	return policies.Reason{Public: text, Private: "by " + inv.From.String()}
}

func (b *Bot) cmdKick(ctx context.Context, inv policies.Invocation, rv policies.Room, act policies.Actions) error {
	if len(inv.Args) < 1 {
		return policies.Usagef("say whom to kick")
	}
	nick := inv.Args[0]
	if _, ok := rv.Occupant(nick); !ok {
		return policies.Usagef("nobody is called %q here (nicks are case-sensitive)", nick)
	}
	if err := act.Kick(ctx, nick, reasonFrom(inv, inv.Args[1:], "kicked by an officer")); err != nil {
		return err
	}
	return inv.Reply(ctx, fmt.Sprintf("Kicked %s.", nick))
}

// targetJID resolves a nick present in the room or a JID to a bare JID.
func targetJID(rv policies.Room, word string) (jid.JID, string, error) {
	if o, ok := rv.Occupant(word); ok {
		if o.BareString() == "" {
			return jid.JID{}, "", fmt.Errorf("the room hides %s's real JID from Steward, so it cannot be banned by JID", word)
		}
		j, err := jid.Parse(o.BareString())
		if err != nil {
			// A JID the PRECIS parser rejects: keep it as it is.
			local, domain, _ := proto.SplitJID(o.BareString())
			j = jid.NewUnsafe(local, domain, "").JID
		}
		return j, word, nil
	}
	j, err := jid.Parse(word)
	if err != nil || j.Domainpart() == "" || !strings.Contains(word, ".") && !strings.Contains(word, "@") {
		return jid.JID{}, "", policies.Usagef("%q is neither a nick in this room nor a JID", word)
	}
	return j.Bare(), "", nil
}

// ParseDuration accepts Go durations and days/weeks: 30m, 2h, 7d, 2w, 1d12h.
func ParseDuration(s string) (time.Duration, bool) {
	if s == "" || s[0] < '0' || s[0] > '9' {
		return 0, false
	}
	var total time.Duration
	rest := s
	for rest != "" {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 || i == len(rest) {
			return 0, false
		}
		n, err := strconv.Atoi(rest[:i])
		if err != nil {
			return 0, false
		}
		j := i
		for j < len(rest) && (rest[j] < '0' || rest[j] > '9') {
			j++
		}
		unit := rest[i:j]
		var d time.Duration
		switch unit {
		case "s":
			d = time.Second
		case "m":
			d = time.Minute
		case "h":
			d = time.Hour
		case "d":
			d = 24 * time.Hour
		case "w":
			d = 7 * 24 * time.Hour
		default:
			return 0, false
		}
		if time.Duration(n) > (math.MaxInt64-total)/d {
			return 0, false // beyond time.Duration: refuse rather than wrap
		}
		total += time.Duration(n) * d
		rest = rest[j:]
	}
	if total <= 0 {
		return 0, false
	}
	return total, true
}

func (b *Bot) cmdBan(ctx context.Context, inv policies.Invocation, rv policies.Room, act policies.Actions) error {
	flags, args, err := policies.Flags(inv.Args, []string{"share"}, nil)
	if err != nil {
		return err
	}
	if len(args) < 1 {
		return policies.Usagef("say whom to ban")
	}
	target, nick, err := targetJID(rv, args[0])
	if err != nil {
		return err
	}
	var dur time.Duration
	words := args[1:]
	if len(words) > 0 {
		if d, ok := ParseDuration(words[0]); ok {
			dur, words = d, words[1:]
		}
	}
	why := reasonFrom(inv, words, "banned by an officer")
	if dur > 0 {
		why.Private += fmt.Sprintf("; timed ban for %s", dur)
	}
	if err := act.SetAffiliation(ctx, target, policies.AffOutcast, why); err != nil {
		return err
	}
	r := asRoom(rv)
	key := "unban:" + strings.ToLower(target.String())
	msg := fmt.Sprintf("Banned %s", target)
	if nick != "" {
		msg = fmt.Sprintf("Banned %s (%s)", nick, target)
	}
	if dur > 0 {
		until := inv.At.Add(dur)
		if err := b.sched.Schedule(ctx, r.key, builtinTimerPolicy, key, until); err != nil {
			return fmt.Errorf("banned, but the automatic unban could not be stored: %w", err)
		}
		msg += fmt.Sprintf(" until %s (lifted automatically)", until.UTC().Format("2006-01-02 15:04:05Z"))
	} else {
		_ = b.sched.Cancel(ctx, r.key, builtinTimerPolicy, key)
	}
	if recs, err := b.store.Audit().ByTarget(ctx, r.key, strings.ToLower(target.String())); err == nil && len(recs) > 0 {
		msg += fmt.Sprintf(". Record %s; undo with \"undo %s\"", recs[len(recs)-1].ID, recs[len(recs)-1].ID)
	}
	if flags["share"] != "" {
		if b.opts.Sharer == nil {
			msg += ". Not shared: no rtbl.publish list is configured"
		} else if id, err := b.opts.Sharer.Share(ctx, target.String(), why.Public); err != nil {
			msg += ". Sharing to the block list failed: " + err.Error()
		} else {
			msg += ". Shared to the block list (item " + id + ")"
		}
	}
	return inv.Reply(ctx, msg+".")
}

func (b *Bot) cmdUnban(ctx context.Context, inv policies.Invocation, rv policies.Room, act policies.Actions) error {
	flags, args, err := policies.Flags(inv.Args, []string{"share"}, nil)
	if err != nil {
		return err
	}
	if len(args) < 1 {
		return policies.Usagef("say which JID to unban")
	}
	target, err := jid.Parse(args[0])
	if err != nil {
		return policies.Usagef("%q is not a JID", args[0])
	}
	target = target.Bare()
	if err := act.SetAffiliation(ctx, target, policies.AffNone, reasonFrom(inv, args[1:], "unbanned by an officer")); err != nil {
		return err
	}
	_ = b.sched.Cancel(ctx, asRoom(rv).key, builtinTimerPolicy, "unban:"+strings.ToLower(target.String()))
	msg := fmt.Sprintf("Unbanned %s.", target)
	if flags["share"] != "" {
		if b.opts.Sharer == nil {
			msg += " Not retracted: no rtbl.publish list is configured."
		} else if err := b.opts.Sharer.Unshare(ctx, target.String()); err != nil {
			msg += " Retracting from the block list failed: " + err.Error()
		} else {
			msg += " Retracted from the block list."
		}
	}
	return inv.Reply(ctx, msg)
}

func (b *Bot) cmdRole(role policies.Role) func(context.Context, policies.Invocation, policies.Room, policies.Actions) error {
	return func(ctx context.Context, inv policies.Invocation, rv policies.Room, act policies.Actions) error {
		if len(inv.Args) < 1 {
			return policies.Usagef("say whose role to change")
		}
		nick := inv.Args[0]
		if _, ok := rv.Occupant(nick); !ok {
			return policies.Usagef("nobody is called %q here (nicks are case-sensitive)", nick)
		}
		what := "granted voice"
		if role == policies.RoleVisitor {
			what = "revoked voice"
		}
		if err := act.SetRole(ctx, nick, role, reasonFrom(inv, inv.Args[1:], what+" by an officer")); err != nil {
			return err
		}
		return inv.Reply(ctx, fmt.Sprintf("%s: %s.", nick, what))
	}
}

func (b *Bot) cmdPolicyList(ctx context.Context, inv policies.Invocation, rv policies.Room, _ policies.Actions) error {
	r := asRoom(rv)
	var lines []string
	for _, in := range r.pols {
		lines = append(lines, fmt.Sprintf("%s: %s (from %s), dry-run %s (from %s)%s — %s", in.spec.Name, onOff(in.enabled), in.srcOn, onOff(in.dryRun), in.srcDry, crashed(in), in.spec.Summary))
	}
	if len(lines) == 0 {
		return inv.Reply(ctx, "No policies are built into this Steward.")
	}
	return inv.Reply(ctx, strings.Join(lines, "\n"))
}

func (b *Bot) cmdPolicySet(op string) func(context.Context, policies.Invocation, policies.Room, policies.Actions) error {
	return func(ctx context.Context, inv policies.Invocation, rv policies.Room, _ policies.Actions) error {
		r := asRoom(rv)
		if len(inv.Args) < 1 {
			return policies.Usagef("say which policy")
		}
		in := r.instance(strings.ToLower(inv.Args[0]))
		if in == nil {
			var names []string
			for _, p := range r.pols {
				names = append(names, p.spec.Name)
			}
			return policies.Usagef("no policy %q; known: %s", inv.Args[0], strings.Join(names, ", "))
		}
		if r.settings.Policies == nil {
			r.settings.Policies = map[string]store.PolicyOverride{}
		}
		ov := r.settings.Policies[in.spec.Name]
		var msg string
		switch op {
		case "enable", "disable":
			v := op == "enable"
			ov.Enabled = &v
			in.enabled, in.srcOn, in.crashed = v, "redis", false
			msg = fmt.Sprintf("%s is now %s in %s.", in.spec.Name, onOff(v), r.addr)
		case "dryrun":
			v := true
			if len(inv.Args) > 1 {
				switch strings.ToLower(inv.Args[1]) {
				case "on", "true", "yes":
				case "off", "false", "no":
					v = false
				default:
					return policies.Usagef("say on or off, got %q", inv.Args[1])
				}
			}
			ov.DryRun = &v
			in.dryRun, in.srcDry = v, "redis"
			msg = fmt.Sprintf("%s dry-run is now %s in %s.", in.spec.Name, onOff(v), r.addr)
		}
		r.settings.Policies[in.spec.Name] = ov
		if err := b.store.Settings().Put(ctx, r.key, r.settings); err != nil {
			return fmt.Errorf("changed for now, but not saved (it will not survive a restart): %w", err)
		}
		if op == "enable" && in.enabled {
			// Let the policy look at the room as it is now.
			r.dispatch(ctx, policies.JoinedRoom{Self: r.self, Rejoin: true}, inv.At)
		}
		return inv.Reply(ctx, msg)
	}
}

func (b *Bot) cmdOfficerList(ctx context.Context, inv policies.Invocation, rv policies.Room, _ policies.Actions) error {
	r := asRoom(rv)
	var lines []string
	for _, o := range r.Officers() {
		src := "config"
		if slices.Contains(r.settings.OfficersAdded, o) {
			src = "redis (added by command)"
		}
		lines = append(lines, o+" — from "+src)
	}
	for _, o := range r.settings.OfficersRemoved {
		lines = append(lines, o+" — removed by command (still in the config file)")
	}
	if len(lines) == 0 {
		return inv.Reply(ctx, "This room has no officers. Owners and admins may add some: officer add <jid>.")
	}
	return inv.Reply(ctx, strings.Join(lines, "\n"))
}

func (b *Bot) cmdOfficerSet(add bool) func(context.Context, policies.Invocation, policies.Room, policies.Actions) error {
	return func(ctx context.Context, inv policies.Invocation, rv policies.Room, _ policies.Actions) error {
		r := asRoom(rv)
		if len(inv.Args) != 1 {
			return policies.Usagef("give one bare JID")
		}
		j, err := jid.Parse(inv.Args[0])
		if err != nil || j.Localpart() == "" || j.Resourcepart() != "" {
			return policies.Usagef("%q is not a bare JID like alice@example.org", inv.Args[0])
		}
		o := strings.ToLower(j.String())
		s := &r.settings
		s.OfficersAdded = slices.DeleteFunc(s.OfficersAdded, func(x string) bool { return x == o })
		s.OfficersRemoved = slices.DeleteFunc(s.OfficersRemoved, func(x string) bool { return x == o })
		if add {
			if !slices.Contains(r.officersCfg, o) {
				s.OfficersAdded = append(s.OfficersAdded, o)
			}
		} else if slices.Contains(r.officersCfg, o) {
			s.OfficersRemoved = append(s.OfficersRemoved, o)
		}
		if err := b.store.Settings().Put(ctx, r.key, r.settings); err != nil {
			return fmt.Errorf("changed for now, but not saved: %w", err)
		}
		if add {
			return inv.Reply(ctx, fmt.Sprintf("%s is now an officer of %s.", o, r.addr))
		}
		return inv.Reply(ctx, fmt.Sprintf("%s is no longer an officer of %s.", o, r.addr))
	}
}

// onBuiltinTimer lifts timed bans.
func (r *room) onBuiltinTimer(ctx context.Context, t store.Timer) {
	bare, ok := strings.CutPrefix(t.Key, "unban:")
	if !ok {
		return
	}
	if r.Affiliation(bare) != policies.AffOutcast && r.Moderating() {
		// Already lifted by someone; nothing to do.
		r.log.Info("timed ban already lifted", zap.String("jid", bare))
		return
	}
	local, domain, _ := proto.SplitJID(bare)
	act := r.b.exec.Actions(r, "policy:"+builtinTimerPolicy, builtinTimerPolicy, false, r.b.sched, time.Now())
	if err := act.SetAffiliation(ctx, jid.NewUnsafe(local, domain, "").JID, policies.AffNone, policies.Reason{Public: "timed ban expired", Private: "ban due to end at " + t.At.UTC().Format(time.RFC3339)}); err != nil {
		r.log.Error("could not lift a timed ban", zap.String("jid", bare), zap.Error(err))
	}
}
