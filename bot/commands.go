package bot

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"go.uber.org/zap"
	"mellium.im/xmpp/jid"

	"github.com/steward-xmpp/steward/bot/proto"
	"github.com/steward-xmpp/steward/policies"
)

// commandJob is one command on its way to a room goroutine.
type commandJob struct {
	from   jid.JID // real bare JID: authorisation is by JID, never by nick
	nick   string
	inRoom bool
	line   string // the command line without "!" and without the room word
	at     time.Time
	reply  func(ctx context.Context, text string) error
}

// allCommands is every command a room knows: built-ins, services' commands,
// every spec's always-on commands and the room's enabled policies' own.
func (r *room) allCommands() []policies.Command {
	cmds := append([]policies.Command(nil), r.b.builtins()...)
	cmds = append(cmds, r.b.opts.ExtraCommands...)
	for _, s := range r.b.specs {
		cmds = append(cmds, s.Commands...)
	}
	for _, in := range r.pols {
		if in.enabled && !in.crashed {
			cmds = append(cmds, in.commands...)
		}
	}
	return mergeCommands(cmds)
}

// mergeCommands joins commands of the same name (e.g. "rtbl" from a spec's
// always-on list and from the enabled instance) into one tree.
func mergeCommands(cmds []policies.Command) []policies.Command {
	var out []policies.Command
	for _, c := range cmds {
		i := slices.IndexFunc(out, func(o policies.Command) bool { return strings.EqualFold(o.Name, c.Name) })
		if i < 0 {
			out = append(out, c)
			continue
		}
		if len(c.Sub) > 0 {
			merged := out[i]
			merged.Sub = mergeCommands(append(append([]policies.Command(nil), merged.Sub...), c.Sub...))
			if merged.Run == nil {
				merged.Run = c.Run
			}
			out[i] = merged
		}
	}
	return out
}

// knownCommands is every command tree the bot knows of outside a room: the
// built-ins, services', specs' always-on ones and those policy instances
// registered (so that "vetting record <room> …" finds its room word).
func (b *Bot) knownCommands() []policies.Command {
	cmds := append([]policies.Command(nil), b.builtins()...)
	cmds = append(cmds, b.opts.ExtraCommands...)
	for _, s := range b.specs {
		cmds = append(cmds, s.Commands...)
	}
	b.instCmds.Range(func(_, v any) bool {
		cmds = append(cmds, v.(policies.Command))
		return true
	})
	return mergeCommands(cmds)
}

// isCommand reports whether a direct message starts with a command name.
func (b *Bot) isCommand(body string) bool {
	w := firstWord(body)
	if w == "" {
		return false
	}
	return b.commandNames()[w]
}

func firstWord(s string) string {
	s = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s), "!"))
	if i := strings.IndexAny(s, " \t\n"); i >= 0 {
		s = s[:i]
	}
	return strings.ToLower(s)
}

func (b *Bot) commandNames() map[string]bool {
	names := map[string]bool{}
	for _, c := range b.builtins() {
		names[c.Name] = true
	}
	for _, c := range b.opts.ExtraCommands {
		names[c.Name] = true
	}
	for _, s := range b.specs {
		for _, c := range s.Commands {
			names[c.Name] = true
		}
	}
	b.instNames.Range(func(k, _ any) bool {
		names[k.(string)] = true
		return true
	})
	return names
}

// commandFromRoom handles "!cmd" said in the room (runs in the room goroutine).
func (b *Bot) commandFromRoom(ctx context.Context, r *room, o policies.Occupant, line string, at time.Time) {
	if o.BareString() == "" || !b.commandNames()[firstWord(line)] {
		return // unknown command or hidden real JID: stay quiet in the room
	}
	from, err := jid.Parse(o.BareString())
	if err != nil {
		return
	}
	nick := o.Nick
	r.runCommand(ctx, &commandJob{from: from, nick: nick, inRoom: true, line: line, at: at,
		reply: func(ctx context.Context, text string) error {
			return b.sendLimited(ctx, r.addr, proto.TextMessage("", r.addr.String(), "groupchat", nick+": "+text))
		}})
}

// commandViaRoomPM handles a command sent as a private message through the
// room: it applies to that room, and the reply goes back the same way.
func (b *Bot) commandViaRoomPM(ctx context.Context, r *room, o policies.Occupant, line string, at time.Time) {
	from, err := jid.Parse(o.BareString())
	if err != nil {
		return
	}
	nick := o.Nick
	r.runCommand(ctx, &commandJob{from: from, nick: nick, line: strings.TrimPrefix(strings.TrimSpace(line), "!"), at: at,
		reply: func(ctx context.Context, text string) error {
			return b.sendLimited(ctx, r.addr, proto.TextMessage("", r.occupantJID(nick), "chat", text))
		}})
}

// onDirectMessage handles a chat message from a real JID (dmLoop's
// goroutine, never the XMPP reader: resolving the room asks rooms).
func (b *Bot) onDirectMessage(fromFull, body string, at time.Time) {
	fromBare := proto.BareOf(fromFull)
	if fromBare == "" || strings.EqualFold(fromBare, b.self.String()) {
		return
	}
	from, err := jid.Parse(fromBare)
	if err != nil {
		return
	}
	ctx := b.ctx
	reply := func(ctx context.Context, text string) error {
		return b.sendLimited(ctx, jid.JID{}, proto.TextMessage("", fromFull, "chat", text))
	}
	line := strings.TrimPrefix(strings.TrimSpace(body), "!")
	words, err := policies.SplitArgs(line)
	if err != nil || len(words) == 0 {
		if err != nil {
			_ = reply(ctx, err.Error())
		}
		return
	}
	if !b.commandNames()[strings.ToLower(words[0])] {
		// Not a command: an answer to a policy (e.g. a vetting question).
		delivered := false
		for _, r := range b.roomsBySize() {
			r := r
			r.in.push(itemFunc{f: func(r *room) {
				if seats := r.occ.byBareJID(fromBare); len(seats) > 0 {
					r.dispatch(ctx, policies.PrivateMessage{From: seats[0], FromJID: from, Body: body}, at)
				}
			}})
			delivered = delivered || b.presentIn(r, fromBare)
		}
		if !delivered {
			_ = reply(ctx, fmt.Sprintf("I don't know the command %q. Say \"help\" for the list.", words[0]))
		}
		return
	}
	// The room is the first word after the command name, or after its
	// subcommand path; it may be left out by an officer of exactly one room.
	// "*" as the room word runs the command in every room where the sender
	// is an officer or more, each room answering for itself.
	var target *room
	rest := words
	all := false
	if len(words) > 1 {
		if words[1] == "*" {
			all, rest = true, append([]string{words[0]}, words[2:]...)
		} else if r := b.resolveRoom(words[1]); r != nil {
			target, rest = r, append([]string{words[0]}, words[2:]...)
		}
	}
	if target == nil && !all {
		_, path, after := policies.Find(b.knownCommands(), words)
		if n := len(strings.Fields(path)); n > 0 && len(after) > 0 && n < len(words) {
			if after[0] == "*" {
				all = true
				rest = append(append([]string{}, words[:n]...), after[1:]...)
			} else if r := b.resolveRoom(after[0]); r != nil {
				target = r
				rest = append(append([]string{}, words[:n]...), after[1:]...)
			}
		}
	}
	if all {
		rooms := b.roomsWhereOfficer(fromBare)
		if len(rooms) == 0 {
			_ = reply(ctx, "\"*\" runs a command in every room where you are an officer, and you are an officer of none.")
			return
		}
		for _, r := range rooms {
			r.in.push(itemCommand{job: &commandJob{from: from, line: joinWords(rest), at: at, reply: reply}})
		}
		return
	}
	if target == nil {
		rooms := b.roomsWhereOfficer(fromBare)
		switch {
		case len(rooms) == 1:
			target = rooms[0]
		case len(rooms) > 1:
			names := make([]string, 0, len(rooms))
			for _, r := range rooms {
				names = append(names, r.key)
			}
			sort.Strings(names)
			_ = reply(ctx, fmt.Sprintf("Which room? Put the room after the command, e.g. \"%s %s …\". You are an officer of: %s.", words[0], localOf(names[0]), strings.Join(names, ", ")))
			return
		default:
			target = b.anyRoomFor(fromBare)
		}
	}
	if target == nil {
		_ = reply(ctx, "Steward is in no room yet, so there is nothing to run this against.")
		return
	}
	job := &commandJob{from: from, line: joinWords(rest), at: at, reply: reply}
	target.in.push(itemCommand{job: job})
}

func joinWords(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		if w == "" || strings.ContainsAny(w, " \t\n\r\"'\\") {
			w = "\"" + strings.NewReplacer("\\", "\\\\", "\"", "\\\"").Replace(w) + "\""
		}
		q[i] = w
	}
	return strings.Join(q, " ")
}

func localOf(room string) string {
	if i := strings.IndexByte(room, '@'); i > 0 {
		return room[:i]
	}
	return room
}

// resolveRoom finds a room by full JID or by an unambiguous local part.
func (b *Bot) resolveRoom(word string) *room {
	word = strings.ToLower(word)
	if r := b.room(word); r != nil {
		return r
	}
	if strings.Contains(word, "@") {
		return nil
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	var found *room
	for key, r := range b.rooms {
		if localOf(key) == word {
			if found != nil {
				return nil // ambiguous
			}
			found = r
		}
	}
	return found
}

// ask runs f in the room goroutine and waits for it (short queries from
// other goroutines, e.g. who is an officer where).
func ask[T any](r *room, f func(r *room) T) (T, bool) {
	ch := make(chan T, 1)
	r.in.push(itemFunc{f: func(r *room) { ch <- f(r) }})
	select {
	case v := <-ch:
		return v, true
	case <-time.After(5 * time.Second):
		var zero T
		return zero, false
	}
}

func (b *Bot) presentIn(r *room, bare string) bool {
	v, _ := ask(r, func(r *room) bool { return len(r.occ.byBareJID(bare)) > 0 })
	return v
}

func (b *Bot) roomsWhereOfficer(bare string) []*room {
	var out []*room
	for _, r := range b.roomsBySize() {
		if lvl, ok := ask(r, func(r *room) policies.Level { return r.LevelOf(bare) }); ok && lvl >= policies.Officer {
			out = append(out, r)
		}
	}
	return out
}

// anyRoomFor picks a room for a command that names none from someone who is
// an officer nowhere: one where they sit, else the first room.
func (b *Bot) anyRoomFor(bare string) *room {
	rooms := b.roomsBySize()
	for _, r := range rooms {
		if b.presentIn(r, bare) {
			return r
		}
	}
	if len(rooms) > 0 {
		return rooms[0]
	}
	return nil
}

// runCommand authorises and runs a command in the room goroutine.
func (r *room) runCommand(ctx context.Context, job *commandJob) {
	b := r.b
	words, err := policies.SplitArgs(job.line)
	if err != nil || len(words) == 0 {
		if err != nil {
			_ = job.reply(ctx, err.Error())
		}
		return
	}
	cmds := r.allCommands()
	cmd, path, rest := policies.Find(cmds, words)
	if cmd == nil {
		if pol, ok := b.instNames.Load(strings.ToLower(words[0])); ok {
			_ = job.reply(ctx, fmt.Sprintf("%q belongs to the %s policy, which is not enabled in %s.", words[0], pol, r.addr))
			return
		}
		_ = job.reply(ctx, fmt.Sprintf("I don't know the command %q. Say \"help\" for the list.", words[0]))
		return
	}
	lvl := r.LevelOf(job.from.String())
	if lvl < cmd.Level {
		_ = job.reply(ctx, fmt.Sprintf("%q needs %s level in %s; you are %s there.", path, cmd.Level, r.addr, lvl))
		b.log.Info("command refused", zap.String("room", r.key), zap.Stringer("from", job.from), zap.String("command", path))
		return
	}
	if cmd.Run == nil {
		_ = job.reply(ctx, usageOf(*cmd, path))
		return
	}
	r.dispatch(ctx, policies.CommandIssued{By: job.from, Name: path, Args: rest}, job.at)
	inv := policies.Invocation{
		Path: path, Args: rest, Text: policies.TextAfter(job.line, len(words)-len(rest)),
		From: job.from, Nick: job.nick, InRoom: job.inRoom, Level: lvl, At: job.at, Reply: job.reply,
	}
	act := b.exec.Actions(r, job.from.String(), ownerPolicy(r, path), false, b.sched, job.at)
	err = cmd.Run(ctx, inv, r, act)
	var ue *policies.UsageError
	switch {
	case err == nil:
	case errors.As(err, &ue):
		_ = job.reply(ctx, ue.Msg+"\n"+usageOf(*cmd, path))
	default:
		_ = job.reply(ctx, "Could not do it: "+err.Error())
	}
	b.log.Info("command", zap.String("room", r.key), zap.Stringer("from", job.from), zap.String("command", path), zap.Error(err))
}

// ownerPolicy names the policy a command belongs to, for the audit log.
func ownerPolicy(r *room, path string) string {
	top := strings.Fields(path)[0]
	for _, in := range r.pols {
		for _, c := range append(in.commands, in.spec.Commands...) {
			if strings.EqualFold(c.Name, top) {
				return in.spec.Name
			}
		}
	}
	return ""
}

func usageOf(c policies.Command, path string) string {
	if len(c.Sub) > 0 && c.Run == nil {
		var subs []string
		for _, s := range c.Sub {
			u := s.Usage
			if u == "" {
				u = path + " " + s.Name
			}
			subs = append(subs, u)
		}
		return "Usage: " + strings.Join(subs, " | ")
	}
	if c.Usage == "" {
		return "Usage: " + path
	}
	return "Usage: " + c.Usage
}
