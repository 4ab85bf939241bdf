package xmppc

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"mellium.im/sasl"
	"mellium.im/xmpp"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"
	"mellium.im/xmpp/stream"
)

// melliumSASLFailure runs mellium's real SASL client against a server that
// refuses the password, so the test breaks if mellium changes the type
// classify recognises by reflection.
func melliumSASLFailure(t *testing.T) error {
	t.Helper()
	c1, c2 := net.Pipe()
	defer c1.Close()
	go func() {
		defer c2.Close()
		d := xml.NewDecoder(c2)
		next := func() (xml.StartElement, bool) {
			for {
				tok, err := d.Token()
				if err != nil {
					return xml.StartElement{}, false
				}
				if se, ok := tok.(xml.StartElement); ok {
					return se, true
				}
			}
		}
		if _, ok := next(); !ok { // client stream header
			return
		}
		io.WriteString(c2, `<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0' from='localhost' id='s1'>`+
			`<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms></stream:features>`)
		if _, ok := next(); !ok { // <auth>
			return
		}
		io.WriteString(c2, `<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/><text>Unable to authorize you with the authentication credentials you've sent.</text></failure>`)
		next() // until the client hangs up
	}()
	origin := jid.MustParse("bot@localhost")
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, err := xmpp.NewSession(ctx, origin.Domain(), origin, c1, xmpp.Secure, xmpp.NewNegotiator(
		func(*xmpp.Session, *xmpp.StreamConfig) xmpp.StreamConfig {
			return xmpp.StreamConfig{Features: []xmpp.StreamFeature{xmpp.SASL("", "wrong", sasl.Plain)}}
		}))
	if err == nil {
		t.Fatal("SASL against a refusing server succeeded")
	}
	return err
}

func TestClassify(t *testing.T) {
	unknownCA := x509.UnknownAuthorityError{}
	tests := []struct {
		name      string
		err       error
		class     error
		wantWords string // must appear in the message
	}{
		{"sasl not-authorized from mellium", melliumSASLFailure(t), ErrAuth, "wrong password or unknown account: server said not-authorized: Unable to authorize"},
		{"connection refused", &net.OpError{Op: "dial", Net: "tcp", Err: &net.OpError{Err: syscall.ECONNREFUSED}}, ErrUnreachable, "server unreachable: connection refused"},
		{"dns", &net.DNSError{Err: "no such host", Name: "xmpp.invalid", IsNotFound: true}, ErrUnreachable, "no such host"},
		{"dial timeout", fmt.Errorf("dial: %w", context.DeadlineExceeded), ErrUnreachable, "timed out"},
		{"closed during login", io.EOF, ErrUnreachable, "connection closed during login"},
		{"untrusted certificate", &tls.CertificateVerificationError{Err: unknownCA}, ErrTLS, "TLS failure: tls: failed to verify certificate"},
		{"certificate error flattened by %v", fmt.Errorf("stream: %v", unknownCA), ErrTLS, "x509: certificate signed by unknown authority"},
		{"tls alert", tls.AlertError(40), ErrTLS, "TLS failure"},
		{"starttls refused", errors.New("xmpp: receiver indicated that TLS negotiation failed"), ErrTLS, "TLS negotiation failed"},
		{"no common mechanism", errors.New("xmpp: no matching SASL mechanisms found"), ErrProtocol, "no login mechanism we support"},
		{"stream error", stream.HostUnknown, ErrProtocol, "stream error: host-unknown"},
		{"bind conflict", fmt.Errorf("bind: %w", stanza.Error{Type: stanza.Cancel, Condition: stanza.Conflict}), ErrProtocol, "server refused: conflict"},
		{"anything else", errors.New("xmpp: stream in a bad state"), ErrProtocol, "XMPP protocol error: xmpp: stream in a bad state"},
		{"already classified", classed(ErrAuth, errors.New("x"), "y"), ErrAuth, "wrong password or unknown account: y"},
	}
	classes := []error{ErrAuth, ErrTLS, ErrUnreachable, ErrProtocol}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := classify(tc.err)
			for _, c := range classes {
				if errors.Is(got, c) != (c == tc.class) {
					t.Errorf("errors.Is(%q, %v) = %v", got, c, errors.Is(got, c))
				}
			}
			if !errors.Is(got, tc.err) {
				t.Errorf("classified error lost its cause %v", tc.err)
			}
			if !strings.Contains(got.Error(), tc.wantWords) {
				t.Errorf("message %q does not contain %q", got, tc.wantWords)
			}
		})
	}
	if classify(nil) != nil {
		t.Error("classify(nil) != nil")
	}
}
