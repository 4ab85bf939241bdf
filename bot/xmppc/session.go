package xmppc

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"
)

// StanzaHandler receives every inbound <message/> and <presence/>. r yields
// the whole stanza, start element first, so xml.NewTokenDecoder(r).Decode(&v)
// decodes it; start is the same start element, for routing without
// decoding. It runs inside the receive loop: it must not block, must not
// keep r after returning, and must not send and wait for a reply (decode
// and queue).
type StanzaHandler func(start xml.StartElement, r xml.TokenReader)

// Session is one connected, logged-in XMPP stream. It is safe for concurrent
// use. Once it has ended (Serve returned or Close was called) every method
// fails with ErrClosed: dial a new one.
type Session struct {
	xs       *xmpp.Session
	conn     net.Conn
	log      *zap.Logger
	features []string // disco#info features, sorted

	life context.Context // cancelled when the session ends
	kill context.CancelFunc

	serving      atomic.Bool
	serveDone    chan struct{}
	closeStarted atomic.Bool
	closeOnce    sync.Once
	closeErr     error
}

func newSession(xs *xmpp.Session, cfg Config, log *zap.Logger) *Session {
	life, kill := context.WithCancel(context.Background())
	return &Session{
		xs:        xs,
		conn:      xs.Conn(),
		log:       log,
		features:  discoFeatures(cfg.Features),
		life:      life,
		kill:      kill,
		serveDone: make(chan struct{}),
	}
}

// LocalAddr is the bound full JID.
func (s *Session) LocalAddr() jid.JID { return s.xs.LocalAddr() }

// XMPP exposes the underlying mellium session for helpers that need one
// (disco, pubsub, form round trips). Never call its Serve or Close, and close
// every response it hands out.
func (s *Session) XMPP() *xmpp.Session { return s.xs }

// Done is closed when the session has ended.
func (s *Session) Done() <-chan struct{} { return s.life.Done() }

// Send writes one stanza (the first element of r). Without a deadline in ctx
// the default IQ timeout bounds the write.
func (s *Session) Send(ctx context.Context, r xml.TokenReader) error {
	if s.life.Err() != nil {
		return ErrClosed
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if err := s.xs.Send(ctx, r); err != nil {
		if s.life.Err() != nil {
			return ErrClosed
		}
		return fmt.Errorf("xmppc: send: %w", err)
	}
	return nil
}

// UnmarshalIQ sends <iq type=typ to=to> wrapping payload and waits for the
// reply. to is used verbatim (it need not pass PRECIS); empty means our own
// account. The first child of a result is decoded into v when v is non-nil.
// An error reply is returned as a stanza.Error value. Without a deadline in
// ctx the default IQ timeout applies; if the session ends meanwhile the
// error is ErrClosed.
func (s *Session) UnmarshalIQ(ctx context.Context, typ stanza.IQType, to string, payload xml.TokenReader, v any) error {
	if s.life.Err() != nil {
		return ErrClosed
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()

	start := xml.StartElement{Name: xml.Name{Local: "iq"}, Attr: []xml.Attr{
		{Name: xml.Name{Local: "type"}, Value: string(typ)},
	}}
	if to != "" {
		start.Attr = append(start.Attr, xml.Attr{Name: xml.Name{Local: "to"}, Value: to})
	}
	resp, err := s.xs.SendIQ(ctx, xmlstream.Wrap(payload, start))
	if err != nil {
		if s.life.Err() != nil {
			return ErrClosed
		}
		return fmt.Errorf("xmppc: iq %s to %q: %w", typ, to, err)
	}
	// An open response parks the receive loop (pitfall 4): always close it.
	defer resp.Close()
	return decodeIQReply(resp, v)
}

// decodeIQReply reads an <iq/> reply: a stanza.Error for type=error,
// otherwise its first child into v.
func decodeIQReply(r xml.TokenReader, v any) error {
	tok, err := r.Token()
	if err != nil {
		return fmt.Errorf("xmppc: read iq reply: %w", err)
	}
	start, ok := tok.(xml.StartElement)
	if !ok {
		return fmt.Errorf("xmppc: iq reply starts with %T", tok)
	}
	inner := xmlstream.Inner(r)
	if attrValue(start.Attr, "type") == string(stanza.ErrorIQ) {
		se, err := stanza.UnmarshalError(inner)
		if err != nil {
			return fmt.Errorf("xmppc: iq error reply: %w", err)
		}
		return se
	}
	if v == nil {
		return nil
	}
	d := xml.NewTokenDecoder(inner)
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return nil // an empty result leaves v untouched
		}
		if err != nil {
			return fmt.Errorf("xmppc: read iq payload: %w", err)
		}
		if el, ok := tok.(xml.StartElement); ok {
			if err := d.DecodeElement(v, &el); err != nil {
				return fmt.Errorf("xmppc: decode iq payload %s: %w", el.Name.Local, err)
			}
			return nil
		}
	}
}

// bound gives ctx a deadline if it has none and cancels it when the session
// ends, so nobody waits on a dead stream (pitfall 6).
func (s *Session) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	var cancelT context.CancelFunc = func() {}
	if _, ok := ctx.Deadline(); !ok {
		ctx, cancelT = context.WithTimeout(ctx, defaultIQTimeout)
	}
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.life, cancel)
	return ctx, func() { stop(); cancel(); cancelT() }
}

// Serve runs the receive loop until the stream ends, passing messages and
// presences to h (which may be nil) and answering IQs itself (ping,
// disco#info, service-unavailable for the rest). It returns nil when the
// stream was closed normally by either side. Call it once.
func (s *Session) Serve(h StanzaHandler) error {
	if !s.serving.CompareAndSwap(false, true) {
		return errors.New("xmppc: Serve called twice")
	}
	if s.life.Err() != nil {
		close(s.serveDone)
		return ErrClosed
	}
	err := s.xs.Serve(s.handler(h))
	s.kill()
	// mellium's Serve only writes </stream:stream>; the socket is ours to close.
	_ = s.conn.Close()
	close(s.serveDone)
	if err != nil && (errors.Is(err, net.ErrClosed) || s.closing()) {
		// We closed it (Close or a failed ping): not a stream failure.
		return nil
	}
	return err
}

// Close ends the session gracefully: it sends </stream:stream>, waits a
// little for the server's reply and for Serve to return, then closes the
// connection. Safe to call more than once and concurrently with Serve.
func (s *Session) Close() error {
	s.closeOnce.Do(func() {
		s.closeStarted.Store(true)
		deadline := time.NewTimer(closeTimeout)
		defer deadline.Stop()
		// The closing tag needs the output lock, which a writer stuck on a
		// frozen peer may hold: don't wait for it beyond the deadline.
		wrote := make(chan struct{})
		go func() {
			_ = s.xs.Close()
			close(wrote)
		}()
		select {
		case <-wrote:
		case <-deadline.C:
		}
		if s.serving.Load() {
			// Wait for the server's </stream:stream> so it sees a clean logout.
			_ = s.conn.SetReadDeadline(time.Now().Add(closeTimeout))
			select {
			case <-s.serveDone:
			case <-deadline.C:
			}
		}
		s.kill()
		if err := s.conn.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			s.closeErr = fmt.Errorf("xmppc: close: %w", err)
		}
	})
	return s.closeErr
}

// abort drops the connection at once, for a peer that stopped answering.
func (s *Session) abort() {
	s.closeStarted.Store(true)
	s.kill()
	_ = s.conn.Close()
}

// closing reports whether we ended the session ourselves.
func (s *Session) closing() bool { return s.closeStarted.Load() }
