package proto

import (
	"encoding/xml"
	"fmt"
)

// Retract builds a XEP-0425 moderation request (IQ set to the room) that
// retracts the message with the given stanza-id, in the namespace the room
// advertises (policies.Features.Moderation):
//   - NSModerate0 (Prosody 0.12 with mod_muc_moderation):
//     <apply-to xmlns=fasten:0 id><moderate xmlns=…:0><retract xmlns=message-retract:0/><reason/>
//   - NSModerate1: <moderate xmlns=…:1 id><retract xmlns=message-retract:1/><reason/>
//
// Any other ns is an error.
func Retract(ns, stanzaID, reason string) (xml.TokenReader, error) {
	switch ns {
	case NSModerate0:
		return elem(NSFasten, "apply-to", []xml.Attr{attr("id", stanzaID)},
			elem(NSModerate0, "moderate", nil,
				elem(NSRetract0, "retract", nil),
				textElem("reason", reason))), nil
	case NSModerate1:
		return elem(NSModerate1, "moderate", []xml.Attr{attr("id", stanzaID)},
			elem(NSRetract1, "retract", nil),
			textElem("reason", reason)), nil
	}
	return nil, fmt.Errorf("proto: retract: unknown moderation namespace %q", ns)
}
