package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/steward-xmpp/steward/policies"
)

// greeterConfig is a tiny policy config: a duration, a string and a list.
type greeterConfig struct {
	Wait     time.Duration  `mapstructure:"wait"`
	Greeting string         `mapstructure:"greeting"`
	Tags     []string       `mapstructure:"tags"`
	Grace    *time.Duration `mapstructure:"grace"`
}

func (c *greeterConfig) Validate() error {
	var errs []error
	if c.Wait <= 0 {
		errs = append(errs, policies.KeyErrorf("wait", "must be positive, got %s", c.Wait))
	}
	if c.Greeting == "" {
		errs = append(errs, policies.KeyErrorf("greeting", "required"))
	}
	return errors.Join(errs...)
}

func fakeSpec(name string) policies.Spec {
	return policies.Spec{
		Name: name,
		NewConfig: func() policies.Config {
			return &greeterConfig{Wait: time.Minute, Greeting: "hello"}
		},
	}
}

// testSpecs are in the order builtin would list them.
var testSpecs = []policies.Spec{fakeSpec("rtbl"), fakeSpec("greeter"), fakeSpec("vetting")}

// minimal is the smallest valid file.
const minimal = `
xmpp:
  jid: steward@example.org
  password: hunter2
`

// load writes yaml to a temporary config.yaml and loads it.
func load(t *testing.T, yaml string, env ...string) (*Config, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return Load(path, testSpecs, env)
}

func mustLoad(t *testing.T, yaml string, env ...string) *Config {
	t.Helper()
	cfg, err := load(t, yaml, env...)
	if err != nil {
		t.Fatalf("Load:\n%s", FormatErrors(err))
	}
	return cfg
}

func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		yaml string
		env  []string
		want string
	}{
		{
			name: "empty file",
			yaml: ``,
			want: `
xmpp.jid: required: the bot's bare JID, such as steward@example.org
xmpp.password: required: set xmpp.password, xmpp.password_file or the STEWARD_XMPP_PASSWORD environment variable`,
		},
		{
			name: "unknown keys with and without a suggestion",
			yaml: minimal + `
  pasword: x
colour: blue
log: {levle: debug}
`,
			want: `
colour: unknown key; valid keys: http, invites, limits, log, redis, rooms, rtbl, xmpp
log.levle: unknown key (did you mean "level"?)
xmpp.pasword: unknown key (did you mean "password"?)`,
		},
		{
			name: "wrong types",
			yaml: `
xmpp:
  jid: steward@example.org
  password: 1234
  ping_interval: 60
  join_timeout: soon
  nick: [a]
limits: {global_rate: fast, global_burst: 1.5, room_burst: 99999999999999999999}
invites: {accept_from: {a: b}}
rooms: {jid: a@b}
rtbl: [x]
`,
			want: `
invites.accept_from: expected a list, got a mapping
limits.global_burst: expected a whole number, got a number (1.5)
limits.global_rate: expected a number, got a string ("fast")
limits.room_burst: expected a whole number, got a number (1e+20)
rooms: expected a list, got a mapping
rtbl: expected a mapping of keys to values, got a list
xmpp.join_timeout: expected a duration such as "30s" or "5m", got a string ("soon")
xmpp.nick: expected a string, got a list
xmpp.password: expected a string, got a number
xmpp.ping_interval: expected a duration such as "30s" or "5m", got a number (60)`,
		},
		{
			name: "bad JIDs",
			yaml: `
xmpp: {jid: steward@example.org/laptop, password: x}
invites: {accept_from: ["example.org", "a@example.org/res", ""]}
rooms:
  - jid: example.org
    officers: [alice@example.org, bob, "@example.org"]
  - jid: ""
`,
			want: `
invites.accept_from[1]: expected a bare JID (alice@example.org) or a domain (example.org) without a /resource, got "a@example.org/res"
invites.accept_from[2]: expected a bare JID (alice@example.org) or a domain (example.org), got ""
rooms[0].jid: expected a bare JID such as lounge@muc.example.org, got "example.org"
rooms[0].officers[1]: expected a bare JID such as alice@example.org, got "bob"
rooms[0].officers[2]: expected a bare JID such as alice@example.org, got "@example.org"
rooms[1].jid: required: the room's bare JID, such as lounge@muc.example.org
xmpp.jid: expected a bare JID such as steward@example.org, got "steward@example.org/laptop"`,
		},
		{
			name: "insecure_plain to a remote host",
			yaml: minimal + `
  tls: insecure_plain
  address: xmpp.example.org:5222
`,
			want: `
xmpp.tls: insecure_plain sends the password unencrypted, so it is allowed only when xmpp.address is a loopback address (127.0.0.1:5222, [::1]:5222 or localhost:5222); got "xmpp.example.org:5222"`,
		},
		{
			name: "insecure_plain without an address",
			yaml: minimal + `
  tls: insecure_plain
`,
			want: `
xmpp.tls: insecure_plain sends the password unencrypted, so it is allowed only when xmpp.address is a loopback address (127.0.0.1:5222, [::1]:5222 or localhost:5222); xmpp.address is not set`,
		},
		{
			name: "tls and address",
			yaml: minimal + `
  tls: ssl
  address: xmpp.example.org
`,
			want: `
xmpp.address: expected host:port such as xmpp.example.org:5222, got "xmpp.example.org"
xmpp.tls: expected one of starttls, direct, insecure_plain; got "ssl"`,
		},
		{
			name: "both password and password_file",
			yaml: minimal + `
  password_file: /run/secrets/pw
`,
			want: `
xmpp.password: set either xmpp.password (or STEWARD_XMPP_PASSWORD) or xmpp.password_file, not both`,
		},
		{
			name: "password from env and password_file",
			yaml: `
xmpp: {jid: steward@example.org, password_file: pw}
`,
			env: []string{"STEWARD_XMPP_PASSWORD=x"},
			want: `
xmpp.password: set either xmpp.password (or STEWARD_XMPP_PASSWORD) or xmpp.password_file, not both`,
		},
		{
			name: "missing password file",
			yaml: `
xmpp: {jid: steward@example.org, password_file: /nonexistent/pw}
`,
			want: `
xmpp.password_file: cannot read the password: open /nonexistent/pw: no such file or directory`,
		},
		{
			name: "durations",
			yaml: minimal + `
  ping_interval: 10s
  ping_timeout: 30s
  reconnect_min: 5m
  reconnect_max: 1m
  join_timeout: 0s
  self_ping_interval: -1m
`,
			want: `
xmpp.join_timeout: must be a positive duration, got 0s
xmpp.ping_timeout: must be shorter than xmpp.ping_interval (10s), got 30s
xmpp.reconnect_min: must not exceed xmpp.reconnect_max (1m0s), got 5m0s
xmpp.self_ping_interval: must be a positive duration, got -1m0s`,
		},
		{
			name: "redis, http, log, limits",
			yaml: minimal + `
redis: {url: "http://user:s3cret@db:6379/x", prefix: "my app"}
http: {listen: "9090"}
log: {level: verbose, format: text}
limits: {global_rate: 0, room_burst: -1}
`,
			want: `
http.listen: expected host:port such as 127.0.0.1:9090 or :9090, got "9090"
limits.global_rate: must be greater than 0, got 0
limits.room_burst: must be greater than 0, got -1
log.format: expected one of json, console; got "text"
log.level: expected one of debug, info, warn, error; got "verbose"
redis.prefix: must not contain spaces, got "my app"
redis.url: expected redis://[user:password@]host:port/db or rediss://…; got the scheme "http"`,
		},
		{
			name: "redis url database never shows credentials",
			yaml: minimal + `
redis: {url: "redis://user:s3cret@db:6379/x"}
`,
			want: `
redis.url: expected redis://[user:password@]host:port/db or rediss://…; the database after the host must be a number, got "x"`,
		},
		{
			name: "redis url and addrs",
			yaml: minimal + `
redis: {url: "redis://db:6379/0", addrs: [a:26379, b]}
`,
			want: `
redis.addrs[1]: expected host:port such as 10.0.0.1:26379, got "b"
redis.url: set either redis.url or redis.addrs, not both`,
		},
		{
			name: "sentinel name without addrs",
			yaml: minimal + `
redis: {master_name: mymaster}
`,
			want: `
redis.master_name: requires redis.addrs (the Sentinel addresses)`,
		},
		{
			name: "rtbl",
			yaml: minimal + `
rtbl:
  lists:
    - {name: a, service: xmppbl.org, node: muc_bans_sha256}
    - {name: a, service: "not a jid@", mode: block}
    - {service: xmppbl.org, node: n, colour: red}
  publish: {name: ours}
`,
			want: `
rtbl.lists[1].mode: expected one of apply, alert, off; got "block"
rtbl.lists[1].name: "a" is already used by rtbl.lists[0]
rtbl.lists[1].node: required: the pubsub node, such as muc_bans_sha256
rtbl.lists[1].service: expected the pubsub service's JID, such as xmppbl.org, got "not a jid@"
rtbl.lists[2].colour: unknown key; valid keys: auto_unban, mode, name, node, service
rtbl.lists[2].name: required: a short name for the list, used in commands and logs
rtbl.publish.node: required: the pubsub node, such as muc_bans_sha256
rtbl.publish.service: required: the pubsub service's JID, such as xmppbl.org`,
		},
		{
			name: "duplicate room, case-insensitive",
			yaml: minimal + `
rooms:
  - jid: lounge@muc.example.org
  - jid: other@muc.example.org
  - jid: Lounge@MUC.example.org
`,
			want: `
rooms[2].jid: "Lounge@MUC.example.org" is already configured as rooms[0]`,
		},
		{
			name: "room keys",
			yaml: minimal + `
rooms:
  - jid: lounge@muc.example.org
    nick: ""
    prest: open
`,
			want: `
rooms[0].nick: must not be empty; leave it out to use xmpp.nick
rooms[0].prest: unknown key (did you mean "preset"?)`,
		},
		{
			name: "unknown preset",
			yaml: minimal + `
rooms:
  - {jid: lounge@muc.example.org, preset: strict}
`,
			want: `
rooms[0].preset: unknown preset "strict"; valid presets: broadcast, custom, open, vetted`,
		},
		{
			name: "unknown policy",
			yaml: minimal + `
rooms:
  - jid: lounge@muc.example.org
    policies:
      greeterr: {enabled: true}
      antispam: {}
`,
			want: `
rooms[0].policies.antispam: unknown policy; known policies: greeter, rtbl, vetting
rooms[0].policies.greeterr: unknown policy (did you mean "greeter"?); known policies: greeter, rtbl, vetting`,
		},
		{
			name: "policy section errors",
			yaml: minimal + `
rooms:
  - jid: lounge@muc.example.org
  - jid: other@muc.example.org
    policies:
      greeter:
        enabled: "yes"
        dryrun: true
        wait: 30
        tags: [1]
        greting: hi
      rtbl: [enabled]
      vetting:
        wait: 0s
        greeting: ""
`,
			want: `
rooms[1].policies.greeter.dryrun: unknown key (did you mean "dry_run"?)
rooms[1].policies.greeter.enabled: expected true or false, got a string ("yes")
rooms[1].policies.greeter.greting: unknown key (did you mean "greeting"?)
rooms[1].policies.greeter.tags[0]: expected a string, got a number (1)
rooms[1].policies.greeter.wait: expected a duration such as "30s" or "5m", got a number (30)
rooms[1].policies.rtbl: expected a mapping of keys to values, got a list
rooms[1].policies.vetting.greeting: required
rooms[1].policies.vetting.wait: must be positive, got 0s`,
		},
		{
			name: "bad environment values",
			yaml: minimal,
			env: []string{
				"STEWARD_LIMITS_GLOBAL_RATE=fast",
				"STEWARD_LIMITS_ROOM_BURST=ten",
				"STEWARD_XMPP_TLS=tls",
				"STEWARD_XMPP_PING_TIMEOUT=5",
			},
			want: `
limits.global_rate: expected a number, got "fast" (from STEWARD_LIMITS_GLOBAL_RATE)
limits.room_burst: expected a whole number, got "ten" (from STEWARD_LIMITS_ROOM_BURST)
xmpp.ping_timeout: expected a duration such as "30s" or "5m", got a string ("5")
xmpp.tls: expected one of starttls, direct, insecure_plain; got "tls"`,
		},
		{
			name: "env does not hide a mistake in the file",
			yaml: "xmpp: [steward@example.org]\n",
			env:  []string{"STEWARD_XMPP_PASSWORD=x"},
			want: `
xmpp: expected a mapping of keys to values, got a list`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := load(t, tc.yaml, tc.env...)
			if err == nil {
				t.Fatalf("Load succeeded: %+v", cfg)
			}
			if cfg != nil {
				t.Errorf("Load returned a config with an error")
			}
			if diff := cmp.Diff(strings.TrimPrefix(tc.want, "\n"), FormatErrors(err)); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			for _, e := range policies.Flatten(err) {
				var ke *policies.KeyError
				if !errors.As(e, &ke) {
					t.Errorf("%v is %T, want *policies.KeyError", e, e)
				}
			}
			if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "s3cret") {
				t.Errorf("an error shows a secret: %v", err)
			}
		})
	}
}

func TestLoadFileErrors(t *testing.T) {
	if _, err := Load(filepath.Join(t.TempDir(), "missing.yaml"), testSpecs, nil); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: err = %v, want ErrNotExist", err)
	}
	_, err := load(t, "xmpp: {jid: [\n")
	if err == nil || !strings.Contains(err.Error(), "config.yaml: yaml: line 1") {
		t.Errorf("bad YAML: err = %v, want the file name and line", err)
	}
}

func TestDefaults(t *testing.T) {
	cfg := mustLoad(t, minimal+`
rooms:
  - jid: lounge@muc.example.org
`)
	want := Defaults()
	want.XMPP.JID = "steward@example.org"
	want.XMPP.Password = "hunter2"
	want.Rooms = []Room{{
		JID:  "lounge@muc.example.org",
		Nick: "Steward",
		Policies: map[string]PolicyConfig{
			"rtbl":    {Config: &greeterConfig{Wait: time.Minute, Greeting: "hello"}},
			"greeter": {Config: &greeterConfig{Wait: time.Minute, Greeting: "hello"}},
			"vetting": {Config: &greeterConfig{Wait: time.Minute, Greeting: "hello"}},
		},
	}}
	if diff := cmp.Diff(&want, cfg, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
	// The documented defaults, spelled out once so that a change is noticed.
	d := Defaults()
	for key, got := range map[string]any{
		"xmpp.tls":                d.XMPP.TLS,
		"xmpp.nick":               d.XMPP.Nick,
		"xmpp.resource":           d.XMPP.Resource,
		"xmpp.ping_interval":      d.XMPP.PingInterval.String(),
		"xmpp.ping_timeout":       d.XMPP.PingTimeout.String(),
		"xmpp.self_ping_interval": d.XMPP.SelfPingInterval.String(),
		"xmpp.reconnect_min":      d.XMPP.ReconnectMin.String(),
		"xmpp.reconnect_max":      d.XMPP.ReconnectMax.String(),
		"xmpp.join_timeout":       d.XMPP.JoinTimeout.String(),
		"redis.url":               string(d.Redis.URL),
		"redis.prefix":            d.Redis.Prefix,
		"log.level":               d.Log.Level,
		"log.format":              d.Log.Format,
		"limits":                  fmt.Sprint(d.Limits),
		"http.listen":             d.HTTP.Listen,
	} {
		want := map[string]any{
			"xmpp.tls": "starttls", "xmpp.nick": "Steward", "xmpp.resource": "steward",
			"xmpp.ping_interval": "1m0s", "xmpp.ping_timeout": "10s", "xmpp.self_ping_interval": "5m0s",
			"xmpp.reconnect_min": "1s", "xmpp.reconnect_max": "2m0s", "xmpp.join_timeout": "20s",
			"redis.url": "redis://127.0.0.1:6379/0", "redis.prefix": "steward",
			"log.level": "info", "log.format": "json", "limits": "{20 40 5 10}", "http.listen": "",
		}[key]
		if got != want {
			t.Errorf("default %s = %v, want %v", key, got, want)
		}
	}
}

func TestEnvOverrides(t *testing.T) {
	cfg := mustLoad(t, minimal+`
  tls: starttls
redis: {url: "redis://file:6379/0"}
`,
		"STEWARD_XMPP_PASSWORD=from-env",
		"STEWARD_REDIS_URL=rediss://user:pw@redis.internal:6380/3",
		"STEWARD_XMPP_TLS=direct",
		"STEWARD_HTTP_LISTEN=:9090",
		"STEWARD_XMPP_PING_INTERVAL=2m",
		"STEWARD_LIMITS_ROOM_RATE=2.5",
		"STEWARD_LIMITS_ROOM_BURST=3",
		"STEWARD_INVITES_ACCEPT_FROM=example.org, alice@example.net",
		"STEWARD_RTBL_PUBLISH_SERVICE=pubsub.example.org",
		"STEWARD_RTBL_PUBLISH_NODE=bans",
		"OTHER_XMPP_TLS=insecure_plain",
		"STEWARD_UNRELATED=1",
		"NOEQUALS",
	)
	got := []any{
		cfg.XMPP.Password.Reveal(), cfg.Redis.URL.Reveal(), cfg.XMPP.TLS, cfg.HTTP.Listen,
		cfg.XMPP.PingInterval, cfg.Limits.RoomRate, cfg.Limits.RoomBurst, cfg.Invites.AcceptFrom,
		*cfg.RTBL.Publish,
	}
	want := []any{
		"from-env", "rediss://user:pw@redis.internal:6380/3", "direct", ":9090",
		2 * time.Minute, 2.5, 3, []string{"example.org", "alice@example.net"},
		RTBLPublish{Service: "pubsub.example.org", Node: "bans"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("overridden values (-want +got):\n%s", diff)
	}
}

func TestEnvNames(t *testing.T) {
	names := EnvNames()
	for key, want := range map[string]string{
		"xmpp.password":      "STEWARD_XMPP_PASSWORD",
		"xmpp.password_file": "STEWARD_XMPP_PASSWORD_FILE",
		"redis.url":          "STEWARD_REDIS_URL",
		"http.listen":        "STEWARD_HTTP_LISTEN",
		"rtbl.publish.node":  "STEWARD_RTBL_PUBLISH_NODE",
		"redis.addrs":        "STEWARD_REDIS_ADDRS",
	} {
		if names[key] != want {
			t.Errorf("EnvNames()[%q] = %q, want %q", key, names[key], want)
		}
	}
	for _, key := range []string{"rooms", "rtbl.lists"} {
		if n, ok := names[key]; ok {
			t.Errorf("%s has a variable %s; lists of mappings cannot be set from the environment", key, n)
		}
	}
}

func TestPasswordFile(t *testing.T) {
	for _, tc := range []struct {
		name, content, want string
	}{
		{"trailing newline", "s3cret\n", "s3cret"},
		{"windows newline", "s3cret\r\n", "s3cret"},
		{"no newline", "s3cret", "s3cret"},
		{"inner spaces kept", " s3 cret \n", " s3 cret "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "pw"), []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "config.yaml")
			// A relative password_file is relative to the config file.
			yaml := "xmpp: {jid: steward@example.org, password_file: pw}\n"
			if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, err := Load(path, nil, nil)
			if err != nil {
				t.Fatalf("Load: %s", FormatErrors(err))
			}
			if got := cfg.XMPP.Password.Reveal(); got != tc.want {
				t.Errorf("password = %q, want %q", got, tc.want)
			}
			if cfg.XMPP.PasswordFile != filepath.Join(dir, "pw") {
				t.Errorf("password_file = %q, want it absolute", cfg.XMPP.PasswordFile)
			}
		})
	}

	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := load(t, "xmpp: {jid: steward@example.org, password_file: "+empty+"}\n")
	if want := "xmpp.password_file: " + empty + " is empty"; FormatErrors(err) != want {
		t.Errorf("empty file: got %q, want %q", FormatErrors(err), want)
	}
	// The environment can point at the file too (systemd credentials).
	cfg, err := load(t, "xmpp: {jid: steward@example.org}\n", "STEWARD_XMPP_PASSWORD_FILE="+filepath.Join(dir, "empty"))
	if err == nil {
		t.Errorf("an empty file from the environment was accepted: %+v", cfg)
	}
}

func TestPresetsAndPolicies(t *testing.T) {
	cfg := mustLoad(t, minimal+`
rooms:
  - jid: a@muc.example.org
  - jid: b@muc.example.org
    preset: vetted
  - jid: c@muc.example.org
    preset: open
    policies:
      rtbl: {enabled: false}
      greeter:
        enabled: true
        dry_run: true
        wait: 90s
        greeting: welcome
        tags: "x, y"
        grace: 5s
  - jid: d@muc.example.org
    preset: broadcast
    policies:
      vetting:
  - jid: e@muc.example.org
    preset: custom
`)
	type state struct{ Enabled, DryRun bool }
	summary := map[string]map[string]state{}
	for _, r := range cfg.Rooms {
		summary[r.JID] = map[string]state{}
		for name, p := range r.Policies {
			summary[r.JID][name] = state{p.Enabled, p.DryRun}
		}
	}
	off, on := state{}, state{Enabled: true}
	want := map[string]map[string]state{
		"a@muc.example.org": {"rtbl": off, "greeter": off, "vetting": off},
		"b@muc.example.org": {"rtbl": on, "greeter": off, "vetting": on},
		"c@muc.example.org": {"rtbl": off, "greeter": {true, true}, "vetting": off},
		"d@muc.example.org": {"rtbl": on, "greeter": off, "vetting": off},
		"e@muc.example.org": {"rtbl": off, "greeter": off, "vetting": off},
	}
	if diff := cmp.Diff(want, summary); diff != "" {
		t.Errorf("enabled/dry_run (-want +got):\n%s", diff)
	}
	got := cfg.Rooms[2].Policies["greeter"].Config
	grace := 5 * time.Second
	wantCfg := &greeterConfig{Wait: 90 * time.Second, Greeting: "welcome", Tags: []string{"x", "y"}, Grace: &grace}
	if diff := cmp.Diff(wantCfg, got); diff != "" {
		t.Errorf("greeter config (-want +got):\n%s", diff)
	}
	if _, ok := cfg.Rooms[2].PolicyRaw["greeter"]; !ok {
		t.Errorf("PolicyRaw lost the greeter section: %v", cfg.Rooms[2].PolicyRaw)
	}
}

func TestPresetOnlyNamesExistingSpecs(t *testing.T) {
	// Without a vetting spec, the vetted preset enables what exists.
	path := filepath.Join(t.TempDir(), "c.yaml")
	yaml := minimal + "rooms: [{jid: a@muc.example.org, preset: vetted}]\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path, []policies.Spec{fakeSpec("rtbl")}, nil)
	if err != nil {
		t.Fatal(FormatErrors(err))
	}
	if diff := cmp.Diff([]string{"rtbl"}, keys(cfg.Rooms[0].Policies)); diff != "" {
		t.Errorf("policies (-want +got):\n%s", diff)
	}
}

func TestPresetValidatesDefaults(t *testing.T) {
	// A preset that turns on a policy whose defaults are incomplete says so.
	strict := policies.Spec{Name: "vetting", NewConfig: func() policies.Config { return &greeterConfig{} }}
	path := filepath.Join(t.TempDir(), "c.yaml")
	yaml := minimal + "rooms: [{jid: a@muc.example.org, preset: vetted}, {jid: b@muc.example.org}]\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path, []policies.Spec{strict}, nil)
	want := "rooms[0].policies.vetting.greeting: required\nrooms[0].policies.vetting.wait: must be positive, got 0s"
	if got := FormatErrors(err); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestRoomNickDefaultsToXMPPNick(t *testing.T) {
	cfg := mustLoad(t, minimal+`
  nick: Bot
rooms:
  - jid: a@muc.example.org
  - jid: b@muc.example.org
    nick: Warden
`)
	if got := []string{cfg.Rooms[0].Nick, cfg.Rooms[1].Nick}; !cmp.Equal(got, []string{"Bot", "Warden"}) {
		t.Errorf("nicks = %q", got)
	}
}

func TestLoopbackPlain(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:5222", "[::1]:5222", "localhost:5222", "LOCALHOST:5222", "127.1.2.3:15222"} {
		cfg, err := load(t, minimal+"  tls: insecure_plain\n  address: \""+addr+"\"\n")
		if err != nil {
			t.Errorf("%s: %s", addr, FormatErrors(err))
			continue
		}
		if cfg.XMPP.TLS != TLSInsecurePlain {
			t.Errorf("%s: tls = %q", addr, cfg.XMPP.TLS)
		}
	}
}

func TestRedisAddrsClearURL(t *testing.T) {
	cfg := mustLoad(t, minimal+"redis: {addrs: [10.0.0.1:26379, 10.0.0.2:26379], master_name: mymaster, password: pw}\n")
	if cfg.Redis.URL != "" || len(cfg.Redis.Addrs) != 2 || cfg.Redis.MasterName != "mymaster" {
		t.Errorf("redis = %+v, want addrs only", cfg.Redis)
	}
}

func TestExampleLoads(t *testing.T) {
	// vetting and rtbl accept any keys here: their blocks are checked by
	// their own README tests.
	anyKeys := func(name string) policies.Spec {
		return policies.Spec{Name: name, NewConfig: func() policies.Config { return &anyConfig{} }}
	}
	cfg, err := Load("../../config.example.yaml", []policies.Spec{anyKeys("rtbl"), anyKeys("vetting")}, nil)
	if err != nil {
		t.Fatalf("config.example.yaml:\n%s", FormatErrors(err))
	}
	want := Defaults()
	// The example shows the defaults; only these differ.
	want.XMPP.JID = cfg.XMPP.JID
	want.XMPP.Password = cfg.XMPP.Password
	want.Rooms = cfg.Rooms
	if diff := cmp.Diff(&want, cfg, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("config.example.yaml does not show the defaults (-defaults +example):\n%s", diff)
	}
	if r := cfg.Rooms; len(r) != 1 || !r[0].Policies["vetting"].Enabled || !r[0].Policies["rtbl"].Enabled {
		t.Errorf("example room = %+v", r)
	}
}

type anyConfig struct {
	Rest map[string]any `mapstructure:",remain"`
}

func (*anyConfig) Validate() error { return nil }

func TestSecretsNeverPrint(t *testing.T) {
	cfg := mustLoad(t, minimal+`
redis: {url: "redis://user:s3cret@db:6379/0"}
rooms:
  - {jid: a@muc.example.org, password: r00mpw}
`)
	red := cfg.Redacted()
	for _, s := range []string{
		fmt.Sprintf("%v", cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg),
		fmt.Sprintf("%+v", *cfg), fmt.Sprintf("%s", cfg.XMPP.Password), fmt.Sprintf("%q", cfg.Redis.URL),
		fmt.Sprintf("%+v", red), string(red.XMPP.Password), string(red.Redis.URL), string(red.Rooms[0].Password),
	} {
		for _, secret := range []string{"hunter2", "s3cret", "r00mpw"} {
			if strings.Contains(s, secret) {
				t.Errorf("%q shows %q", s, secret)
			}
		}
	}
	if got, want := string(red.Redis.URL), "redis://user:xxxxx@db:6379/0"; got != want {
		t.Errorf("redacted redis url = %q, want %q", got, want)
	}
	if cfg.XMPP.Password.Reveal() != "hunter2" || cfg.Rooms[0].Password.Reveal() != "r00mpw" {
		t.Errorf("Redacted changed the original")
	}
	text, err := cfg.XMPP.Password.MarshalText()
	if err != nil || string(text) != "<secret>" {
		t.Errorf("MarshalText = %q, %v", text, err)
	}
}

func TestFormatErrorsOrder(t *testing.T) {
	err := errors.Join(
		policies.KeyErrorf("rooms[10].jid", "b"),
		policies.KeyErrorf("rooms[2].jid", "a"),
		policies.PrefixKeys("rooms[2].policies.x", errors.Join(policies.KeyErrorf("z", "c"), policies.KeyErrorf("a", "d"))),
		errors.New("plain"),
		policies.KeyErrorf("log.level", "e"),
	)
	want := `plain
log.level: e
rooms[2].jid: a
rooms[2].policies.x.a: d
rooms[2].policies.x.z: c
rooms[10].jid: b`
	if got := FormatErrors(err); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if got := FormatErrors(nil); got != "" {
		t.Errorf("FormatErrors(nil) = %q", got)
	}
}

func TestSuggest(t *testing.T) {
	keys := []string{"password", "password_file", "ping_interval", "tls"}
	for in, want := range map[string]string{
		"pasword":  "password",
		"Password": "password",
		"tsl":      "tls",
		"tlss":     "tls",
		"colour":   "",
		"x":        "",
		"ping":     "",
	} {
		if got := suggest(in, keys); got != want {
			t.Errorf("suggest(%q) = %q, want %q", in, got, want)
		}
	}
}

func keys[V any](m map[string]V) []string { return sortedKeys(m) }

func FuzzLoad(f *testing.F) {
	example, err := os.ReadFile("../../config.example.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example)
	f.Add([]byte(minimal))
	f.Add([]byte("rooms: [{jid: a@b, policies: {greeter: {wait: 1s, tags: [a]}, x: 1}}]"))
	f.Add([]byte("xmpp: [1]\nrtbl: {lists: [{}, 1], publish: 2}"))
	f.Add([]byte("a: &a [*a]"))
	f.Add([]byte("? [a]\n: b\nxmpp: {? {x: 1} : 2}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, "config.yaml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		env := []string{"STEWARD_XMPP_PASSWORD=x", "STEWARD_LIMITS_ROOM_BURST=3", "STEWARD_RTBL_PUBLISH_NODE=n"}
		cfg, err := Load(path, testSpecs, env)
		if (cfg == nil) == (err == nil) {
			t.Fatalf("Load returned config %v and error %v", cfg, err)
		}
		if err != nil {
			_ = FormatErrors(err)
		}
	})
}
