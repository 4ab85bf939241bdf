// Package builtin lists Steward's policies in evaluation order. Adding a
// policy means one folder plus one line here; there is no init() registry.
package builtin

import (
	"github.com/steward-xmpp/steward/policies"
	"github.com/steward-xmpp/steward/rtbl"
	"github.com/steward-xmpp/steward/vetting"
)

// Services are the process-wide services some policies need. A nil RTBL
// service gives specs good for decoding and validating config only.
type Services struct {
	RTBL *rtbl.Service
}

// Specs returns every built-in policy. Order matters: an earlier policy may
// Stop an event before later ones see it.
func Specs(s Services) []policies.Spec {
	return []policies.Spec{
		rtbl.Spec(s.RTBL), // remove listed joiners before anyone greets or queues them
		vetting.Spec,
	}
}
