// Package config loads and validates Steward's configuration. It is the only
// package that imports viper. Every problem is reported with the key's full
// path ("rooms[2].policies.vetting.hours: …"), all at once.
package config

import (
	"time"

	"github.com/steward-xmpp/steward/policies"
)

// Secret is a string that never prints: it formats and marshals as "<secret>".
type Secret string

// String hides the value.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "<secret>"
}

// MarshalText hides the value in JSON/YAML output.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Config is the whole file after loading, defaults and validation.
type Config struct {
	XMPP    XMPP    `mapstructure:"xmpp"`
	Redis   Redis   `mapstructure:"redis"`
	HTTP    HTTP    `mapstructure:"http"`
	Log     Log     `mapstructure:"log"`
	Invites Invites `mapstructure:"invites"`
	Limits  Limits  `mapstructure:"limits"`
	RTBL    RTBL    `mapstructure:"rtbl"`
	Rooms   []Room  `mapstructure:"rooms"`
}

// XMPP is the bot's account and connection.
type XMPP struct {
	JID          string `mapstructure:"jid"`
	Password     Secret `mapstructure:"password"`
	PasswordFile string `mapstructure:"password_file"`
	// Address is host:port; empty means resolve the domain (SRV, then :5222).
	Address string `mapstructure:"address"`
	// TLS is starttls (default), direct, or insecure_plain (loopback only).
	TLS string `mapstructure:"tls"`
	// TLSCAFile is an extra PEM CA bundle for private servers.
	TLSCAFile string `mapstructure:"tls_ca_file"`
	// TLSServerName overrides the name checked in the server certificate
	// (default: the JID's domain).
	TLSServerName string `mapstructure:"tls_server_name"`
	Resource      string `mapstructure:"resource"`
	Nick          string `mapstructure:"nick"`
	// PingInterval and PingTimeout: XEP-0199 keepalive to the server.
	PingInterval time.Duration `mapstructure:"ping_interval"`
	PingTimeout  time.Duration `mapstructure:"ping_timeout"`
	// SelfPingInterval: XEP-0410 self-ping of every joined room.
	SelfPingInterval time.Duration `mapstructure:"self_ping_interval"`
	// ReconnectMin and ReconnectMax bound the exponential backoff.
	ReconnectMin time.Duration `mapstructure:"reconnect_min"`
	ReconnectMax time.Duration `mapstructure:"reconnect_max"`
	// JoinTimeout bounds waiting for a room's self-presence.
	JoinTimeout time.Duration `mapstructure:"join_timeout"`
}

// Redis is the state store.
type Redis struct {
	// URL is redis://[user:pass@]host:port/db (or rediss://). Credentials
	// are never logged.
	URL Secret `mapstructure:"url"`
	// Addrs and MasterName select Sentinel (MasterName set) or Cluster
	// (several Addrs) instead of URL.
	Addrs      []string `mapstructure:"addrs"`
	MasterName string   `mapstructure:"master_name"`
	Password   Secret   `mapstructure:"password"`
	Prefix     string   `mapstructure:"prefix"`
}

// HTTP serves /metrics, /healthz and /readyz.
type HTTP struct {
	// Listen is host:port; empty disables the HTTP server.
	Listen string `mapstructure:"listen"`
}

// Log configures zap.
type Log struct {
	Level  string `mapstructure:"level"`  // debug, info, warn, error
	Format string `mapstructure:"format"` // json (default) or console
}

// Invites says who may invite the bot into a room.
type Invites struct {
	// AcceptFrom lists bare JIDs or domains.
	AcceptFrom []string `mapstructure:"accept_from"`
}

// Limits are the bot's own stanza rate limits (token buckets).
type Limits struct {
	GlobalRate  float64 `mapstructure:"global_rate"` // stanzas per second, all rooms
	GlobalBurst int     `mapstructure:"global_burst"`
	RoomRate    float64 `mapstructure:"room_rate"` // stanzas per second, one room
	RoomBurst   int     `mapstructure:"room_burst"`
}

// RTBL lists the real-time block lists the bot follows and the one it
// publishes to.
type RTBL struct {
	Lists   []RTBLList   `mapstructure:"lists"`
	Publish *RTBLPublish `mapstructure:"publish"`
}

// RTBLList is one subscribed list.
type RTBLList struct {
	Name    string `mapstructure:"name"`
	Service string `mapstructure:"service"`
	Node    string `mapstructure:"node"`
	// Mode is apply (act), alert (tell officers only) or off.
	Mode string `mapstructure:"mode"`
	// AutoUnban lifts bans made for an entry when it is retracted.
	AutoUnban bool `mapstructure:"auto_unban"`
}

// RTBLPublish is the list Steward publishes to with `ban --share`.
type RTBLPublish struct {
	Name    string `mapstructure:"name"`
	Service string `mapstructure:"service"`
	Node    string `mapstructure:"node"`
}

// Room is one configured room.
type Room struct {
	JID      string `mapstructure:"jid"`
	Nick     string `mapstructure:"nick"`
	Password Secret `mapstructure:"password"`
	// Preset turns on a set of policies (see docs/configuration.md).
	Preset   string   `mapstructure:"preset"`
	Officers []string `mapstructure:"officers"`
	// Policies is decoded per policy by its Spec; the raw map is kept in
	// PolicyRaw and the decoded result in Policies.
	PolicyRaw map[string]any          `mapstructure:"policies"`
	Policies  map[string]PolicyConfig `mapstructure:"-"`
}

// PolicyConfig is one policy's section in one room, decoded and validated.
type PolicyConfig struct {
	Enabled bool
	DryRun  bool
	Config  policies.Config
}
