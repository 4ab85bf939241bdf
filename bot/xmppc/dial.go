package xmppc

import (
	"context"
	"crypto/tls"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"

	"go.uber.org/zap"
	"mellium.im/sasl"
	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	"mellium.im/xmpp/dial"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"
)

const nsBind = "urn:ietf:params:xml:ns:xmpp-bind"

// Dial connects, secures the stream as cfg.TLS says, logs in and binds the
// resource. The returned Session is not yet served: call Serve. Errors are
// classified (errors.Is with ErrAuth, ErrTLS, ErrUnreachable, ErrProtocol).
func Dial(ctx context.Context, cfg Config, log *zap.Logger) (*Session, error) {
	cfg = cfg.withDefaults()
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultDialTimeout)
		defer cancel()
	}
	origin := cfg.JID.Bare()
	where := cfg.Address
	if where == "" {
		where = origin.Domainpart() + " (resolved)"
	}
	fail := func(err error) error {
		return fmt.Errorf("xmppc: connect as %s to %s: %w", origin, where, classify(err))
	}

	tlsCfg := &tls.Config{
		ServerName: cfg.ServerName,
		RootCAs:    cfg.RootCAs,
		MinVersion: tls.VersionTLS12,
	}
	if tlsCfg.ServerName == "" {
		tlsCfg.ServerName = origin.Domainpart()
	}

	conn, err := dialConn(ctx, cfg, tlsCfg)
	if err != nil {
		return nil, fail(err)
	}

	// SASL refuses to run before the Secure bit is set; on a plaintext
	// loopback connection we set it ourselves (the config layer allows
	// insecure_plain only for loopback addresses).
	var state xmpp.SessionState
	mechs := []sasl.Mechanism{sasl.ScramSha256Plus, sasl.ScramSha1Plus, sasl.ScramSha256, sasl.ScramSha1, sasl.Plain}
	features := []xmpp.StreamFeature{}
	switch cfg.TLS {
	case TLSStartTLS:
		features = append(features, xmpp.StartTLS(tlsCfg))
	case TLSInsecurePlain:
		state = xmpp.Secure
		// Channel binding needs TLS; without it the -PLUS variants only fail.
		mechs = []sasl.Mechanism{sasl.ScramSha256, sasl.ScramSha1, sasl.Plain}
	}
	features = append(features,
		xmpp.SASL("", cfg.Password, mechs...),
		bindFeature(cfg.resource()),
	)
	xs, err := xmpp.NewSession(ctx, origin.Domain(), origin, conn, state, xmpp.NewNegotiator(
		func(*xmpp.Session, *xmpp.StreamConfig) xmpp.StreamConfig {
			return xmpp.StreamConfig{Lang: "en", Features: features}
		}))
	if err != nil {
		_ = conn.Close()
		return nil, fail(err)
	}
	s := newSession(xs, cfg, log)
	tlsVersion := "none"
	if cs := xs.ConnectionState(); cs.Version != 0 {
		tlsVersion = tls.VersionName(cs.Version)
	}
	log.Info("connected",
		zap.Stringer("jid", s.LocalAddr()),
		zap.String("address", conn.RemoteAddr().String()),
		zap.String("tls", tlsVersion))
	return s, nil
}

// dialConn opens the TCP (and for direct TLS, the TLS) connection.
func dialConn(ctx context.Context, cfg Config, tlsCfg *tls.Config) (net.Conn, error) {
	var nd net.Dialer // Go sets TCP_NODELAY by default.
	direct := cfg.TLS == TLSDirect
	var conn net.Conn
	var err error
	switch {
	case cfg.Address != "":
		conn, err = nd.DialContext(ctx, "tcp", cfg.Address)
	case direct:
		conn, err = dialDirectSRV(ctx, &nd, cfg.JID.Domainpart())
	default:
		d := dial.Dialer{Dialer: nd, NoTLS: true}
		conn, err = d.Dial(ctx, "tcp", cfg.JID.Bare())
	}
	if err != nil {
		return nil, err
	}
	if !direct {
		return conn, nil
	}
	cfgCopy := tlsCfg.Clone()
	cfgCopy.NextProtos = []string{"xmpp-client"}
	tc := tls.Client(conn, cfgCopy)
	// Handshake now so certificate problems surface as TLS errors rather than
	// as a failed stream header write.
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = conn.Close()
		return nil, err
	}
	return tc, nil
}

// dialDirectSRV tries the _xmpps-client SRV targets, then domain:5223.
// mellium's dialer would silently fall back to plain _xmpp-client targets,
// which is wrong when direct TLS was asked for.
func dialDirectSRV(ctx context.Context, nd *net.Dialer, domain string) (net.Conn, error) {
	_, addrs, err := net.DefaultResolver.LookupSRV(ctx, "xmpps-client", "tcp", domain)
	var lastErr error
	if err == nil {
		for _, a := range addrs {
			if a.Target == "." {
				continue // RFC 2782: service explicitly not available
			}
			c, e := nd.DialContext(ctx, "tcp", net.JoinHostPort(a.Target, strconv.Itoa(int(a.Port))))
			if e == nil {
				return c, nil
			}
			lastErr = e
		}
	}
	c, e := nd.DialContext(ctx, "tcp", net.JoinHostPort(domain, "5223"))
	if e != nil {
		return nil, errors.Join(e, lastErr)
	}
	return c, nil
}

// bindFeature binds the requested resource. It replaces xmpp.BindResource,
// which always sends an empty <resource/> (mellium v0.22.0 bind.go:79, bug
// B1), so the bot would get a random resource on every connect.
func bindFeature(resource string) xmpp.StreamFeature {
	return xmpp.StreamFeature{
		Name:       xml.Name{Space: nsBind, Local: "bind"},
		Necessary:  xmpp.Authn,
		Prohibited: xmpp.Ready,
		List: func(ctx context.Context, e xmlstream.TokenWriter, start xml.StartElement) (bool, error) {
			if err := e.EncodeToken(start); err != nil {
				return true, err
			}
			return true, e.EncodeToken(start.End())
		},
		Parse: func(ctx context.Context, d *xml.Decoder, start *xml.StartElement) (bool, any, error) {
			return true, nil, d.Skip()
		},
		Negotiate: func(ctx context.Context, s *xmpp.Session, _ any) (xmpp.SessionState, io.ReadWriter, error) {
			return negotiateBind(s, resource)
		},
	}
}

func negotiateBind(s *xmpp.Session, resource string) (xmpp.SessionState, io.ReadWriter, error) {
	w := s.TokenWriter()
	defer w.Close()
	r := s.TokenReader()
	defer r.Close()

	const id = "bind-1"
	var inner xml.TokenReader
	if resource != "" {
		inner = xmlstream.Wrap(xmlstream.Token(xml.CharData(resource)), xml.StartElement{Name: xml.Name{Local: "resource"}})
	}
	req := xmlstream.Wrap(
		xmlstream.Wrap(inner, xml.StartElement{Name: xml.Name{Space: nsBind, Local: "bind"}}),
		xml.StartElement{Name: xml.Name{Local: "iq"}, Attr: []xml.Attr{
			{Name: xml.Name{Local: "type"}, Value: string(stanza.SetIQ)},
			{Name: xml.Name{Local: "id"}, Value: id},
		}},
	)
	if _, err := xmlstream.Copy(w, req); err != nil {
		return 0, nil, err
	}
	if err := w.Flush(); err != nil {
		return 0, nil, err
	}

	var resp struct {
		ID   string `xml:"id,attr"`
		Type string `xml:"type,attr"`
		Bind struct {
			JID string `xml:"jid"`
		} `xml:"urn:ietf:params:xml:ns:xmpp-bind bind"`
		Err *stanza.Error `xml:"error"`
	}
	d := xml.NewTokenDecoder(r)
	if err := d.Decode(&resp); err != nil {
		return 0, nil, fmt.Errorf("bind: %w", err)
	}
	switch {
	case resp.ID != id:
		return 0, nil, fmt.Errorf("bind: reply has id %q, want %q", resp.ID, id)
	case resp.Type == string(stanza.ErrorIQ) && resp.Err != nil:
		return 0, nil, fmt.Errorf("bind resource %q: %w", resource, *resp.Err)
	case resp.Type != string(stanza.ResultIQ):
		return 0, nil, fmt.Errorf("bind: unexpected reply type %q", resp.Type)
	}
	j, err := jid.Parse(resp.Bind.JID)
	if err != nil {
		return 0, nil, fmt.Errorf("bind: server assigned %q: %w", resp.Bind.JID, err)
	}
	s.UpdateAddr(j)
	return xmpp.Ready, nil, nil
}
