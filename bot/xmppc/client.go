package xmppc

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"mellium.im/xmlstream"
	"mellium.im/xmpp/stanza"
)

// Hooks are the Client's callbacks. Any of them may be nil.
type Hooks struct {
	// OnStanza receives every inbound message and presence (see
	// StanzaHandler: it must not block).
	OnStanza StanzaHandler
	// OnConnect runs in its own goroutine after each connect and initial
	// presence: rejoin rooms, resubscribe. ctx is cancelled when that
	// session ends. The Client waits for it to return before connecting
	// again, so two calls never overlap.
	OnConnect func(ctx context.Context, s *Session)
	// OnDisconnect is called after each session has ended: err is
	// ErrServerClosed, the ping or transport failure, or nil when Run is
	// shutting down.
	OnDisconnect func(err error)
}

// Client keeps one session alive: it dials, serves, pings the server and
// reconnects with backoff. Create it with NewClient and call Run once.
type Client struct {
	cfg   Config
	log   *zap.Logger
	hooks Hooks

	// Seams for tests: dialling and the jitter source.
	dial  func(ctx context.Context) (*Session, error)
	randN func(n int64) int64

	cur atomic.Pointer[Session]
}

// NewClient returns a Client for cfg. Zero durations take the defaults.
func NewClient(cfg Config, log *zap.Logger, h Hooks) *Client {
	cfg = cfg.withDefaults()
	c := &Client{cfg: cfg, log: log, hooks: h, randN: rand.Int64N}
	c.dial = func(ctx context.Context) (*Session, error) { return Dial(ctx, c.cfg, c.log) }
	return c
}

// Current is the live session, or nil while disconnected.
func (c *Client) Current() *Session { return c.cur.Load() }

// Connected reports whether a session is live.
func (c *Client) Connected() bool { return c.cur.Load() != nil }

// Run connects and stays connected until ctx is cancelled, then closes the
// session cleanly and returns nil. If the very first attempt fails with
// ErrAuth or ErrTLS, Run returns that error: a wrong password or an
// untrusted certificate does not fix itself, and the operator should hear
// at once. Later failures are logged and retried.
func (c *Client) Run(ctx context.Context) error {
	attempt := 0
	everConnected := false
	for {
		s, err := c.dial(ctx)
		if ctx.Err() != nil {
			if s != nil {
				_ = s.Close()
			}
			return nil
		}
		if err != nil {
			if !everConnected && (errors.Is(err, ErrAuth) || errors.Is(err, ErrTLS)) {
				c.log.Error("cannot log in", zap.Error(err))
				return err
			}
			wait := backoff(attempt, c.cfg.ReconnectMin, c.cfg.ReconnectMax, c.randN)
			c.log.Error("connect failed; retrying", zap.Error(err), zap.Int("attempt", attempt+1), zap.Duration("retry_in", wait))
			attempt++
			if !sleep(ctx, wait) {
				return nil
			}
			continue
		}
		everConnected = true
		up := time.Now()
		err = c.runSession(ctx, s)
		if c.hooks.OnDisconnect != nil {
			c.hooks.OnDisconnect(err)
		}
		if ctx.Err() != nil {
			return nil
		}
		if time.Since(up) >= c.cfg.ReconnectMax {
			attempt = 0 // it was a healthy session: start the backoff over
		}
		wait := backoff(attempt, c.cfg.ReconnectMin, c.cfg.ReconnectMax, c.randN)
		c.log.Warn("disconnected; reconnecting", zap.Error(err), zap.Duration("retry_in", wait))
		attempt++
		if !sleep(ctx, wait) {
			return nil
		}
	}
}

// runSession serves s until it ends and returns why (nil on shutdown).
func (c *Client) runSession(ctx context.Context, s *Session) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- s.Serve(c.hooks.OnStanza) }()

	var hooks sync.WaitGroup
	// finish tears the session down and waits for everything tied to it.
	finish := func(why error) error {
		c.cur.Store(nil)
		cancel()
		if ctx.Err() != nil {
			_ = s.Close()
			why = nil
		} else {
			s.abort()
		}
		<-served
		hooks.Wait()
		return why
	}

	// Initial presence: without it Prosody delivers no pubsub events to a
	// bare-JID subscription (pitfall 9).
	if err := s.Send(sctx, stanza.Presence{}.Wrap(nil)); err != nil {
		return finish(err)
	}
	c.cur.Store(s)
	if c.hooks.OnConnect != nil {
		hooks.Go(func() { c.hooks.OnConnect(sctx, s) })
	}

	ticker := time.NewTicker(c.cfg.PingInterval)
	defer ticker.Stop()
	for {
		select {
		case err := <-served:
			served <- err // finish reads it again
			if err == nil {
				err = ErrServerClosed
			} else {
				err = fmt.Errorf("xmppc: connection lost: %w", err)
			}
			return finish(err)
		case <-ctx.Done():
			return finish(nil)
		case <-ticker.C:
			if err := c.ping(sctx, s); err != nil {
				if ctx.Err() != nil {
					return finish(nil)
				}
				c.log.Warn("server did not answer ping; dropping the connection", zap.Error(err))
				return finish(err)
			}
		}
	}
}

// ping sends a XEP-0199 ping to the server. Any reply, even an error,
// proves the server is alive; only silence or a broken stream fails.
func (c *Client) ping(ctx context.Context, s *Session) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.PingTimeout)
	defer cancel()
	payload := xmlstream.Wrap(nil, xml.StartElement{Name: xml.Name{Space: NSPing, Local: "ping"}})
	err := s.UnmarshalIQ(ctx, stanza.GetIQ, c.cfg.JID.Domainpart(), payload, nil)
	var se stanza.Error
	if err != nil && !errors.As(err, &se) {
		return err
	}
	return nil
}

// backoff is the wait before reconnect attempt n (counting from 0): uniform
// ("full jitter") between lo and min(hi, lo·2^(n+1)), so the first retry
// already spreads out and later ones never exceed hi.
func backoff(n int, lo, hi time.Duration, randN func(int64) int64) time.Duration {
	upper := hi
	if n < 30 {
		if u := lo << (n + 1); u > 0 && u < hi {
			upper = u
		}
	}
	if upper <= lo {
		return lo
	}
	return lo + time.Duration(randN(int64(upper-lo)+1))
}

// sleep waits d or until ctx ends; it reports whether the wait completed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
