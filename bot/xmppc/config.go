package xmppc

import (
	"crypto/x509"
	"fmt"
	"time"

	"mellium.im/xmpp/jid"
)

// TLS modes accepted in Config.TLS.
const (
	TLSStartTLS      = "starttls"       // plain TCP, then STARTTLS (required)
	TLSDirect        = "direct"         // TLS from the first byte (XEP-0368)
	TLSInsecurePlain = "insecure_plain" // no TLS at all; config allows it on loopback only
)

// Defaults used for zero durations in Config.
const (
	DefaultPingInterval = 60 * time.Second
	DefaultPingTimeout  = 10 * time.Second
	DefaultReconnectMin = time.Second
	DefaultReconnectMax = 2 * time.Minute

	// defaultIQTimeout bounds UnmarshalIQ when the caller's ctx has no deadline.
	defaultIQTimeout = 30 * time.Second
	// defaultDialTimeout bounds Dial when the caller's ctx has no deadline.
	defaultDialTimeout = 30 * time.Second
	// closeTimeout bounds a graceful close: our </stream:stream>, then the
	// server's, then the TCP connection is closed regardless.
	closeTimeout = 3 * time.Second
)

// Config is how to reach and log in to the server.
type Config struct {
	// JID is the account. Its resourcepart is used when Resource is empty.
	JID jid.JID
	// Password is never logged.
	Password string
	// Address is host:port; empty means resolve the domain (SRV records,
	// then the domain on the default port).
	Address string
	// TLS is TLSStartTLS (the default when empty), TLSDirect or
	// TLSInsecurePlain.
	TLS string
	// RootCAs verifies the server certificate; nil means the system roots.
	RootCAs *x509.CertPool
	// ServerName is the name checked in the certificate; empty means the
	// JID's domain.
	ServerName string
	// Resource is the resource to bind; empty means the JID's resourcepart,
	// and if that is empty too the server picks one.
	Resource string
	// PingInterval and PingTimeout drive the XEP-0199 keepalive to the
	// server; a missed answer ends the session and the Client reconnects.
	PingInterval, PingTimeout time.Duration
	// ReconnectMin and ReconnectMax bound the reconnect backoff. A session
	// that stayed up for ReconnectMax resets it.
	ReconnectMin, ReconnectMax time.Duration
	// Features are the disco#info features we advertise besides ping and
	// disco itself.
	Features []string
}

// withDefaults fills zero durations and the TLS mode.
func (c Config) withDefaults() Config {
	if c.TLS == "" {
		c.TLS = TLSStartTLS
	}
	if c.PingInterval <= 0 {
		c.PingInterval = DefaultPingInterval
	}
	if c.PingTimeout <= 0 {
		c.PingTimeout = DefaultPingTimeout
	}
	if c.ReconnectMin <= 0 {
		c.ReconnectMin = DefaultReconnectMin
	}
	if c.ReconnectMax <= 0 {
		c.ReconnectMax = DefaultReconnectMax
	}
	if c.ReconnectMax < c.ReconnectMin {
		c.ReconnectMax = c.ReconnectMin
	}
	return c
}

// check reports a config that cannot work at all.
func (c Config) check() error {
	if c.JID.Localpart() == "" || c.JID.Domainpart() == "" {
		return fmt.Errorf("xmppc: jid %q needs a local part and a domain", c.JID.String())
	}
	switch c.TLS {
	case TLSStartTLS, TLSDirect, TLSInsecurePlain:
	default:
		return fmt.Errorf("xmppc: tls must be %q, %q or %q, got %q", TLSStartTLS, TLSDirect, TLSInsecurePlain, c.TLS)
	}
	return nil
}

// resource is the resource we ask the server to bind.
func (c Config) resource() string {
	if c.Resource != "" {
		return c.Resource
	}
	return c.JID.Resourcepart()
}
