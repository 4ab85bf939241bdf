package rtbl

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/steward-xmpp/steward/policies"
)

// Room actions.
const (
	ActionBan     = "ban"     // outcast affiliation: the server keeps them out
	ActionKick    = "kick"    // remove every seat; they may come back
	ActionDevoice = "devoice" // visitor role: they stay but cannot speak
)

// Config is rooms[].policies.rtbl.
type Config struct {
	// Lists names the rtbl.lists this room follows; empty means every list
	// whose mode is apply or alert.
	Lists []string `mapstructure:"lists"`
	// Action is what a match in an apply list does: ban, kick or devoice.
	Action string `mapstructure:"action"`
	// IncludeMembers acts on members too; admins and owners never.
	IncludeMembers bool `mapstructure:"include_members"`

	// known are the configured list names, filled in by Spec's NewConfig
	// so that Validate can catch a misspelt list.
	known []string
}

// Defaults returns the values used for keys the YAML leaves out.
func Defaults() *Config { return &Config{Action: ActionBan} }

// Validate reports every problem, each naming its key.
func (c *Config) Validate() error {
	var errs []error
	switch c.Action {
	case ActionBan, ActionKick, ActionDevoice:
	default:
		errs = append(errs, policies.KeyErrorf("action", `must be "ban", "kick" or "devoice", got %q`, c.Action))
	}
	seen := map[string]bool{}
	for i, n := range c.Lists {
		key := fmt.Sprintf("lists[%d]", i)
		switch {
		case strings.TrimSpace(n) == "":
			errs = append(errs, policies.KeyErrorf(key, "must not be empty"))
		case seen[n]:
			errs = append(errs, policies.KeyErrorf(key, "duplicate list %q", n))
		case c.known != nil && !slices.Contains(c.known, n):
			errs = append(errs, policies.KeyErrorf(key, "no list %q in rtbl.lists (configured: %s)", n, strings.Join(c.known, ", ")))
		}
		seen[n] = true
	}
	return errors.Join(errs...)
}

// follows reports whether the room follows the list.
func (c *Config) follows(name string) bool {
	return len(c.Lists) == 0 || slices.Contains(c.Lists, name)
}
