package config

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"mellium.im/xmpp/jid"

	"github.com/steward-xmpp/steward/policies"
)

// validate checks the decoded global keys and rooms (policy sections are
// checked while decoding). It reports every problem.
func validate(c *Config) []error {
	var v validator
	v.xmpp(&c.XMPP)
	v.redis(&c.Redis)
	if c.HTTP.Listen != "" {
		v.hostPort("http.listen", c.HTTP.Listen, true, "127.0.0.1:9090 or :9090")
	}
	v.oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")
	v.oneOf("log.format", c.Log.Format, "json", "console")
	for i, a := range c.Invites.AcceptFrom {
		key := fmt.Sprintf("invites.accept_from[%d]", i)
		j, err := jid.Parse(a)
		switch {
		case err != nil || a == "":
			v.add(key, "expected a bare JID (alice@example.org) or a domain (example.org), got %q", a)
		case j.Resourcepart() != "":
			v.add(key, "expected a bare JID (alice@example.org) or a domain (example.org) without a /resource, got %q", a)
		}
	}
	v.positiveFloat("limits.global_rate", c.Limits.GlobalRate)
	v.positiveInt("limits.global_burst", c.Limits.GlobalBurst)
	v.positiveFloat("limits.room_rate", c.Limits.RoomRate)
	v.positiveInt("limits.room_burst", c.Limits.RoomBurst)
	v.rtbl(&c.RTBL)
	v.rooms(c.Rooms)
	return v.errs
}

type validator struct{ errs []error }

func (v *validator) add(key, format string, args ...any) {
	v.errs = append(v.errs, policies.KeyErrorf(key, format, args...))
}

func (v *validator) xmpp(x *XMPP) {
	switch {
	case x.JID == "":
		v.add("xmpp.jid", "required: the bot's bare JID, such as steward@example.org")
	default:
		v.bareJID("xmpp.jid", x.JID, "steward@example.org")
	}
	v.oneOf("xmpp.tls", x.TLS, TLSStartTLS, TLSDirect, TLSInsecurePlain)
	addrOK := true
	if x.Address != "" {
		addrOK = v.hostPort("xmpp.address", x.Address, false, "xmpp.example.org:5222")
	}
	if x.TLS == TLSInsecurePlain && addrOK {
		const why = "insecure_plain sends the password unencrypted, so it is allowed only when xmpp.address is a loopback address (127.0.0.1:5222, [::1]:5222 or localhost:5222)"
		if x.Address == "" {
			v.add("xmpp.tls", "%s; xmpp.address is not set", why)
		} else if host, _, _ := net.SplitHostPort(x.Address); !isLoopback(host) {
			v.add("xmpp.tls", "%s; got %q", why, x.Address)
		}
	}
	if strings.TrimSpace(x.Resource) == "" {
		v.add("xmpp.resource", "must not be empty")
	}
	if strings.TrimSpace(x.Nick) == "" {
		v.add("xmpp.nick", "must not be empty")
	}
	for _, d := range []struct {
		key string
		d   time.Duration
	}{
		{"xmpp.ping_interval", x.PingInterval},
		{"xmpp.ping_timeout", x.PingTimeout},
		{"xmpp.self_ping_interval", x.SelfPingInterval},
		{"xmpp.reconnect_min", x.ReconnectMin},
		{"xmpp.reconnect_max", x.ReconnectMax},
		{"xmpp.join_timeout", x.JoinTimeout},
	} {
		if d.d <= 0 {
			v.add(d.key, "must be a positive duration, got %s", d.d)
		}
	}
	if x.PingTimeout > 0 && x.PingInterval > 0 && x.PingTimeout >= x.PingInterval {
		v.add("xmpp.ping_timeout", "must be shorter than xmpp.ping_interval (%s), got %s", x.PingInterval, x.PingTimeout)
	}
	if x.ReconnectMin > 0 && x.ReconnectMax > 0 && x.ReconnectMin > x.ReconnectMax {
		v.add("xmpp.reconnect_min", "must not exceed xmpp.reconnect_max (%s), got %s", x.ReconnectMax, x.ReconnectMin)
	}
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// redis never prints the URL: it may hold a password.
func (v *validator) redis(r *Redis) {
	if r.Prefix == "" {
		v.add("redis.prefix", "must not be empty")
	} else if strings.ContainsFunc(r.Prefix, unicode.IsSpace) {
		v.add("redis.prefix", "must not contain spaces, got %q", r.Prefix)
	}
	for i, a := range r.Addrs {
		v.hostPort(fmt.Sprintf("redis.addrs[%d]", i), a, false, "10.0.0.1:26379")
	}
	if len(r.Addrs) > 0 {
		return
	}
	const want = "expected redis://[user:password@]host:port/db or rediss://…"
	if r.URL == "" {
		v.add("redis.url", "required unless redis.addrs is set: %s", want)
		return
	}
	u, err := url.Parse(string(r.URL))
	switch {
	case err != nil:
		v.add("redis.url", "%s; the value is not a URL", want)
	case u.Scheme != "redis" && u.Scheme != "rediss":
		v.add("redis.url", "%s; got the scheme %q", want, u.Scheme)
	case u.Host == "":
		v.add("redis.url", "%s; the host is missing", want)
	default:
		if db := strings.Trim(u.Path, "/"); db != "" {
			if n, err := strconv.Atoi(db); err != nil || n < 0 {
				v.add("redis.url", "%s; the database after the host must be a number, got %q", want, db)
			}
		}
	}
}

func (v *validator) rtbl(r *RTBL) {
	seen := map[string]int{}
	for i := range r.Lists {
		l := &r.Lists[i]
		at := fmt.Sprintf("rtbl.lists[%d]", i)
		if l.Name == "" {
			v.add(at+".name", "required: a short name for the list, used in commands and logs")
		} else if j, dup := seen[l.Name]; dup {
			v.add(at+".name", "%q is already used by rtbl.lists[%d]", l.Name, j)
		} else {
			seen[l.Name] = i
		}
		v.service(at+".service", l.Service)
		if l.Node == "" {
			v.add(at+".node", "required: the pubsub node, such as muc_bans_sha256")
		}
		if l.Mode == "" {
			l.Mode = RTBLApply
		}
		v.oneOf(at+".mode", l.Mode, RTBLApply, RTBLAlert, RTBLOff)
	}
	if p := r.Publish; p != nil {
		v.service("rtbl.publish.service", p.Service)
		if p.Node == "" {
			v.add("rtbl.publish.node", "required: the pubsub node, such as muc_bans_sha256")
		}
	}
}

func (v *validator) service(key, s string) {
	if s == "" {
		v.add(key, "required: the pubsub service's JID, such as xmppbl.org")
		return
	}
	j, err := jid.Parse(s)
	if err != nil || j.Resourcepart() != "" {
		v.add(key, "expected the pubsub service's JID, such as xmppbl.org, got %q", s)
	}
}

func (v *validator) rooms(rooms []Room) {
	seen := map[string]int{}
	for i := range rooms {
		r := &rooms[i]
		at := fmt.Sprintf("rooms[%d]", i)
		if r.JID == "" {
			v.add(at+".jid", "required: the room's bare JID, such as lounge@muc.example.org")
		} else if v.bareJID(at+".jid", r.JID, "lounge@muc.example.org") {
			key := strings.ToLower(jid.MustParse(r.JID).String())
			if j, dup := seen[key]; dup {
				v.add(at+".jid", "%q is already configured as rooms[%d]", r.JID, j)
			} else {
				seen[key] = i
			}
		}
		for k, o := range r.Officers {
			v.bareJID(fmt.Sprintf("%s.officers[%d]", at, k), o, "alice@example.org")
		}
	}
}

// bareJID checks that s is a JID of the form local@domain.
func (v *validator) bareJID(key, s, example string) bool {
	j, err := jid.Parse(s)
	if err != nil || j.Localpart() == "" || j.Resourcepart() != "" {
		v.add(key, "expected a bare JID such as %s, got %q", example, s)
		return false
	}
	return true
}

// hostPort checks host:port; an empty host is allowed for listen addresses.
func (v *validator) hostPort(key, s string, listen bool, example string) bool {
	host, port, err := net.SplitHostPort(s)
	n, perr := strconv.Atoi(port)
	minPort := 1
	if listen {
		minPort = 0 // ":0" picks a free port (tests)
	}
	if err != nil || perr != nil || n < minPort || n > 65535 || (host == "" && !listen) {
		v.add(key, "expected host:port such as %s, got %q", example, s)
		return false
	}
	return true
}

func (v *validator) oneOf(key, s string, valid ...string) {
	for _, ok := range valid {
		if s == ok {
			return
		}
	}
	v.add(key, "expected one of %s; got %q", strings.Join(valid, ", "), s)
}

func (v *validator) positiveFloat(key string, f float64) {
	if !(f > 0) {
		v.add(key, "must be greater than 0, got %v", f)
	}
}

func (v *validator) positiveInt(key string, n int) {
	if n <= 0 {
		v.add(key, "must be greater than 0, got %d", n)
	}
}
