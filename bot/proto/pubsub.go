package proto

import (
	"encoding/xml"
	"strconv"
)

// The functions below build XEP-0060 IQ payloads for a pubsub service (wrap
// them in an IQ addressed to the service, not to the account's PEP).

func pubsub(children ...xml.TokenReader) xml.TokenReader {
	return elem(NSPubsub, "pubsub", nil, children...)
}

// Subscribe subscribes jid to node (IQ set). Subscribe with the bare JID so
// the subscription survives reconnects; events then need initial presence.
// Decode the reply into PubsubReply.
func Subscribe(node, jid string) xml.TokenReader {
	return pubsub(elem("", "subscribe", []xml.Attr{attr("node", node), attr("jid", jid)}))
}

// Unsubscribe removes jid's subscription to node (IQ set).
func Unsubscribe(node, jid string) xml.TokenReader {
	return pubsub(elem("", "unsubscribe", []xml.Attr{attr("node", node), attr("jid", jid)}))
}

// ItemsQuery fetches a node's items (IQ get); max <= 0 asks for all. Decode
// the reply with DecodeItems or into PubsubReply.
func ItemsQuery(node string, max int) xml.TokenReader {
	a := []xml.Attr{attr("node", node)}
	if max > 0 {
		a = append(a, attr("max_items", strconv.Itoa(max)))
	}
	return pubsub(elem("", "items", a))
}

// Report is a XEP-0377 report, the payload recommended for RTBL items.
// mod_muc_rtbl reads only the item id (the hash); the report is for people.
type Report struct {
	// Reason is ReasonSpam or ReasonAbuse; "" means ReasonAbuse.
	Reason string
	Text   string
}

func (r Report) element() xml.TokenReader {
	reason := r.Reason
	if reason == "" {
		reason = ReasonAbuse
	}
	return elem(NSReporting1, "report", []xml.Attr{attr("reason", reason)}, textElem("text", r.Text))
}

// Publish publishes one item (IQ set). A nil report publishes a report with
// reason abuse and no text: Prosody's pubsub stores the item's first child as
// its payload and an item needs one.
func Publish(node, id string, report *Report) xml.TokenReader {
	var rep Report
	if report != nil {
		rep = *report
	}
	return pubsub(elem("", "publish", []xml.Attr{attr("node", node)},
		elem("", "item", attrs("id", id), rep.element())))
}

// RetractItem deletes an item (IQ set); notify asks the service to tell
// subscribers (they get a <retract/> event, which un-lists an RTBL entry).
func RetractItem(node, id string, notify bool) xml.TokenReader {
	a := []xml.Attr{attr("node", node)}
	if notify {
		a = append(a, attr("notify", "true"))
	}
	return pubsub(elem("", "retract", a, elem("", "item", []xml.Attr{attr("id", id)})))
}

// CreateNode creates a node (IQ set) with a node_config form holding only
// the given fields, e.g. pubsub#access_model=open, pubsub#persist_items=1,
// pubsub#max_items=max. No fields: the service's defaults.
func CreateNode(node string, fields map[string][]string) xml.TokenReader {
	create := elem("", "create", []xml.Attr{attr("node", node)})
	if len(fields) == 0 {
		return pubsub(create)
	}
	return pubsub(create, elem("", "configure", nil, SubmitForm(NSPubsubConfig, fields)))
}

// Subscription is the <subscription> of a subscribe or unsubscribe reply.
type Subscription struct {
	Node  string `json:"node,omitempty"`
	JID   string `json:"jid,omitempty"`
	SubID string `json:"subid,omitempty"`
	// State is subscribed, pending, unconfigured or none.
	State string `json:"subscription,omitempty"`
}

// PubsubReply is a pubsub <pubsub> reply payload.
type PubsubReply struct {
	Subscription *Subscription
	// Node and Items come from <items>. Items are matched by local name:
	// Prosody's local pubsub returns stored items in another namespace.
	Node  string
	Items []PubsubItem
}

// UnmarshalXML decodes a pubsub <pubsub> element.
func (p *PubsubReply) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	var w struct {
		Subscription *struct {
			Node  string `xml:"node,attr"`
			JID   string `xml:"jid,attr"`
			SubID string `xml:"subid,attr"`
			State string `xml:"subscription,attr"`
		} `xml:"subscription"`
		Items *struct {
			Node  string           `xml:"node,attr"`
			Items []wirePubsubItem `xml:"item"`
		} `xml:"items"`
	}
	if err := d.DecodeElement(&w, &start); err != nil {
		return err
	}
	*p = PubsubReply{}
	if s := w.Subscription; s != nil {
		p.Subscription = &Subscription{Node: s.Node, JID: s.JID, SubID: s.SubID, State: s.State}
	}
	if w.Items != nil {
		p.Node, p.Items = w.Items.Node, pubsubItems(w.Items.Items)
	}
	return nil
}

// DecodeItems finds the pubsub element in r (a whole IQ reply or the
// payload alone) and returns its items.
func DecodeItems(r xml.TokenReader) ([]PubsubItem, error) {
	var p PubsubReply
	err := decodeFirst(r, xml.Name{Space: NSPubsub, Local: "pubsub"}, &p)
	return p.Items, err
}
