package vetting

import (
	"fmt"

	"github.com/steward-xmpp/steward/policies"
)

var _ policies.Reporter = (*Policy)(nil)

// Report is vetting's line in `status`: the queue and open questions.
func (p *Policy) Report() string {
	if !p.loaded {
		return "queue not loaded yet (it loads on the room's first event)"
	}
	s := fmt.Sprintf("%d pending voice request(s), max %d", len(p.queue), p.eff.MaxPending)
	if n := len(p.asks); n > 0 {
		s += fmt.Sprintf(", %d question(s) awaiting an answer", n)
	}
	return s + ", vetting hours: " + p.hours.String()
}
