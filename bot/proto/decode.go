package proto

import (
	"bytes"
	"cmp"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"mellium.im/xmlstream"
)

// Decode decodes one stanza. start is the stanza's start element; r yields
// the stanza either from start itself (as mellium's mux handlers get it) or
// from just after it (as a Session.Serve handler gets it); both are accepted.
// r is read up to the stanza's end element. Decode does not validate JIDs.
func Decode(start xml.StartElement, r xml.TokenReader) (Inbound, error) {
	first, err := r.Token()
	if err != nil && err != io.EOF {
		return envelope(start), fmt.Errorf("proto: decode %s: %w", start.Name.Local, err)
	}
	rest := eofAfter(r, err)
	src := xmlstream.MultiReader(xmlstream.Token(start), rest)
	if first != nil && !sameStart(first, start) {
		src = xmlstream.MultiReader(xmlstream.Token(start), xmlstream.Token(first), rest)
	}
	return decode(start, &closer{r: src, end: start.End()})
}

// DecodeReader reads the next stanza from r, skipping leading whitespace.
func DecodeReader(r xml.TokenReader) (Inbound, error) {
	for {
		tok, err := r.Token()
		if start, ok := tok.(xml.StartElement); ok {
			return decode(start, &closer{r: xmlstream.MultiReader(xmlstream.Token(start), eofAfter(r, err)), end: start.End()})
		}
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return Inbound{}, fmt.Errorf("proto: decode: %w", err)
		}
	}
}

// DecodeBytes decodes one serialised stanza (tests, fuzzing, replay).
func DecodeBytes(b []byte) (Inbound, error) {
	return DecodeReader(xml.NewDecoder(bytes.NewReader(b)))
}

// eofAfter returns r, or nothing when the token that was read first already
// came with io.EOF.
func eofAfter(r xml.TokenReader, err error) xml.TokenReader {
	if err == io.EOF {
		return xmlstream.MultiReader()
	}
	return r
}

func sameStart(tok xml.Token, start xml.StartElement) bool {
	s, ok := tok.(xml.StartElement)
	if !ok || s.Name != start.Name || len(s.Attr) != len(start.Attr) {
		return false
	}
	for i := range s.Attr {
		if s.Attr[i] != start.Attr[i] {
			return false
		}
	}
	return true
}

// closer supplies the stanza's end element when r ends right after the
// stanza's content (a reader made by xmlstream.Inner), and stops at the
// stanza's end so that nothing after it is read.
type closer struct {
	r     xml.TokenReader
	end   xml.EndElement
	depth int
	done  bool
}

func (c *closer) Token() (xml.Token, error) {
	if c.done {
		return nil, io.EOF
	}
	tok, err := c.r.Token()
	switch tok.(type) {
	case xml.StartElement:
		c.depth++
	case xml.EndElement:
		c.depth--
		if c.depth == 0 {
			c.done = true
			return tok, nil
		}
	}
	if tok == nil && err == io.EOF && c.depth == 1 {
		c.done = true
		c.depth = 0
		return c.end, nil
	}
	if tok != nil && err == io.EOF {
		err = nil // the next call returns EOF again
	}
	return tok, err
}

// envelope reads the stanza attributes, raw.
func envelope(start xml.StartElement) Inbound {
	in := Inbound{Name: start.Name.Local}
	for _, a := range start.Attr {
		if a.Name.Space != "" && a.Name.Space != start.Name.Space {
			continue
		}
		switch a.Name.Local {
		case "type":
			in.Type = a.Value
		case "id":
			in.ID = a.Value
		case "from":
			in.From = a.Value
		case "to":
			in.To = a.Value
		}
	}
	return in
}

type wireID struct {
	ID string `xml:"id,attr"`
	By string `xml:"by,attr"`
}

type wireActor struct {
	Nick string `xml:"nick,attr"`
	JID  string `xml:"jid,attr"`
}

type wireItem struct {
	Affiliation string     `xml:"affiliation,attr"`
	Role        string     `xml:"role,attr"`
	JID         string     `xml:"jid,attr"`
	Nick        string     `xml:"nick,attr"`
	Reason      string     `xml:"reason"`
	Actor       *wireActor `xml:"actor"`
}

func (w wireItem) item() Item {
	it := Item{Affiliation: w.Affiliation, Role: w.Role, JID: w.JID, Nick: w.Nick, Reason: w.Reason}
	if w.Actor != nil {
		it.ActorNick, it.ActorJID = w.Actor.Nick, w.Actor.JID
	}
	return it
}

type wireStatus struct {
	Code string `xml:"code,attr"`
}

type wireInvite struct {
	From     string `xml:"from,attr"`
	Reason   string `xml:"reason"`
	Continue *struct {
		Thread string `xml:"thread,attr"`
	} `xml:"continue"`
}

type wireMUCUser struct {
	Items   []wireItem   `xml:"item"`
	Status  []wireStatus `xml:"status"`
	Destroy *struct {
		JID    string `xml:"jid,attr"`
		Reason string `xml:"reason"`
	} `xml:"destroy"`
	Invites  []wireInvite `xml:"invite"`
	Password string       `xml:"password"`
}

type wireConference struct {
	JID      string `xml:"jid,attr"`
	Reason   string `xml:"reason,attr"`
	Password string `xml:"password,attr"`
	Continue string `xml:"continue,attr"`
	Thread   string `xml:"thread,attr"`
	Text     string `xml:",chardata"`
}

type wireAny struct {
	XMLName xml.Name
	Text    string `xml:",chardata"`
}

type wireError struct {
	Type     string    `xml:"type,attr"`
	By       string    `xml:"by,attr"`
	Children []wireAny `xml:",any"`
}

func (w *wireError) error() *Error {
	e := &Error{Type: w.Type, By: w.By}
	var fallback string
	for _, c := range w.Children {
		switch {
		case c.XMLName.Local == "text":
			if e.Text == "" || c.XMLName.Space == NSStanzas {
				e.Text = strings.TrimSpace(c.Text)
			}
		case c.XMLName.Space == NSStanzas:
			if e.Condition == "" {
				e.Condition = c.XMLName.Local
			}
		case fallback == "":
			fallback = c.XMLName.Local
		}
	}
	if e.Condition == "" {
		e.Condition = fallback
	}
	return e
}

type wireReport struct {
	Reason string    `xml:"reason,attr"`
	Spam   *struct{} `xml:"spam"`
	Abuse  *struct{} `xml:"abuse"`
	Text   []string  `xml:"text"`
}

type wirePubsubItem struct {
	ID        string      `xml:"id,attr"`
	Publisher string      `xml:"publisher,attr"`
	Report1   *wireReport `xml:"urn:xmpp:reporting:1 report"`
	Report0   *wireReport `xml:"urn:xmpp:reporting:0 report"`
}

func (w wirePubsubItem) item() PubsubItem {
	it := PubsubItem{ID: w.ID, Publisher: w.Publisher}
	rep := w.Report1
	if rep == nil {
		rep = w.Report0
	}
	if rep == nil {
		return it
	}
	it.ReportReason = rep.Reason
	switch {
	case it.ReportReason != "":
	case rep.Spam != nil:
		it.ReportReason = ReasonSpam
	case rep.Abuse != nil:
		it.ReportReason = ReasonAbuse
	}
	for _, t := range rep.Text {
		if t = strings.TrimSpace(t); t != "" {
			it.ReportText = t
			break
		}
	}
	return it
}

func pubsubItems(ws []wirePubsubItem) []PubsubItem {
	if len(ws) == 0 {
		return nil
	}
	out := make([]PubsubItem, len(ws))
	for i, w := range ws {
		out[i] = w.item()
	}
	return out
}

type wireEvent struct {
	Items []struct {
		Node     string           `xml:"node,attr"`
		Items    []wirePubsubItem `xml:"item"`
		Retracts []wireID         `xml:"retract"`
	} `xml:"items"`
	Purge *struct {
		Node string `xml:"node,attr"`
	} `xml:"purge"`
	Delete *struct {
		Node string `xml:"node,attr"`
	} `xml:"delete"`
}

type wireModerated struct {
	By         string    `xml:"by,attr"`
	OccupantID *wireID   `xml:"urn:xmpp:occupant-id:0 occupant-id"`
	Retract0   *struct{} `xml:"urn:xmpp:message-retract:0 retract"`
	Reason     string    `xml:"reason"`
}

type wireApplyTo struct {
	ID        string         `xml:"id,attr"`
	Moderated *wireModerated `xml:"urn:xmpp:message-moderate:0 moderated"`
}

type wireRetract1 struct {
	ID        string         `xml:"id,attr"`
	Moderated *wireModerated `xml:"urn:xmpp:message-moderate:1 moderated"`
	Reason    string         `xml:"reason"`
}

// wireStanza is everything Steward reads from a presence or message; one
// DecodeElement fills it in a single pass.
type wireStanza struct {
	Show       []string        `xml:"show"`
	Status     []string        `xml:"status"`
	Body       []string        `xml:"body"`
	Subject    *string         `xml:"subject"`
	Thread     string          `xml:"thread"`
	Error      *wireError      `xml:"error"`
	MUCUser    []wireMUCUser   `xml:"http://jabber.org/protocol/muc#user x"`
	Conference *wireConference `xml:"jabber:x:conference x"`
	Forms      []Form          `xml:"jabber:x:data x"`
	StanzaIDs  []wireID        `xml:"urn:xmpp:sid:0 stanza-id"`
	OriginID   *wireID         `xml:"urn:xmpp:sid:0 origin-id"`
	OccupantID *wireID         `xml:"urn:xmpp:occupant-id:0 occupant-id"`
	Delay      *struct {
		Stamp string `xml:"stamp,attr"`
	} `xml:"urn:xmpp:delay delay"`
	Event    *wireEvent    `xml:"http://jabber.org/protocol/pubsub#event event"`
	ApplyTo  *wireApplyTo  `xml:"urn:xmpp:fasten:0 apply-to"`
	Retract1 *wireRetract1 `xml:"urn:xmpp:message-retract:1 retract"`
}

func (w *wireStanza) mucUser() (present bool, items []Item, codes []int) {
	for _, x := range w.MUCUser {
		for _, it := range x.Items {
			items = append(items, it.item())
		}
		for _, s := range x.Status {
			// Junk codes are dropped, not fatal: one bad attribute must not
			// hide the rest of the presence.
			if c, err := strconv.Atoi(strings.TrimSpace(s.Code)); err == nil {
				codes = append(codes, c)
			}
		}
	}
	return len(w.MUCUser) > 0, items, codes
}

func first(ss []string) string {
	if len(ss) == 0 {
		return ""
	}
	return ss[0]
}

func decode(start xml.StartElement, r xml.TokenReader) (Inbound, error) {
	in := envelope(start)
	if in.Name != "presence" && in.Name != "message" {
		return in, nil
	}
	var w wireStanza
	d := xml.NewTokenDecoder(r)
	if _, err := d.Token(); err != nil { // the start element itself
		return in, fmt.Errorf("proto: decode %s: %w", in.Name, err)
	}
	if err := d.DecodeElement(&w, &start); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return in, fmt.Errorf("proto: decode %s: %w", in.Name, err)
	}
	var e *Error
	if w.Error != nil {
		e = w.Error.error()
	}
	muc, items, codes := w.mucUser()
	if in.Name == "presence" {
		p := &Presence{Type: in.Type, MUC: muc, Items: items, Codes: codes,
			Show: first(w.Show), Status: first(w.Status), Error: e}
		if w.OccupantID != nil {
			p.OccupantID = w.OccupantID.ID
		}
		for _, x := range w.MUCUser {
			if x.Destroy != nil {
				p.Destroy = &Destroy{JID: x.Destroy.JID, Reason: x.Destroy.Reason}
				break
			}
		}
		in.Presence = p
		return in, nil
	}
	m := &Message{Type: in.Type, Body: first(w.Body), Subject: w.Subject, Thread: w.Thread,
		MUC: muc, Items: items, Codes: codes, Error: e}
	if m.Type == "" {
		m.Type = "normal"
	}
	m.StanzaID, m.StanzaIDBy = pickStanzaID(w.StanzaIDs, in.From)
	if w.OriginID != nil {
		m.OriginID = w.OriginID.ID
	}
	if w.OccupantID != nil {
		m.OccupantID = w.OccupantID.ID
	}
	if w.Delay != nil {
		m.Delayed, m.DelayStamp = true, w.Delay.Stamp
	}
	m.VoiceRequest = voiceRequest(w.Forms)
	m.Invite = mediatedInvite(w.MUCUser, in.From)
	if c := w.Conference; c != nil {
		reason := c.Reason
		if reason == "" {
			reason = strings.TrimSpace(c.Text) // Prosody's copy puts the reason in the text
		}
		m.DirectInvite = &Invite{From: in.From, Room: c.JID, Reason: reason, Password: c.Password,
			Continue: parseBool(c.Continue), Thread: c.Thread}
	}
	m.Event = pubsubEvent(w.Event)
	m.Moderation = moderation(w.ApplyTo, w.Retract1)
	in.Message = m
	return in, nil
}

// pickStanzaID prefers the stanza-id set by the sender's bare address (the
// room for groupchat); a user's own server may add another.
func pickStanzaID(ids []wireID, from string) (id, by string) {
	if len(ids) == 0 {
		return "", ""
	}
	bare := BareOf(from)
	for _, s := range ids {
		if BareOf(s.By) == bare {
			return s.ID, s.By
		}
	}
	return ids[0].ID, ids[0].By
}

func voiceRequest(forms []Form) *VoiceRequest {
	for _, f := range forms {
		if f.FormType() != NSMUCRequest {
			continue
		}
		return &VoiceRequest{
			JID:   f.Value("muc#jid"),
			Nick:  f.Value("muc#roomnick"),
			Role:  f.Value("muc#role"),
			Allow: f.Bool("muc#request_allow"),
			Form:  f.Map(),
		}
	}
	return nil
}

func mediatedInvite(xs []wireMUCUser, room string) *Invite {
	for _, x := range xs {
		if len(x.Invites) == 0 {
			continue
		}
		inv := x.Invites[0]
		out := &Invite{Mediated: true, From: inv.From, Room: room, Reason: strings.TrimSpace(inv.Reason), Password: x.Password}
		if inv.Continue != nil {
			out.Continue, out.Thread = true, inv.Continue.Thread
		}
		return out
	}
	return nil
}

func pubsubEvent(w *wireEvent) *PubsubEvent {
	if w == nil {
		return nil
	}
	ev := &PubsubEvent{}
	for _, its := range w.Items {
		if ev.Node == "" {
			ev.Node = its.Node
		}
		ev.Items = append(ev.Items, pubsubItems(its.Items)...)
		for _, r := range its.Retracts {
			ev.Retracts = append(ev.Retracts, r.ID)
		}
	}
	if w.Purge != nil {
		ev.Purge = true
		if ev.Node == "" {
			ev.Node = w.Purge.Node
		}
	}
	if w.Delete != nil {
		ev.Delete = true
		if ev.Node == "" {
			ev.Node = w.Delete.Node
		}
	}
	return ev
}

func moderation(v0 *wireApplyTo, v1 *wireRetract1) *Moderation {
	var m *Moderation
	if v0 != nil && v0.Moderated != nil {
		md := v0.Moderated
		m = &Moderation{NS: NSModerate0, ID: v0.ID, By: md.By, Reason: strings.TrimSpace(md.Reason), Retract: md.Retract0 != nil}
		if md.OccupantID != nil {
			m.ByOccupantID = md.OccupantID.ID
		}
	}
	if v1 != nil && v1.Moderated != nil {
		md := v1.Moderated
		m1 := &Moderation{NS: NSModerate1, ID: v1.ID, By: md.By, Reason: strings.TrimSpace(v1.Reason), Retract: true}
		if md.OccupantID != nil {
			m1.ByOccupantID = md.OccupantID.ID
		}
		if m != nil { // newer Prosody sends both shapes: fill gaps from v0
			m1.By = cmp.Or(m1.By, m.By)
			m1.ByOccupantID = cmp.Or(m1.ByOccupantID, m.ByOccupantID)
			m1.Reason = cmp.Or(m1.Reason, m.Reason)
			m1.ID = cmp.Or(m1.ID, m.ID)
		}
		m = m1
	}
	return m
}
