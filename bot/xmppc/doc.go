// Package xmppc is Steward's XMPP connection layer on top of mellium.im/xmpp:
// dial and log in (STARTTLS, direct TLS or loopback plaintext; SCRAM with
// PLAIN as the last resort), bind the configured resource, answer pings and
// disco#info, keep the connection alive with XEP-0199 pings, and reconnect
// with jittered exponential backoff.
//
// It works around mellium v0.22.0 bugs that would otherwise bite a
// long-running bot: resource binding ignores the requested resource (B1), and
// a handler error, such as mellium's mux failing to parse a sender address
// that Prosody accepts (B6), ends the whole session. The receive loop here
// uses no mux and never returns an error.
//
// It deliberately knows nothing about rooms: joining, occupants and
// moderation are the bot's. Only this package and bot/* import mellium's
// session packages.
//
// Entry point:
//
//	c := xmppc.NewClient(cfg, log, xmppc.Hooks{
//		OnStanza:  func(start xml.StartElement, r xml.TokenReader) { /* decode, queue */ },
//		OnConnect: func(ctx context.Context, s *xmppc.Session) { /* rejoin rooms */ },
//	})
//	err := c.Run(ctx) // until ctx is cancelled
//
// Failures are classified: errors.Is(err, xmppc.ErrAuth), ErrTLS,
// ErrUnreachable or ErrProtocol, each with a message in plain words.
package xmppc
