package rtbl

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/steward-xmpp/steward/policies"
)

// commands is the one "rtbl" command tree. It lives in Spec.Commands so that
// status and check answer where the policy is off; the subcommands that need
// the room's instance find it through the service.
func commands(s *Service) []policies.Command {
	if s == nil {
		return nil
	}
	c := &cmds{s: s}
	return []policies.Command{{
		Name:  "rtbl",
		Usage: "rtbl status|check|preview|exempt|unexempt|exemptions|undo",
		Help:  "Real-time block lists: what Steward follows, who is listed, exemptions and undo.",
		Level: policies.Officer,
		Sub: []policies.Command{
			{Name: "status", Usage: "rtbl status", Level: policies.Officer, Global: true, Run: c.status,
				Help: "Shows each list: mode, size, age of the set, subscription health and the last error."},
			{Name: "check", Usage: "rtbl check <jid|domain>", Level: policies.Officer, Global: true, Run: c.check,
				Help: "Says which lists, if any, list this JID or its server."},
			{Name: "preview", Usage: "rtbl preview <list>", Level: policies.Officer, Run: c.preview,
				Help: "Shows who in this room the list would hit, and who is exempt, without acting."},
			{Name: "exempt", Usage: "rtbl exempt <jid|domain> [--global]", Level: policies.Officer, Run: c.exempt,
				Help: "Exempts a JID or a whole server from every list in this room (--global: in every room; owners only)."},
			{Name: "unexempt", Usage: "rtbl unexempt <jid|domain> [--global]", Level: policies.Officer, Run: c.unexempt,
				Help: "Removes an exemption."},
			{Name: "exemptions", Usage: "rtbl exemptions", Level: policies.Officer, Run: c.exemptions,
				Help: "Lists this room's and the global exemptions."},
			{Name: "undo", Usage: "rtbl undo <list> [--since 2h]", Level: policies.Officer, Run: c.undo,
				Help: "Reverses every ban and devoice Steward made in this room because of the list (or only the recent ones)."},
		},
	}}
}

type cmds struct{ s *Service }

func (c *cmds) status(ctx context.Context, inv policies.Invocation, _ policies.Room, _ policies.Actions) error {
	sts := c.s.Status()
	if len(sts) == 0 {
		return inv.Reply(ctx, "No RTBL lists are configured (rtbl.lists).")
	}
	var b strings.Builder
	for i, st := range sts {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "%s (%s, node %s): %s", st.Name, st.Service, st.Node, st.Mode)
		if st.AutoUnban {
			b.WriteString(", auto_unban")
		}
		if st.Mode == ModeOff {
			b.WriteString("; not fetched")
			continue
		}
		fmt.Fprintf(&b, "; %d entries", st.Size)
		if st.LastSync.IsZero() {
			b.WriteString("; never synced")
		} else {
			fmt.Fprintf(&b, "; set is %s old", formatAge(st.Age))
		}
		switch {
		case st.Subscribed:
			b.WriteString("; subscribed")
		case st.LastAttempt.IsZero():
			b.WriteString("; not subscribed yet")
		default:
			b.WriteString("; NOT subscribed")
		}
		if st.LastError != "" {
			fmt.Fprintf(&b, "; last error (%d in a row): %s", st.Failures, st.LastError)
		}
		fmt.Fprintf(&b, "; %d matches acted on", st.Matches)
	}
	if pub := c.s.Publishing(); pub != nil {
		fmt.Fprintf(&b, "\nPublishing with --share to %s (%s, node %s).", pub.Name, pub.Service, pub.Node)
	}
	return inv.Reply(ctx, b.String())
}

func (c *cmds) check(ctx context.Context, inv policies.Invocation, room policies.Room, _ policies.Actions) error {
	if len(inv.Args) != 1 {
		return policies.Usagef("give one JID or domain")
	}
	t, err := NormalizeTarget(inv.Args[0])
	if err != nil {
		return policies.Usagef("%v", err)
	}
	hits := c.s.Match(t)
	var b strings.Builder
	if len(hits) == 0 {
		fmt.Fprintf(&b, "%s is not listed on any followed list, nor is its server.", t)
	} else {
		fmt.Fprintf(&b, "%s is listed:", t)
		for _, h := range hits {
			fmt.Fprintf(&b, " %s (%s mode, as %s, item %s: %s);", h.List, h.Mode, what(h), h.ItemID, h.Reason)
		}
	}
	if c.s.IsExempt(t) {
		b.WriteString(" It is exempt everywhere.")
	}
	if room != nil {
		if p := c.s.instance(room.Addr().String()); p != nil && exemptIn(p.exempt, t) {
			b.WriteString(" It is exempt in this room.")
		}
	}
	return inv.Reply(ctx, b.String())
}

func (c *cmds) preview(ctx context.Context, inv policies.Invocation, room policies.Room, _ policies.Actions) error {
	if len(inv.Args) != 1 {
		return policies.Usagef("give one list name")
	}
	lc, ok := c.s.List(inv.Args[0])
	if !ok {
		return policies.Usagef("no list %q (configured: %s)", inv.Args[0], strings.Join(c.names(), ", "))
	}
	if lc.Mode == ModeOff {
		return inv.Reply(ctx, fmt.Sprintf("%s is off: Steward does not fetch it, so there is nothing to preview. Set its mode to alert to fetch it without acting.", lc.Name))
	}
	p := c.s.instance(room.Addr().String())
	if p == nil {
		// The policy is off here: preview with the defaults.
		p = &Policy{svc: c.s, cfg: *Defaults(), exempt: map[string]string{}}
	}
	action := p.cfg.Action
	if lc.Mode == ModeAlert {
		action = "alert officers about"
	}
	var hit, exempt []string
	hidden := 0
	seen := map[string]bool{}
	for o := range room.Occupants() {
		bare := o.BareString()
		if bare == "" {
			hidden++
			continue
		}
		if seen[bare] {
			continue
		}
		seen[bare] = true
		h, ok := c.s.matchList(lc.Name, bare)
		if !ok {
			continue
		}
		line := fmt.Sprintf("%s (%s; %s, item %s: %s)", o.Nick, bare, what(h), short(h.ItemID), h.Reason)
		if why := p.exemptWhy(o, bare, room); why != "" {
			exempt = append(exempt, line+" exempt: "+why)
		} else {
			hit = append(hit, line)
		}
	}
	var absent []string
	for bare, aff := range room.Affiliated() {
		if seen[bare] || aff == policies.AffNone || aff == policies.AffOutcast {
			continue
		}
		if h, ok := c.s.matchList(lc.Name, bare); ok {
			absent = append(absent, fmt.Sprintf("%s (%s, item %s)", bare, aff, short(h.ItemID)))
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Preview of %s (%s mode) in %s", lc.Name, lc.Mode, room.Addr())
	if !p.cfg.follows(lc.Name) {
		b.WriteString(" (this room does not follow it)")
	}
	b.WriteString(":")
	if len(hit) == 0 {
		b.WriteString(" nobody present would be hit.")
	} else {
		fmt.Fprintf(&b, " would %s: %s.", action, strings.Join(hit, "; "))
	}
	if len(exempt) > 0 {
		fmt.Fprintf(&b, " Listed but exempt: %s.", strings.Join(exempt, "; "))
	}
	if len(absent) > 0 {
		fmt.Fprintf(&b, " Affiliated, absent and listed (never actioned): %s.", strings.Join(absent, "; "))
	}
	if hidden > 0 {
		fmt.Fprintf(&b, " %d seats show no real JID and cannot be checked.", hidden)
	}
	return inv.Reply(ctx, b.String())
}

func (c *cmds) names() []string {
	var out []string
	for _, l := range c.s.Lists() {
		out = append(out, l.Name)
	}
	return out
}

// target parses "<jid> [--global]" and checks the level --global needs.
func (c *cmds) target(inv policies.Invocation) (string, bool, error) {
	fl, rest, err := policies.Flags(inv.Args, []string{"global"}, nil)
	if err != nil {
		return "", false, err
	}
	if len(rest) != 1 {
		return "", false, policies.Usagef("give one JID or domain")
	}
	t, err := NormalizeTarget(rest[0])
	if err != nil {
		return "", false, policies.Usagef("%v", err)
	}
	global := fl["global"] == "true"
	if global && inv.Level < policies.Owner {
		return "", false, fmt.Errorf("--global changes every room: only an owner may use it")
	}
	return t, global, nil
}

func (c *cmds) exempt(ctx context.Context, inv policies.Invocation, room policies.Room, _ policies.Actions) error {
	t, global, err := c.target(inv)
	if err != nil {
		return err
	}
	note := fmt.Sprintf("by %s at %s", inv.From, inv.At.UTC().Format(time.RFC3339))
	if global {
		if err := c.s.Exempt(ctx, t, note); err != nil {
			return err
		}
		return inv.Reply(ctx, fmt.Sprintf("%s is now exempt from every list in every room.", t))
	}
	p := c.s.instance(room.Addr().String())
	if p == nil {
		return fmt.Errorf("rtbl is not enabled in this room; nothing to exempt from (an owner may use --global)")
	}
	if p.kv != nil {
		if err := p.kv.Put(ctx, nsRoomExempt, t, []byte(note)); err != nil {
			return fmt.Errorf("rtbl: store exemption: %w", err)
		}
	}
	p.exempt[t] = note
	return inv.Reply(ctx, fmt.Sprintf("%s is now exempt from every list in this room.", t))
}

func (c *cmds) unexempt(ctx context.Context, inv policies.Invocation, room policies.Room, _ policies.Actions) error {
	t, global, err := c.target(inv)
	if err != nil {
		return err
	}
	if global {
		ok, err := c.s.Unexempt(ctx, t)
		if err != nil {
			return err
		}
		if !ok {
			return inv.Reply(ctx, fmt.Sprintf("%s was not exempt globally.", t))
		}
		return inv.Reply(ctx, fmt.Sprintf("%s is no longer exempt globally.", t))
	}
	p := c.s.instance(room.Addr().String())
	if p == nil {
		return fmt.Errorf("rtbl is not enabled in this room")
	}
	if _, ok := p.exempt[t]; !ok {
		return inv.Reply(ctx, fmt.Sprintf("%s was not exempt in this room.", t))
	}
	if p.kv != nil {
		if err := p.kv.Delete(ctx, nsRoomExempt, t); err != nil {
			return fmt.Errorf("rtbl: delete exemption: %w", err)
		}
	}
	delete(p.exempt, t)
	return inv.Reply(ctx, fmt.Sprintf("%s is no longer exempt in this room (a global exemption, if any, still applies).", t))
}

func (c *cmds) exemptions(ctx context.Context, inv policies.Invocation, room policies.Room, _ policies.Actions) error {
	list := func(m map[string]string) string {
		if len(m) == 0 {
			return "none"
		}
		var out []string
		for k, v := range m {
			out = append(out, k+" ("+v+")")
		}
		slices.Sort(out)
		return strings.Join(out, "; ")
	}
	here := "rtbl is not enabled here"
	if p := c.s.instance(room.Addr().String()); p != nil {
		here = list(p.exempt)
	}
	return inv.Reply(ctx, fmt.Sprintf("Exempt in this room: %s. Exempt everywhere: %s.", here, list(c.s.Exemptions())))
}

func (c *cmds) undo(ctx context.Context, inv policies.Invocation, _ policies.Room, act policies.Actions) error {
	fl, rest, err := policies.Flags(inv.Args, nil, []string{"since"})
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return policies.Usagef("give one list name")
	}
	name := rest[0]
	f := policies.UndoFilter{Group: "rtbl:" + name}
	span := "ever"
	if v, ok := fl["since"]; ok {
		d, err := parseSince(v)
		if err != nil {
			return policies.Usagef("--since: %v", err)
		}
		f.Since = inv.At.Add(-d)
		span = "in the last " + v
	}
	n, err := act.Undo(ctx, f, policies.Reason{
		Public:  "undoing actions taken because of the " + name + " RTBL",
		Private: fmt.Sprintf("rtbl undo %s by %s", strings.Join(inv.Args, " "), inv.From),
	})
	if err != nil {
		return err
	}
	msg := fmt.Sprintf("Undid %d actions Steward took in this room because of %s (%s).", n, name, span)
	if _, ok := c.s.List(name); !ok {
		msg += fmt.Sprintf(" Note: no list %q is configured now.", name)
	}
	return inv.Reply(ctx, msg)
}

// parseSince accepts Go durations plus whole days ("2d").
func parseSince(s string) (time.Duration, error) {
	var d time.Duration
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration such as 30m, 2h or 3d", s)
		}
		d = time.Duration(days) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("%q is not a duration such as 30m, 2h or 3d", s)
		}
	}
	if d <= 0 {
		return 0, fmt.Errorf("must be positive, got %s", s)
	}
	return d, nil
}

// formatAge is a duration for people: "45s", "12m", "3h5m", "2d4h".
func formatAge(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh%dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return fmt.Sprintf("%dd%dh", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour))
}
