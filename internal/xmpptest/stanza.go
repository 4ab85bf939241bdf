package xmpptest

import (
	"encoding/xml"
	"slices"
	"strconv"
	"strings"
)

// Namespaces the parsed view understands.
const (
	NSMUC        = "http://jabber.org/protocol/muc"
	NSMUCUser    = "http://jabber.org/protocol/muc#user"
	NSMUCAdmin   = "http://jabber.org/protocol/muc#admin"
	NSMUCOwner   = "http://jabber.org/protocol/muc#owner"
	NSMUCRequest = "http://jabber.org/protocol/muc#request"
	NSForm       = "jabber:x:data"
	NSConference = "jabber:x:conference"
	NSStanzas    = "urn:ietf:params:xml:ns:xmpp-stanzas"
	NSOccupantID = "urn:xmpp:occupant-id:0"
	NSStanzaID   = "urn:xmpp:sid:0"
	NSDelay      = "urn:xmpp:delay"
	nsClient     = "jabber:client"
)

// Stanza is one received <message/> or <presence/>: the XML as received and
// a light parsed view of the parts tests look at.
type Stanza struct {
	Raw string // re-rendered XML, namespaces declared once

	Name, Type, ID, From, To string

	Body       string
	Subject    string
	HasSubject bool // a <subject/> was present, even empty (end of MUC history)
	Delayed    bool // carries XEP-0203 <delay/>

	Status  []int  // muc#user status codes
	Items   []Item // muc#user items
	Invite  *Invite
	Destroy bool // muc#user <destroy/>

	Conference *Invite // XEP-0249 direct invitation (jabber:x:conference)

	Error     string // stanza error condition, e.g. "forbidden"
	ErrorText string

	FormType string              // the jabber:x:data form's type attribute
	Form     map[string][]string // its fields by var; nil without a form

	OccupantID string // XEP-0421
	StanzaID   string // XEP-0359 stanza-id
	StanzaBy   string // …and who assigned it
}

// Item is a muc#user <item/>.
type Item struct {
	Role, Affiliation, JID, Nick, Reason, ActorNick string
}

// Invite is a mediated invitation (muc#user) or a direct one (XEP-0249).
type Invite struct {
	From, To, JID, Reason string
}

// HasStatus reports whether the muc#user status code is present.
func (s Stanza) HasStatus(code int) bool { return slices.Contains(s.Status, code) }

// Bare is From without its resource (text split: no JID parsing).
func (s Stanza) Bare() string {
	bare, _, _ := strings.Cut(s.From, "/")
	return bare
}

// Nick is From's resource, an occupant's nick for MUC stanzas.
func (s Stanza) Nick() string {
	_, nick, _ := strings.Cut(s.From, "/")
	return nick
}

// FormValue is the first value of a form field, or "".
func (s Stanza) FormValue(v string) string {
	if vals := s.Form[v]; len(vals) > 0 {
		return vals[0]
	}
	return ""
}

// String is a one-line summary for failure messages.
func (s Stanza) String() string {
	var b strings.Builder
	b.WriteString("<" + s.Name)
	for _, kv := range [][2]string{{"type", s.Type}, {"from", s.From}, {"id", s.ID}} {
		if kv[1] != "" {
			b.WriteString(" " + kv[0] + "=" + strconv.Quote(kv[1]))
		}
	}
	b.WriteString(">")
	if len(s.Status) > 0 {
		b.WriteString(" status=" + strings.Join(intsToStrings(s.Status), ","))
	}
	if s.Error != "" {
		b.WriteString(" error=" + s.Error)
	}
	if s.Body != "" {
		b.WriteString(" body=" + strconv.Quote(s.Body))
	}
	return b.String()
}

func intsToStrings(v []int) []string {
	out := make([]string, len(v))
	for i, n := range v {
		out[i] = strconv.Itoa(n)
	}
	return out
}

// node is a generic element tree.
type node struct {
	XMLName  xml.Name
	Attrs    []xml.Attr `xml:",any,attr"`
	Children []node     `xml:",any"`
	Text     string     `xml:",chardata"`
}

func (n node) attr(name string) string {
	for _, a := range n.Attrs {
		if a.Name.Local == name && a.Name.Space == "" {
			return a.Value
		}
	}
	return ""
}

func (n node) child(space, local string) (node, bool) {
	for _, c := range n.Children {
		if c.XMLName.Local == local && (space == "" || c.XMLName.Space == space) {
			return c, true
		}
	}
	return node{}, false
}

func (n node) children(space, local string) []node {
	var out []node
	for _, c := range n.Children {
		if c.XMLName.Local == local && (space == "" || c.XMLName.Space == space) {
			out = append(out, c)
		}
	}
	return out
}

// parse builds the view of a decoded stanza.
func parse(n node) Stanza {
	s := Stanza{
		Raw:  render(n),
		Name: n.XMLName.Local,
		Type: n.attr("type"), ID: n.attr("id"), From: n.attr("from"), To: n.attr("to"),
	}
	if b, ok := n.child(nsClient, "body"); ok {
		s.Body = b.Text
	}
	if sub, ok := n.child(nsClient, "subject"); ok {
		s.Subject, s.HasSubject = sub.Text, true
	}
	_, s.Delayed = n.child(NSDelay, "delay")
	if x, ok := n.child(NSMUCUser, "x"); ok {
		for _, st := range x.children(NSMUCUser, "status") {
			if code, err := strconv.Atoi(st.attr("code")); err == nil {
				s.Status = append(s.Status, code)
			}
		}
		for _, it := range x.children(NSMUCUser, "item") {
			item := Item{Role: it.attr("role"), Affiliation: it.attr("affiliation"), JID: it.attr("jid"), Nick: it.attr("nick")}
			if r, ok := it.child(NSMUCUser, "reason"); ok {
				item.Reason = r.Text
			}
			if a, ok := it.child(NSMUCUser, "actor"); ok {
				item.ActorNick = a.attr("nick")
			}
			s.Items = append(s.Items, item)
		}
		if inv, ok := x.child(NSMUCUser, "invite"); ok {
			s.Invite = &Invite{From: inv.attr("from"), To: inv.attr("to")}
			if r, ok := inv.child(NSMUCUser, "reason"); ok {
				s.Invite.Reason = r.Text
			}
		}
		_, s.Destroy = x.child(NSMUCUser, "destroy")
	}
	if x, ok := n.child(NSConference, "x"); ok {
		s.Conference = &Invite{JID: x.attr("jid"), Reason: x.attr("reason")}
	}
	if e, ok := n.child(nsClient, "error"); ok {
		for _, c := range e.Children {
			if c.XMLName.Space != NSStanzas {
				continue
			}
			if c.XMLName.Local == "text" {
				s.ErrorText = c.Text
			} else if s.Error == "" {
				s.Error = c.XMLName.Local
			}
		}
	}
	if x, ok := n.child(NSForm, "x"); ok {
		s.FormType = x.attr("type")
		s.Form = map[string][]string{}
		for _, f := range x.children(NSForm, "field") {
			vals := []string{}
			for _, v := range f.children(NSForm, "value") {
				vals = append(vals, v.Text)
			}
			s.Form[f.attr("var")] = vals
		}
	}
	if o, ok := n.child(NSOccupantID, "occupant-id"); ok {
		s.OccupantID = o.attr("id")
	}
	if sid, ok := n.child(NSStanzaID, "stanza-id"); ok {
		s.StanzaID, s.StanzaBy = sid.attr("id"), sid.attr("by")
	}
	return s
}

// render writes n as XML, declaring a namespace only where it changes (the
// token re-encoding route would repeat xmlns on every element).
func render(n node) string {
	var b strings.Builder
	renderNode(&b, n, "")
	return b.String()
}

func renderNode(b *strings.Builder, n node, parentNS string) {
	b.WriteString("<" + n.XMLName.Local)
	if n.XMLName.Space != parentNS {
		b.WriteString(` xmlns="`)
		escape(b, n.XMLName.Space)
		b.WriteString(`"`)
	}
	for _, a := range n.Attrs {
		if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
			continue
		}
		name := a.Name.Local
		if a.Name.Space == "http://www.w3.org/XML/1998/namespace" {
			name = "xml:" + name
		} else if a.Name.Space != "" {
			continue // foreign attributes are rare in stanzas; the view ignores them too
		}
		b.WriteString(" " + name + `="`)
		escape(b, a.Value)
		b.WriteString(`"`)
	}
	if len(n.Children) == 0 && n.Text == "" {
		b.WriteString("/>")
		return
	}
	b.WriteString(">")
	if len(n.Children) == 0 {
		escape(b, n.Text)
	}
	for _, c := range n.Children {
		renderNode(b, c, n.XMLName.Space)
	}
	b.WriteString("</" + n.XMLName.Local + ">")
}

func escape(b *strings.Builder, s string) {
	_ = xml.EscapeText(b, []byte(s))
}
