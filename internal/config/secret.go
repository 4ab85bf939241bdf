package config

import (
	"maps"
	"net/url"
	"slices"
)

// GoString hides the value from %#v as well.
func (s Secret) GoString() string { return "config.Secret(" + `"` + s.String() + `"` + ")" }

// Reveal returns the secret itself, for the one place that needs it (the
// XMPP login, the Redis dial). Its name makes such places easy to review.
func (s Secret) Reveal() string { return string(s) }

// SafeURL is the Redis URL with its password replaced by "xxxxx", for logs.
// It is empty when the URL does not parse (it could then hold anything).
func (r Redis) SafeURL() string {
	if r.URL == "" {
		return ""
	}
	u, err := url.Parse(string(r.URL))
	if err != nil {
		return ""
	}
	return u.Redacted()
}

// Redacted returns a copy of c with every secret replaced by "<secret>", safe
// to log or print in full. The Redis URL keeps its host and database, with
// the password masked (see SafeURL).
func (c *Config) Redacted() *Config {
	if c == nil {
		return nil
	}
	out := *c
	hide := func(s Secret) Secret {
		if s == "" {
			return ""
		}
		return "<secret>"
	}
	out.XMPP.Password = hide(c.XMPP.Password)
	out.Redis.Password = hide(c.Redis.Password)
	if c.Redis.URL != "" {
		out.Redis.URL = "<secret>"
		if safe := c.Redis.SafeURL(); safe != "" {
			out.Redis.URL = Secret(safe)
		}
	}
	out.Redis.Addrs = slices.Clone(c.Redis.Addrs)
	out.Invites.AcceptFrom = slices.Clone(c.Invites.AcceptFrom)
	out.RTBL.Lists = slices.Clone(c.RTBL.Lists)
	if c.RTBL.Publish != nil {
		p := *c.RTBL.Publish
		out.RTBL.Publish = &p
	}
	out.Rooms = make([]Room, len(c.Rooms))
	for i, r := range c.Rooms {
		r.Password = hide(r.Password)
		r.Officers = slices.Clone(r.Officers)
		r.PolicyRaw = maps.Clone(r.PolicyRaw)
		r.Policies = maps.Clone(r.Policies)
		out.Rooms[i] = r
	}
	if c.Rooms == nil {
		out.Rooms = nil
	}
	return &out
}
