package redisstore

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Options say how to reach Redis. Set URL, or Addrs:
//   - URL: one server, as redis.ParseURL reads it
//     ("redis://user:pass@host:6379/0", "rediss://…", "unix:///path?db=0");
//   - Addrs with MasterName: Sentinel addresses and the master's name;
//   - several Addrs without MasterName: Cluster seed nodes;
//   - one Addr without MasterName: one server.
type Options struct {
	URL        string
	Addrs      []string
	MasterName string
	// Password overrides a password in URL; for Sentinel it is the
	// master's password.
	Password string
	// Prefix is put before every key; empty means DefaultPrefix.
	Prefix string
}

// Open builds a client from opts, pings it and returns a Store that owns
// it. Errors never contain the password or the URL's credentials.
func Open(ctx context.Context, opts Options, o ...Option) (*Store, error) {
	prefix, err := cleanPrefix(opts.Prefix)
	if err != nil {
		return nil, err
	}
	secrets := secretsOf(opts)
	var c redis.UniversalClient
	switch {
	case opts.URL != "" && len(opts.Addrs) > 0:
		return nil, errors.New("redisstore: set either a URL or addresses, not both")
	case opts.URL != "":
		ro, err := redis.ParseURL(opts.URL)
		if err != nil {
			// Not wrapped: url.Error repeats the URL, password included.
			return nil, fmt.Errorf("redisstore: parse URL %s: %s", redactURL(opts.URL), scrub(err.Error(), secrets))
		}
		if opts.Password != "" {
			ro.Password = opts.Password
		}
		c = redis.NewClient(ro)
	case len(opts.Addrs) > 0:
		c = redis.NewUniversalClient(&redis.UniversalOptions{
			Addrs:      opts.Addrs,
			MasterName: opts.MasterName,
			Password:   opts.Password,
		})
	default:
		return nil, errors.New("redisstore: no URL or addresses given")
	}
	if err := c.Ping(ctx).Err(); err != nil {
		_ = c.Close()
		return nil, &redactedError{
			msg: fmt.Sprintf("redisstore: ping %s: %s", where(opts), scrub(err.Error(), secrets)),
			err: err,
		}
	}
	s := New(c, prefix, o...)
	// Loading the scripts now saves the first calls a NOSCRIPT round trip.
	for _, sc := range []*redis.Script{appendScript, readScript, markUndoneScript} {
		if err := sc.Load(ctx, c).Err(); err != nil {
			_ = c.Close()
			return nil, &redactedError{msg: "redisstore: load script: " + scrub(err.Error(), secrets), err: err}
		}
	}
	return s, nil
}

// redactedError shows a message with secrets removed; Unwrap still gives
// the cause, for errors.Is (a deadline, say).
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// where names the servers for an error message.
func where(opts Options) string {
	if opts.URL != "" {
		return redactURL(opts.URL)
	}
	if opts.MasterName != "" {
		return fmt.Sprintf("master %q via sentinels %s", opts.MasterName, strings.Join(opts.Addrs, ","))
	}
	return strings.Join(opts.Addrs, ",")
}

// secretsOf lists every string that must not appear in an error: the
// password option and the URL's user information, raw and decoded.
func secretsOf(opts Options) []string {
	var s []string
	add := func(v string) {
		if v != "" {
			s = append(s, v)
		}
	}
	add(opts.Password)
	if ui := userinfo(opts.URL); ui != "" {
		add(ui)
		if _, pw, ok := strings.Cut(ui, ":"); ok {
			add(pw)
			if dec, err := url.PathUnescape(pw); err == nil {
				add(dec)
			}
		}
	}
	return s
}

// userinfo returns what lies between "://" and the last "@" of the
// authority, found by hand because the URL may not parse.
func userinfo(raw string) string {
	_, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return ""
	}
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		rest = rest[:i]
	}
	at := strings.LastIndexByte(rest, '@')
	if at < 0 {
		return ""
	}
	return rest[:at]
}

// redactURL returns raw with its user information replaced.
func redactURL(raw string) string {
	ui := userinfo(raw)
	if ui == "" {
		return raw
	}
	user, _, hasPw := strings.Cut(ui, ":")
	repl := "xxxxx"
	if hasPw {
		repl = user + ":xxxxx"
	}
	return strings.Replace(raw, ui+"@", repl+"@", 1)
}

// scrub replaces every secret in msg, longest first so that a password
// inside the user information is not left half-replaced.
func scrub(msg string, secrets []string) string {
	secrets = slices.Clone(secrets)
	slices.SortFunc(secrets, func(a, b string) int { return len(b) - len(a) })
	for _, s := range secrets {
		msg = strings.ReplaceAll(msg, s, "xxxxx")
	}
	return msg
}
