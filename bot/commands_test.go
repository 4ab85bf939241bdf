package bot

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/steward-xmpp/steward/internal/config"
	"github.com/steward-xmpp/steward/policies"
)

func TestParseDuration(t *testing.T) {
	const day = 24 * time.Hour
	for _, tc := range []struct {
		in   string
		want time.Duration // 0: rejected
	}{
		{"30m", 30 * time.Minute},
		{"2h", 2 * time.Hour},
		{"7d", 7 * day},
		{"2w", 14 * day},
		{"1d12h", 36 * time.Hour},
		{"1h30m15s", time.Hour + 30*time.Minute + 15*time.Second},
		{"90s", 90 * time.Second},
		{"0h5m", 5 * time.Minute},
		{"007m", 7 * time.Minute},
		{"", 0},
		{"h", 0},
		{"5x", 0},
		{"-1h", 0},
		{"+1h", 0},
		{"0h", 0},
		{"0d0h", 0},
		{"5", 0},
		{"1h30", 0},
		{"1.5h", 0},
		{"1 h", 0},
		{"1h ", 0},
		{"1H", 0},
		{"1ms", 0},
		{"1hh", 0},
		{"spam", 0},
		{"99999999999999999999h", 0},
		// Overflowing time.Duration is rejected, not wrapped around.
		{"300000d", 0},
		{"9223372036s", 9223372036 * time.Second},
		{"9223372037s", 0},
		{"106751d23h", 106751*day + 23*time.Hour},
		{"106751d24h", 0},
	} {
		got, ok := ParseDuration(tc.in)
		if ok != (tc.want != 0) || got != tc.want {
			t.Errorf("ParseDuration(%q) = %s, %t; want %s", tc.in, got, ok, tc.want)
		}
	}
}

// FuzzParseDuration: no panic; an accepted duration is positive; on inputs
// time.ParseDuration also understands (s, m, h with integer counts) both
// agree.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"30m", "2h", "7d", "2w", "1d12h", "", "h", "5x", "-1h", "0h", "1h30", "300000d", "9223372037s", "2562047h47m16s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := ParseDuration(s)
		if ok && d <= 0 {
			t.Fatalf("ParseDuration(%q) accepted %s", s, d)
		}
		if !ok && d != 0 {
			t.Fatalf("ParseDuration(%q) rejected but returned %s", s, d)
		}
		if s == "" || strings.ContainsAny(s, "dw.µuμn+-") || !strings.ContainsAny(s, "smh") || strings.Contains(s, "ms") {
			return
		}
		want, err := time.ParseDuration(s)
		if err != nil || want <= 0 {
			if ok {
				t.Fatalf("ParseDuration(%q) = %s, but time.ParseDuration says %v, %s", s, d, err, want)
			}
			return
		}
		if !ok || d != want {
			t.Fatalf("ParseDuration(%q) = %s, %t; time.ParseDuration = %s", s, d, ok, want)
		}
	})
}

func TestJoinWordsRoundTrip(t *testing.T) {
	for _, words := range [][]string{
		{"ban", "alice"},
		{"ban", "alice", "spam bot"},
		{"say", ""},
		{"say", `a "quoted" word`, `back\slash`, "it's"},
		{"tab\there", "new\nline", "carriage\rreturn"},
		{"\u1160", "é", "✋"},
		{},
	} {
		line := joinWords(words)
		got, err := policies.SplitArgs(line)
		if err != nil {
			t.Errorf("joinWords(%q) = %q, which does not split: %v", words, line, err)
			continue
		}
		if !slices.Equal(got, words) {
			t.Errorf("joinWords(%q) = %q, which splits into %q", words, line, got)
		}
	}
	if got := joinWords([]string{"kick", "alice", "being rude"}); got != `kick alice "being rude"` {
		t.Errorf("joinWords quotes too much or too little: %s", got)
	}
}

// FuzzSplitArgs: no panic; the words never hold an unescaped separator
// that joinWords would lose: joinWords(SplitArgs(x)) splits back to the
// same words (a DM's command is re-joined before it reaches its room).
func FuzzSplitArgs(f *testing.F) {
	for _, s := range []string{"", "ban alice", `ban alice "spam bot" 2h`, `say 'it''s'`, `a\ b`, `"unclosed`, `x "" y`,
		"tab\tsep", `"multi` + "\n" + `line"`, `\`, "\u1160 é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		words, err := policies.SplitArgs(s)
		if err != nil {
			return
		}
		line := joinWords(words)
		again, err := policies.SplitArgs(line)
		if err != nil {
			t.Fatalf("SplitArgs(%q) = %q; joined %q does not split: %v", s, words, line, err)
		}
		if !slices.Equal(again, words) {
			t.Fatalf("SplitArgs(%q) = %q; joined %q splits into %q", s, words, line, again)
		}
		// The room word taken off a DM: TextAfter sees the same words.
		if len(words) > 0 {
			_ = policies.TextAfter(s, len(words))
			_, _, _ = policies.Find(testCommandTree(), words)
		}
	})
}

func testCommandTree() []policies.Command {
	return (&Bot{}).builtins()
}

func TestMergeCommands(t *testing.T) {
	run := func(tag string) func(context.Context, policies.Invocation, policies.Room, policies.Actions) error {
		return func(ctx context.Context, inv policies.Invocation, _ policies.Room, _ policies.Actions) error {
			return inv.Reply(ctx, tag)
		}
	}
	in := []policies.Command{
		{Name: "help", Run: run("help")},
		{Name: "rtbl", Usage: "rtbl check|status", Sub: []policies.Command{{Name: "check", Run: run("check")}}},
		{Name: "HELP", Run: run("second help")}, // same name, no Sub: the first wins
		{Name: "rtbl", Run: run("rtbl bare"), Sub: []policies.Command{{Name: "status", Run: run("status")}, {Name: "check", Run: run("check 2")}}},
		{Name: "vouch", Run: run("vouch")},
	}
	out := mergeCommands(in)
	var names []string
	for _, c := range out {
		names = append(names, c.Name)
	}
	if !slices.Equal(names, []string{"help", "rtbl", "vouch"}) {
		t.Fatalf("merged names %q", names)
	}
	reply := func(c *policies.Command) string {
		var got string
		_ = c.Run(context.Background(), policies.Invocation{Reply: func(_ context.Context, s string) error { got = s; return nil }}, nil, nil)
		return got
	}
	if got := reply(&out[0]); got != "help" {
		t.Errorf("help runs %q, want the first declaration", got)
	}
	rtbl := out[1]
	if rtbl.Usage != "rtbl check|status" || rtbl.Run == nil || reply(&rtbl) != "rtbl bare" {
		t.Errorf("rtbl: usage %q, run from the second declaration expected", rtbl.Usage)
	}
	var subs []string
	for _, s := range rtbl.Sub {
		subs = append(subs, s.Name+"="+reply(&s))
	}
	if !slices.Equal(subs, []string{"check=check", "status=status"}) {
		t.Errorf("rtbl subcommands %q", subs)
	}
	if in[1].Sub[0].Name != "check" || len(in[1].Sub) != 1 {
		t.Error("mergeCommands changed its input")
	}
}

func TestFirstWordAndIsCommand(t *testing.T) {
	o := newOffline(t, config.Room{})
	for _, tc := range []struct {
		body  string
		first string
		cmd   bool
	}{
		{"help", "help", true},
		{"!HELP me", "help", true},
		{"  ! kick\talice", "kick", true},
		{"policy list", "policy", true},
		{"hello there", "hello", false},
		{"", "", false},
		{"!", "", false},
	} {
		if got := firstWord(tc.body); got != tc.first {
			t.Errorf("firstWord(%q) = %q, want %q", tc.body, got, tc.first)
		}
		if got := o.b.isCommand(tc.body); got != tc.cmd {
			t.Errorf("isCommand(%q) = %t", tc.body, got)
		}
	}
}

// TestResolveRoom: a DM names its room by full JID (any case) or by a local
// part that only one room has.
func TestResolveRoom(t *testing.T) {
	o := newOffline(t, config.Room{JID: "agora@conference.localhost"})
	other := o.addRoom(t, config.Room{JID: "agora@muc.example.org"})
	lobby := o.addRoom(t, config.Room{JID: "Lobby@conference.localhost"})
	for _, tc := range []struct {
		word string
		want *room
	}{
		{"agora@conference.localhost", o.r},
		{"AGORA@Conference.Localhost", o.r},
		{"agora@muc.example.org", other},
		{"agora", nil}, // two rooms are called agora
		{"lobby", lobby},
		{"LOBBY", lobby},
		{"lobby@conference.localhost", lobby},
		{"lobby@elsewhere.example", nil},
		{"conference.localhost", nil},
		{"nothing", nil},
		{"", nil},
	} {
		if got := o.b.resolveRoom(tc.word); got != tc.want {
			name := func(r *room) string {
				if r == nil {
					return "nil"
				}
				return r.key
			}
			t.Errorf("resolveRoom(%q) = %s, want %s", tc.word, name(got), name(tc.want))
		}
	}
}

func TestLocalOf(t *testing.T) {
	for in, want := range map[string]string{"agora@conference.localhost": "agora", "conference.localhost": "conference.localhost", "@x": "@x", "": ""} {
		if got := localOf(in); got != want {
			t.Errorf("localOf(%q) = %q, want %q", in, got, want)
		}
	}
}
