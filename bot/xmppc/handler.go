package xmppc

import (
	"encoding/xml"
	"slices"

	"go.uber.org/zap"
	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	"mellium.im/xmpp/stanza"
)

// Namespaces the receive loop answers itself.
const (
	NSPing      = "urn:xmpp:ping"
	NSDiscoInfo = "http://jabber.org/protocol/disco#info"
)

// Identity is what disco#info says we are.
const (
	identityCategory = "client"
	identityType     = "bot"
	identityName     = "Steward"
)

// discoFeatures merges the configured features with the ones the receive
// loop implements, sorted and without duplicates.
func discoFeatures(extra []string) []string {
	f := append([]string{NSPing, NSDiscoInfo}, extra...)
	slices.Sort(f)
	return slices.Compact(f)
}

// handler wraps the user's StanzaHandler so that nothing a remote entity
// sends can end the session. mellium ends the session on any handler error
// (session.go:478), and its mux returns one for a from address that fails
// PRECIS (bug B6), so we use no mux: the handler routes by element name,
// recovers panics and always returns nil.
func (s *Session) handler(user StanzaHandler) xmpp.Handler {
	return xmpp.HandlerFunc(func(t xmlstream.TokenReadEncoder, start *xml.StartElement) (err error) {
		if start.Name.Space != stanza.NSClient {
			return nil // stream-level elements (e.g. stream management) are not ours
		}
		switch start.Name.Local {
		case "iq":
			s.handleIQ(t, *start)
		case "message", "presence":
			if user == nil {
				return nil
			}
			defer func() {
				if r := recover(); r != nil {
					s.log.Error("stanza handler panicked; stanza dropped",
						zap.String("stanza", start.Name.Local),
						zap.String("from", attrValue(start.Attr, "from")),
						zap.Any("panic", r), zap.Stack("stack"))
				}
			}()
			// mellium hands over the stanza after its start element; put it
			// back so the user can decode with a fresh decoder.
			user(*start, xmlstream.MultiReader(xmlstream.Token(*start), t))
		}
		return nil
	})
}

// handleIQ answers get/set IQs through the handler's writer t. Writing the
// reply to t (not with Session.Send) matters twice: Serve then knows the IQ
// was answered and does not add its own service-unavailable, whose jid.Parse
// of the sender would end the session on an invalid from; and we never hold
// the output lock twice (pitfall 3).
func (s *Session) handleIQ(t xmlstream.TokenReadEncoder, start xml.StartElement) {
	typ := attrValue(start.Attr, "type")
	if typ != string(stanza.GetIQ) && typ != string(stanza.SetIQ) {
		// A result or error whose waiter gave up: nobody wants it.
		s.log.Debug("late iq reply dropped", zap.String("id", attrValue(start.Attr, "id")), zap.String("type", typ))
		return
	}
	replied := false
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("iq handler panicked", zap.Any("panic", r), zap.Stack("stack"))
			if !replied {
				_ = writeIQReply(t, start, stanza.ErrorIQ, stanza.Error{Type: stanza.Wait, Condition: stanza.InternalServerError}.TokenReader())
			}
		}
	}()

	payload, ok := firstChild(t)
	var reply xml.TokenReader
	replyType := stanza.ResultIQ
	switch {
	case ok && typ == string(stanza.GetIQ) && payload.Name == xml.Name{Space: NSPing, Local: "ping"}:
		reply = nil
	case ok && typ == string(stanza.GetIQ) && payload.Name == xml.Name{Space: NSDiscoInfo, Local: "query"}:
		if node := attrValue(payload.Attr, "node"); node != "" {
			replyType = stanza.ErrorIQ
			reply = stanza.Error{Type: stanza.Cancel, Condition: stanza.ItemNotFound}.TokenReader()
		} else {
			reply = s.discoInfo()
		}
	default:
		replyType = stanza.ErrorIQ
		reply = stanza.Error{Type: stanza.Cancel, Condition: stanza.ServiceUnavailable}.TokenReader()
	}
	replied = true
	if err := writeIQReply(t, start, replyType, reply); err != nil {
		s.log.Debug("iq reply not written", zap.Error(err))
	}
}

// firstChild reads up to the first child element of the current stanza.
func firstChild(r xml.TokenReader) (xml.StartElement, bool) {
	for {
		tok, err := r.Token()
		if err != nil {
			return xml.StartElement{}, false
		}
		switch tt := tok.(type) {
		case xml.StartElement:
			return tt, true
		case xml.EndElement:
			return xml.StartElement{}, false
		}
	}
}

// writeIQReply answers the IQ start. The sender's address is echoed as
// text, so replies reach entities whose JIDs mellium could not parse.
func writeIQReply(w xmlstream.TokenWriter, req xml.StartElement, typ stanza.IQType, payload xml.TokenReader) error {
	attrs := []xml.Attr{
		{Name: xml.Name{Local: "type"}, Value: string(typ)},
		{Name: xml.Name{Local: "id"}, Value: attrValue(req.Attr, "id")},
	}
	if from := attrValue(req.Attr, "from"); from != "" {
		attrs = append(attrs, xml.Attr{Name: xml.Name{Local: "to"}, Value: from})
	}
	_, err := xmlstream.Copy(w, xmlstream.Wrap(payload, xml.StartElement{Name: xml.Name{Local: "iq"}, Attr: attrs}))
	return err
}

// discoInfo is the disco#info result payload.
func (s *Session) discoInfo() xml.TokenReader {
	parts := []xml.TokenReader{
		xmlstream.Wrap(nil, xml.StartElement{Name: xml.Name{Local: "identity"}, Attr: []xml.Attr{
			{Name: xml.Name{Local: "category"}, Value: identityCategory},
			{Name: xml.Name{Local: "type"}, Value: identityType},
			{Name: xml.Name{Local: "name"}, Value: identityName},
		}}),
	}
	for _, f := range s.features {
		parts = append(parts, xmlstream.Wrap(nil, xml.StartElement{Name: xml.Name{Local: "feature"}, Attr: []xml.Attr{
			{Name: xml.Name{Local: "var"}, Value: f},
		}}))
	}
	return xmlstream.Wrap(xmlstream.MultiReader(parts...), xml.StartElement{Name: xml.Name{Space: NSDiscoInfo, Local: "query"}})
}

// attrValue returns the value of the unqualified attribute name, or "".
func attrValue(attrs []xml.Attr, name string) string {
	for _, a := range attrs {
		if a.Name.Local == name && a.Name.Space == "" {
			return a.Value
		}
	}
	return ""
}
