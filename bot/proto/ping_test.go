package proto

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"mellium.im/xmpp/stanza"
)

func TestSelfPingVerdict(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"result", nil, true},
		{"not joined", stanza.Error{Type: stanza.Cancel, Condition: stanza.NotAcceptable}, false},
		{"room gone", stanza.Error{Type: stanza.Cancel, Condition: stanza.ItemNotFound}, false},
		{"client does not answer pings", stanza.Error{Type: stanza.Cancel, Condition: stanza.ServiceUnavailable}, true},
		{"client lacks ping", stanza.Error{Type: stanza.Cancel, Condition: stanza.FeatureNotImplemented}, true},
		{"remote server timeout", stanza.Error{Type: stanza.Wait, Condition: stanza.RemoteServerTimeout}, true},
		{"remote server not found", stanza.Error{Type: stanza.Cancel, Condition: stanza.RemoteServerNotFound}, true},
		{"wrapped stanza error", fmt.Errorf("ping: %w", stanza.Error{Condition: stanza.NotAcceptable}), false},
		{"own error type", &Error{Type: "cancel", Condition: "not-acceptable"}, false},
		{"own error, ok condition", &Error{Type: "cancel", Condition: "service-unavailable"}, true},
		{"our timeout is unknown", context.DeadlineExceeded, true},
		{"other error is unknown", errors.New("write: broken pipe"), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := SelfPingVerdict(tc.err); got != tc.want {
				t.Errorf("SelfPingVerdict(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}
