package policies

import (
	"context"
	"fmt"
	"strings"
	"time"

	"mellium.im/xmpp/jid"
)

// Command is one chat command (or a group of subcommands). Commands are data,
// so that a chat command and, later, an ad-hoc form come from one declaration.
type Command struct {
	// Name is one lowercase word.
	Name string
	// Sub are subcommands ("policy enable"); a command with Sub and no Run
	// shows its usage when called bare.
	Sub []Command
	// Usage is the argument synopsis, e.g. "ban <nick|jid> [duration] [reason]".
	Usage string
	// Help is one or two sentences for `help <command>`.
	Help string
	// Level is the lowest permission level allowed to run it.
	Level Level
	// Global commands do not need a room (e.g. "rtbl check" in a DM).
	Global bool
	// Run does the work. Returning a *UsageError makes the bot reply with
	// the message and the usage.
	Run func(ctx context.Context, inv Invocation, room Room, act Actions) error
}

// Invocation is one run of a command.
type Invocation struct {
	// Path is the full command name, e.g. "rtbl status".
	Path string
	// Args are the words after the command, quotes removed.
	Args []string
	// Text is everything after the command name, as typed.
	Text string
	// From is the invoker's real bare JID (authorisation is by JID only).
	From jid.JID
	// Nick is the invoker's nick when the command came from the room.
	Nick string
	// InRoom is true for "!cmd" in the room, false for a direct message.
	InRoom bool
	// Level is the invoker's permission level in the room.
	Level Level
	// At is when the command arrived: the command's "now".
	At time.Time
	// Reply answers where the command came from.
	Reply func(ctx context.Context, text string) error
}

// UsageError is a mistake in a command's arguments.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Usagef returns a *UsageError.
func Usagef(format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}

// Flags splits "--name" and "--name value" options from positional words.
// bools lists the flags that take no value; values the ones that take one.
// An unknown flag is a usage error.
func Flags(args []string, bools, values []string) (map[string]string, []string, error) {
	out := map[string]string{}
	var rest []string
	isIn := func(s string, list []string) bool {
		for _, x := range list {
			if x == s {
				return true
			}
		}
		return false
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "--") || len(a) == 2 {
			rest = append(rest, a)
			continue
		}
		name, val, hasVal := strings.Cut(a[2:], "=")
		switch {
		case isIn(name, bools):
			if hasVal {
				return nil, nil, Usagef("--%s takes no value", name)
			}
			out[name] = "true"
		case isIn(name, values):
			if !hasVal {
				if i+1 >= len(args) {
					return nil, nil, Usagef("--%s needs a value", name)
				}
				i++
				val = args[i]
			}
			out[name] = val
		default:
			return nil, nil, Usagef("unknown option --%s", name)
		}
	}
	return out, rest, nil
}

// SplitArgs splits a command line into words. Double or single quotes group
// words ("spam bot" is one word); a backslash escapes the next character. An
// unclosed quote is a usage error.
func SplitArgs(line string) ([]string, error) {
	var (
		out   []string
		cur   strings.Builder
		in    bool // inside a word
		quote rune
		esc   bool
	)
	for _, r := range line {
		switch {
		case esc:
			cur.WriteRune(r)
			esc = false
		case r == '\\':
			esc, in = true, true
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '"' || r == '\'':
			quote, in = r, true
		case r == ' ' || r == '\t' || r == '\n' || r == '\r':
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if quote != 0 {
		return nil, Usagef("unclosed quote %c", quote)
	}
	if in {
		out = append(out, cur.String())
	}
	return out, nil
}

// Find looks up words in a command tree. It returns the deepest command that
// matches, its full path ("policy enable") and the remaining words; nil if the
// first word names no command. Names match case-insensitively.
func Find(cmds []Command, words []string) (*Command, string, []string) {
	var found *Command
	path := ""
	for len(words) > 0 {
		var next *Command
		for i := range cmds {
			if strings.EqualFold(cmds[i].Name, words[0]) {
				next = &cmds[i]
				break
			}
		}
		if next == nil {
			break
		}
		found = next
		if path != "" {
			path += " "
		}
		path += next.Name
		words = words[1:]
		cmds = next.Sub
	}
	return found, path, words
}

// TextAfter returns what follows the first n words of line, as typed
// (for free-text arguments such as reasons).
func TextAfter(line string, n int) string {
	s := strings.TrimLeft(line, " \t")
	for range n {
		i := strings.IndexAny(s, " \t")
		if i < 0 {
			return ""
		}
		s = strings.TrimLeft(s[i:], " \t")
	}
	return s
}
