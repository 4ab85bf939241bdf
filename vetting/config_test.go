package vetting

import (
	"strings"
	"testing"
	"time"

	"github.com/steward-xmpp/steward/policies"
)

func TestCheckMarker(t *testing.T) {
	tests := []struct {
		marker string
		want   string // "" = accepted; else part of the error
	}{
		{"?", ""},
		{"[?]", ""},
		{"☝", ""}, // U+261D, Unicode 3.2
		{"⚡", `"⚡" (U+26A1) was added to Unicode after version 3.2`}, // Unicode 4.0
		{"✌", ""}, // U+270C, Unicode 1.1
		{"★", ""}, // U+2605
		{"✋", `"✋" (U+270B) was added to Unicode after version 3.2`},
		{"🙋", `"🙋" (U+1F64B) was added to Unicode after version 3.2`},
		{"?\uFE0F", "U+FE0F is removed or replaced"},
		{"\u200B?", "U+200B is removed or replaced"},
		{"？", `"？" (U+FF1F) is removed or replaced`},
		{"\uE000", "U+E000 is a control, private-use"},
		{"\u0007", "U+0007 is a control"},
		{"א", "right-to-left"},
		{" ?", "starts with a space"},
		{"123456789", "at most 8"},
		{"\xff", "not valid UTF-8"},
	}
	for _, tt := range tests {
		err := CheckMarker(tt.marker)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("CheckMarker(%q) = %v, want nil", tt.marker, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("CheckMarker(%q) = %v, want it to contain %q", tt.marker, err, tt.want)
		case tt.want != "" && !strings.Contains(err.Error(), `"?" or "☝"`):
			t.Errorf("CheckMarker(%q) = %v, want a suggestion", tt.marker, err)
		}
	}
}

func TestNickKindTableIsSorted(t *testing.T) {
	for i := 1; i < len(unicode32); i++ {
		if unicode32[i-1].hi >= unicode32[i].lo || unicode32[i].lo > unicode32[i].hi {
			t.Fatalf("unicode32[%d] %X-%X overlaps or is out of order", i, unicode32[i].lo, unicode32[i].hi)
		}
	}
	for _, r := range []rune{0x10FFFF, 0x110000, -1, 0x1F000} {
		if k := nickKind(r); k == cpOK {
			t.Errorf("nickKind(%X) = ok", r)
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		mut  func(*Config)
		want []string // exact error lines; nil = valid
	}{
		{"defaults", func(*Config) {}, nil},
		{"no marker", func(c *Config) { c.Marker = "" }, nil},
		{"emoji marker", func(c *Config) { c.Marker = "✋" }, []string{
			`marker: "✋" (U+270B) was added to Unicode after version 3.2, and Prosody refuses nicks containing it (most emoji are like this); use a symbol from Unicode 3.2 such as "?" or "☝" (U+261D)`}},
		{"everything wrong", func(c *Config) {
			c.Hours = "Mon-Fri"
			c.AllowedServers = []string{"a@b.org", "ok.org"}
			c.DeniedServers = []string{"OK.org", ""}
			c.Cooldown = -time.Second
			c.MaxPending = 0
			c.Grant = "voice"
			c.KeepAfterLeave = -time.Hour
			c.NotifyBatch = 2 * time.Minute
			c.VouchBy = "anyone"
			c.VouchEffect = "jump"
			c.Welcome = strings.Repeat("x", 1001)
		}, []string{
			"hours: the last day list has no time range such as 18:00-22:00",
			`allowed_servers[0]: "a@b.org" is not a server name: give the domain only, e.g. example.org`,
			"denied_servers[1]: is empty",
			`denied_servers: "OK.org" is also in allowed_servers`,
			"cooldown: must not be negative, got -1s",
			"max_pending: must be between 1 and 10000, got 0",
			`grant: must be "role" or "member", got "voice"`,
			"keep_after_leave: must not be negative, got -1h0m0s",
			"notify_batch: must be between 0s and 1m0s, got 2m0s",
			`vouch_by: must be "member" or "voice", got "anyone"`,
			`vouch_effect: must be "grant" or "prioritise", got "jump"`,
			"welcome: is 1001 characters long, at most 1000",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Defaults()
			tt.mut(c)
			err := c.Validate()
			var got []string
			for _, e := range policies.Flatten(err) {
				got = append(got, e.Error())
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("Validate() =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestSetKey(t *testing.T) {
	tests := []struct {
		key, val string
		check    func(Config) bool
		wantErr  string
	}{
		{"cooldown", "2h", func(c Config) bool { return c.Cooldown == 2*time.Hour }, ""},
		{"cooldown", "soon", nil, `cooldown: "soon" is not a duration`},
		{"max_pending", "7", func(c Config) bool { return c.MaxPending == 7 }, ""},
		{"max_pending", "x", nil, `max_pending: "x" is not a whole number`},
		{"allowed_servers", "A.org, b.org c.org", func(c Config) bool { return strings.Join(c.AllowedServers, "|") == "a.org|b.org|c.org" }, ""},
		{"denied_servers", "none", func(c Config) bool { return len(c.DeniedServers) == 0 }, ""},
		{"marker", "!", nil, "marker: cannot be set at run time"},
	}
	for _, tt := range tests {
		c := *Defaults()
		err := setKey(&c, tt.key, tt.val)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("setKey(%s, %q) = %v, want %q", tt.key, tt.val, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !tt.check(c) {
			t.Errorf("setKey(%s, %q) = %v, config %+v", tt.key, tt.val, err, c)
		}
	}
}
