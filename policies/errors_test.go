package policies_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/steward-xmpp/steward/policies"
)

func errStrings(errs []error) []string {
	out := make([]string, 0, len(errs))
	for _, e := range errs {
		out = append(out, e.Error())
	}
	return out
}

func TestKeyError(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&policies.KeyError{Path: "turn", Msg: "must be at least 10s"}, "turn: must be at least 10s"},
		{&policies.KeyError{Msg: "no path"}, "no path"},
		{policies.KeyErrorf("warn_at[1]", "got %s, want less than %s", "5m", "3m"), "warn_at[1]: got 5m, want less than 3m"},
		{policies.KeyErrorf("mode", `must be "strict" or "both", got %q`, "x"), `mode: must be "strict" or "both", got "x"`},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
		var ke *policies.KeyError
		if !errors.As(tc.err, &ke) {
			t.Errorf("%v is not a *KeyError", tc.err)
		}
	}
}

func TestFlatten(t *testing.T) {
	a, b, c, d := errors.New("a"), errors.New("b"), errors.New("c"), errors.New("d")
	for _, tc := range []struct {
		name string
		err  error
		want []string
	}{
		{"nil", nil, nil},
		{"single", a, []string{"a"}},
		{"join", errors.Join(a, b), []string{"a", "b"}},
		{"nested join in order", errors.Join(a, errors.Join(b, errors.Join(c)), d), []string{"a", "b", "c", "d"}},
		{"join skips nils", errors.Join(nil, a, nil), []string{"a"}},
		// A wrapped join is one leaf: Flatten only opens joins.
		{"wrapped join is a leaf", fmt.Errorf("ctx: %w", errors.Join(a, b)), []string{"ctx: a\nb"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := policies.Flatten(tc.err)
			if !slices.Equal(errStrings(got), tc.want) {
				t.Errorf("Flatten = %q, want %q", errStrings(got), tc.want)
			}
		})
	}
}

func TestPrefixKeys(t *testing.T) {
	for _, tc := range []struct {
		name   string
		prefix string
		err    error
		want   []string
	}{
		{"nil", "rooms[0]", nil, nil},
		{"key error", "rooms[2].policies.debate", policies.KeyErrorf("turn", "must be at least 10s, got 3s"),
			[]string{"rooms[2].policies.debate.turn: must be at least 10s, got 3s"}},
		{"index path joins without a dot", "rooms[1].officers", policies.KeyErrorf("[3]", "not a JID"),
			[]string{"rooms[1].officers[3]: not a JID"}},
		{"empty path takes the prefix", "rtbl", &policies.KeyError{Msg: "no lists"},
			[]string{"rtbl: no lists"}},
		{"plain error becomes a key error at the prefix", "rooms[0].policies.idle", errors.New("bad"),
			[]string{"rooms[0].policies.idle: bad"}},
		{"wrapped key error keeps its path", "p", fmt.Errorf("decode: %w", policies.KeyErrorf("k", "m")),
			[]string{"p.k: m"}},
		{"every leaf of a join", "rooms[0].policies.vetting", errors.Join(
			policies.KeyErrorf("hours", "bad range"),
			errors.Join(policies.KeyErrorf("questions[0]", "empty"), errors.New("plain")),
		), []string{
			"rooms[0].policies.vetting.hours: bad range",
			"rooms[0].policies.vetting.questions[0]: empty",
			"rooms[0].policies.vetting: plain",
		}},
		{"nested prefixes compose", "rooms[4]", policies.PrefixKeys("policies.debate", policies.KeyErrorf("mode", "bad")),
			[]string{"rooms[4].policies.debate.mode: bad"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := policies.PrefixKeys(tc.prefix, tc.err)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("PrefixKeys = %v, want nil", err)
				}
				return
			}
			leaves := policies.Flatten(err)
			if !slices.Equal(errStrings(leaves), tc.want) {
				t.Errorf("PrefixKeys leaves = %q, want %q", errStrings(leaves), tc.want)
			}
			for _, l := range leaves {
				var ke *policies.KeyError
				if !errors.As(l, &ke) {
					t.Errorf("leaf %v is not a *KeyError", l)
				}
			}
		})
	}
}
