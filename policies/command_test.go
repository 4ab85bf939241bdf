package policies_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"testing"

	"github.com/steward-xmpp/steward/policies"
)

func TestSplitArgs(t *testing.T) {
	for _, tc := range []struct {
		line string
		want []string
		err  string
	}{
		{line: "", want: nil},
		{line: "   \t\n ", want: nil},
		{line: "ban alice", want: []string{"ban", "alice"}},
		{line: "  ban \t alice  \r\n", want: []string{"ban", "alice"}},
		{line: `ban alice "spam bot" now`, want: []string{"ban", "alice", "spam bot", "now"}},
		{line: `ban 'it''s' x`, want: []string{"ban", "its", "x"}},
		{line: `say "it's fine"`, want: []string{"say", "it's fine"}},
		{line: `say 'a "quoted" word'`, want: []string{"say", `a "quoted" word`}},
		{line: `a""b`, want: []string{"ab"}},
		{line: `x "" y`, want: []string{"x", "", "y"}},
		{line: `''`, want: []string{""}},
		{line: `pre"mid dle"post`, want: []string{"premid dlepost"}},
		{line: `a\ b c`, want: []string{"a b", "c"}},
		{line: `\"not quoted\"`, want: []string{`"not`, `quoted"`}},
		{line: `back\\slash`, want: []string{`back\slash`}},
		{line: `"in \" quote"`, want: []string{`in " quote`}},
		{line: `trailing\`, want: []string{"trailing"}},
		{line: `\`, want: []string{""}},
		{line: "nick \u1160 é ✋", want: []string{"nick", "\u1160", "é", "✋"}},
		{line: `say "unclosed`, err: `unclosed quote "`},
		{line: `say 'unclosed "x"`, err: `unclosed quote '`},
	} {
		t.Run(tc.line, func(t *testing.T) {
			got, err := policies.SplitArgs(tc.line)
			if tc.err != "" {
				var ue *policies.UsageError
				if !errors.As(err, &ue) || err.Error() != tc.err {
					t.Fatalf("SplitArgs(%q) error %v, want usage error %q", tc.line, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("SplitArgs(%q): %v", tc.line, err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("SplitArgs(%q) = %q, want %q", tc.line, got, tc.want)
			}
		})
	}
}

func testTree() []policies.Command {
	run := func(context.Context, policies.Invocation, policies.Room, policies.Actions) error { return nil }
	return []policies.Command{
		{Name: "help", Run: run},
		{Name: "policy", Sub: []policies.Command{
			{Name: "list", Run: run},
			{Name: "enable", Run: run, Level: policies.Admin},
			{Name: "dryrun", Run: run, Sub: []policies.Command{{Name: "deep", Run: run}}},
		}},
		{Name: "Ban", Run: run},
	}
}

func TestFind(t *testing.T) {
	for _, tc := range []struct {
		words []string
		name  string // "" for not found
		path  string
		rest  []string
	}{
		{words: nil},
		{words: []string{"nope", "x"}, rest: []string{"nope", "x"}},
		{words: []string{"help"}, name: "help", path: "help", rest: []string{}},
		{words: []string{"HELP", "ban"}, name: "help", path: "help", rest: []string{"ban"}},
		{words: []string{"policy"}, name: "policy", path: "policy", rest: []string{}},
		{words: []string{"policy", "Enable", "antispam"}, name: "enable", path: "policy enable", rest: []string{"antispam"}},
		{words: []string{"policy", "unknown", "x"}, name: "policy", path: "policy", rest: []string{"unknown", "x"}},
		{words: []string{"policy", "dryrun", "deep", "on"}, name: "deep", path: "policy dryrun deep", rest: []string{"on"}},
		{words: []string{"policy", "dryrun", "antispam", "deep"}, name: "dryrun", path: "policy dryrun", rest: []string{"antispam", "deep"}},
		// Paths use the declared spelling, not the typed one.
		{words: []string{"ban", "x"}, name: "Ban", path: "Ban", rest: []string{"x"}},
		// A subcommand's name is not found at the top.
		{words: []string{"enable"}, rest: []string{"enable"}},
	} {
		cmd, path, rest := policies.Find(testTree(), tc.words)
		switch {
		case tc.name == "" && cmd != nil:
			t.Errorf("Find(%q) = %q, want nothing", tc.words, cmd.Name)
		case tc.name != "" && (cmd == nil || cmd.Name != tc.name):
			t.Errorf("Find(%q) = %v, want %q", tc.words, cmd, tc.name)
		}
		if path != tc.path || len(rest) != len(tc.rest) || !slices.Equal(rest, tc.rest) {
			t.Errorf("Find(%q): path %q rest %q, want %q %q", tc.words, path, rest, tc.path, tc.rest)
		}
	}
}

// TestFindReturnsTheTreeNode: Find points into the tree, so that callers
// see its Level and Sub.
func TestFindReturnsTheTreeNode(t *testing.T) {
	tree := testTree()
	cmd, _, _ := policies.Find(tree, []string{"policy", "enable"})
	if cmd != &tree[1].Sub[1] || cmd.Level != policies.Admin {
		t.Errorf("Find returned %p (level %s), want the node %p", cmd, cmd.Level, &tree[1].Sub[1])
	}
}

func TestFlags(t *testing.T) {
	bools, values := []string{"share", "dry"}, []string{"for", "reason"}
	for _, tc := range []struct {
		args  []string
		flags map[string]string
		rest  []string
		err   string
	}{
		{args: nil, flags: map[string]string{}},
		{args: []string{"alice", "2h"}, flags: map[string]string{}, rest: []string{"alice", "2h"}},
		{args: []string{"alice", "--share", "2h"}, flags: map[string]string{"share": "true"}, rest: []string{"alice", "2h"}},
		{args: []string{"--for", "2h", "alice"}, flags: map[string]string{"for": "2h"}, rest: []string{"alice"}},
		{args: []string{"--for=2h", "--reason=spam bot", "alice", "--dry"}, flags: map[string]string{"for": "2h", "reason": "spam bot", "dry": "true"}, rest: []string{"alice"}},
		{args: []string{"--reason=", "x"}, flags: map[string]string{"reason": ""}, rest: []string{"x"}},
		// "--" alone and single dashes are words.
		{args: []string{"--", "-x", "-share"}, flags: map[string]string{}, rest: []string{"--", "-x", "-share"}},
		{args: []string{"--share=yes"}, err: "--share takes no value"},
		{args: []string{"alice", "--for"}, err: "--for needs a value"},
		{args: []string{"--nope"}, err: "unknown option --nope"},
		{args: []string{"--Share"}, err: "unknown option --Share"},
	} {
		flags, rest, err := policies.Flags(tc.args, bools, values)
		if tc.err != "" {
			var ue *policies.UsageError
			if !errors.As(err, &ue) || err.Error() != tc.err {
				t.Errorf("Flags(%q) error %v, want usage error %q", tc.args, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Flags(%q): %v", tc.args, err)
			continue
		}
		if !maps.Equal(flags, tc.flags) || !slices.Equal(rest, tc.rest) {
			t.Errorf("Flags(%q) = %v %q, want %v %q", tc.args, flags, rest, tc.flags, tc.rest)
		}
	}
}

func TestTextAfter(t *testing.T) {
	for _, tc := range []struct {
		line string
		n    int
		want string
	}{
		{"kick alice being  rude  ", 2, "being  rude  "},
		{"kick alice", 2, ""},
		{"kick alice", 1, "alice"},
		{"kick alice", 5, ""},
		{"  kick\talice \t spam", 2, "spam"},
		{"kick alice", 0, "kick alice"},
		{"", 1, ""},
		{`ban "spam bot" for "a reason"`, 1, `"spam bot" for "a reason"`},
	} {
		if got := policies.TextAfter(tc.line, tc.n); got != tc.want {
			t.Errorf("TextAfter(%q, %d) = %q, want %q", tc.line, tc.n, got, tc.want)
		}
	}
}

func TestUsagef(t *testing.T) {
	err := policies.Usagef("no policy %q; known: %s", "x", "a, b")
	var ue *policies.UsageError
	if !errors.As(err, &ue) || ue.Msg != `no policy "x"; known: a, b` || err.Error() != ue.Msg {
		t.Errorf("Usagef = %#v", err)
	}
}

func TestLevelString(t *testing.T) {
	want := []string{"anyone", "member", "officer", "admin", "owner"}
	for l := policies.Anyone; l <= policies.Owner; l++ {
		if l.String() != want[l] {
			t.Errorf("Level(%d) = %q, want %q", l, l.String(), want[l])
		}
	}
	if policies.Level(99).String() != "unknown" {
		t.Error("an out-of-range level has a name")
	}
	if !(policies.Anyone < policies.Member && policies.Member < policies.Officer && policies.Officer < policies.Admin && policies.Admin < policies.Owner) {
		t.Error("levels are not ordered lowest first")
	}
}
