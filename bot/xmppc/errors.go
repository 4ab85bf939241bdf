package xmppc

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"reflect"
	"strings"
	"syscall"

	"mellium.im/xmpp/stanza"
	"mellium.im/xmpp/stream"
)

// Connection failures fall into four classes, each told in plain words. Dial
// wraps every error in exactly one of them, so callers and logs can say what
// went wrong without knowing XMPP: errors.Is(err, xmppc.ErrAuth).
var (
	// ErrAuth means the server refused the credentials.
	ErrAuth = errors.New("wrong password or unknown account")
	// ErrTLS means the TLS handshake failed, for example on an untrusted or
	// mismatched certificate.
	ErrTLS = errors.New("TLS failure")
	// ErrUnreachable means no connection could be made or it broke during
	// login (refused, timed out, name not found, closed early).
	ErrUnreachable = errors.New("server unreachable")
	// ErrProtocol is anything else the server or the stream got wrong.
	ErrProtocol = errors.New("XMPP protocol error")
)

// ErrClosed is returned by a Session that has ended. Sessions are never
// reused: the Client dials a new one.
var ErrClosed = errors.New("xmppc: session closed")

// ErrServerClosed is passed to Hooks.OnDisconnect when the server ended the
// stream (for example on restart or an admin's c2s:close).
var ErrServerClosed = errors.New("xmppc: server closed the stream")

// classError is a classified failure: errors.Is matches both the class and
// the underlying cause, and the message reads "<class>: <detail>".
type classError struct {
	class  error
	detail string
	cause  error
}

func (e *classError) Error() string   { return e.class.Error() + ": " + e.detail }
func (e *classError) Unwrap() []error { return []error{e.class, e.cause} }

func classed(class error, cause error, detail string) error {
	return &classError{class: class, detail: detail, cause: cause}
}

// isClassified reports whether err already carries one of the four classes.
func isClassified(err error) bool {
	return errors.Is(err, ErrAuth) || errors.Is(err, ErrTLS) ||
		errors.Is(err, ErrUnreachable) || errors.Is(err, ErrProtocol)
}

// saslPkg is where mellium keeps its SASL <failure/> type. It is internal, so
// the failure is recognised by its package path and read by reflection.
const saslPkg = "mellium.im/xmpp/internal/saslerr"

// saslFailure returns the condition and text of a SASL <failure/> from the
// server, if err is one.
func saslFailure(err error) (cond, text string, ok bool) {
	for e := err; e != nil; e = errors.Unwrap(e) {
		v := reflect.ValueOf(e)
		if v.Kind() == reflect.Pointer && !v.IsNil() {
			v = v.Elem()
		}
		if v.Kind() != reflect.Struct || v.Type().PkgPath() != saslPkg {
			continue
		}
		if f := v.FieldByName("Condition"); f.IsValid() && f.CanInterface() {
			cond = fmt.Sprint(f.Interface())
		}
		if f := v.FieldByName("Text"); f.IsValid() && f.Kind() == reflect.String {
			text = f.String()
		}
		return cond, text, true
	}
	return "", "", false
}

// classify turns an error from dialling or negotiating into one of the four
// classes. It looks at types first and falls back to the text, because
// mellium formats some causes with %v rather than wrapping them.
func classify(err error) error {
	if err == nil || isClassified(err) {
		return err
	}

	if cond, text, ok := saslFailure(err); ok {
		detail := "server said " + cond
		if text != "" {
			detail += ": " + text
		}
		switch cond {
		case "not-authorized", "account-disabled", "credentials-expired", "invalid-authzid":
			return classed(ErrAuth, err, detail)
		default:
			return classed(ErrProtocol, err, "SASL "+detail)
		}
	}

	var (
		certErr    *tls.CertificateVerificationError
		unknownCA  x509.UnknownAuthorityError
		hostErr    x509.HostnameError
		invalidErr x509.CertificateInvalidError
		alertErr   tls.AlertError
		recordErr  tls.RecordHeaderError
	)
	msg := err.Error()
	switch {
	case errors.As(err, &certErr), errors.As(err, &unknownCA), errors.As(err, &hostErr),
		errors.As(err, &invalidErr), errors.As(err, &alertErr), errors.As(err, &recordErr),
		strings.Contains(msg, "tls: "), strings.Contains(msg, "x509: "),
		strings.Contains(msg, "TLS negotiation failed"):
		return classed(ErrTLS, err, msg)
	}

	var (
		dnsErr *net.DNSError
		opErr  *net.OpError
	)
	switch {
	case errors.As(err, &dnsErr):
		return classed(ErrUnreachable, err, msg)
	case errors.Is(err, syscall.ECONNREFUSED):
		return classed(ErrUnreachable, err, "connection refused: "+msg)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return classed(ErrUnreachable, err, "timed out: "+msg)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE), errors.Is(err, net.ErrClosed):
		return classed(ErrUnreachable, err, "connection closed during login: "+msg)
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return classed(ErrUnreachable, err, msg)
	case strings.Contains(msg, "no xmpp service found"):
		return classed(ErrUnreachable, err, msg)
	}

	var (
		streamErr stream.Error
		stanzaErr stanza.Error
	)
	switch {
	case errors.As(err, &streamErr):
		return classed(ErrProtocol, err, "stream error: "+streamErrorText(streamErr))
	case errors.As(err, &stanzaErr):
		return classed(ErrProtocol, err, "server refused: "+string(stanzaErr.Condition)+textSuffix(stanzaErr.Error(), string(stanzaErr.Condition)))
	case strings.Contains(msg, "no matching SASL mechanisms"):
		return classed(ErrProtocol, err, "the server offers no login mechanism we support")
	}
	return classed(ErrProtocol, err, msg)
}

func streamErrorText(e stream.Error) string {
	s := e.Err
	for _, t := range e.Text {
		if t.Value != "" {
			return s + ": " + t.Value
		}
	}
	return s
}

// textSuffix returns ": text" unless text only repeats the condition.
func textSuffix(text, cond string) string {
	if text == "" || text == cond {
		return ""
	}
	return ": " + text
}
