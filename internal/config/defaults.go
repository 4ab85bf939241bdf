package config

import "time"

// Defaults returns the configuration used for every key the file and the
// environment leave out.
func Defaults() Config {
	return Config{
		XMPP: XMPP{
			TLS:              TLSStartTLS,
			Resource:         "steward",
			Nick:             "Steward",
			PingInterval:     60 * time.Second,
			PingTimeout:      10 * time.Second,
			SelfPingInterval: 5 * time.Minute,
			ReconnectMin:     time.Second,
			ReconnectMax:     2 * time.Minute,
			JoinTimeout:      20 * time.Second,
		},
		Redis: Redis{
			URL:    "redis://127.0.0.1:6379/0",
			Prefix: "steward",
		},
		Log: Log{Level: "info", Format: "json"},
		Limits: Limits{
			GlobalRate:  20,
			GlobalBurst: 40,
			RoomRate:    5,
			RoomBurst:   10,
		},
	}
}

// Values of xmpp.tls.
const (
	// TLSStartTLS upgrades a plain connection (port 5222) with STARTTLS.
	TLSStartTLS = "starttls"
	// TLSDirect speaks TLS from the first byte (XEP-0368, port 5223).
	TLSDirect = "direct"
	// TLSInsecurePlain uses no TLS at all; it is refused unless the server
	// is on a loopback address.
	TLSInsecurePlain = "insecure_plain"
)

// Values of rtbl.lists[].mode.
const (
	RTBLApply = "apply"
	RTBLAlert = "alert"
	RTBLOff   = "off"
)
