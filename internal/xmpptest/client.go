// Package xmpptest is a scripted XMPP client for integration tests and the
// demo: it logs in (plaintext, loopback), records every inbound message and
// presence, and offers the MUC moves a test needs (join, speak, request
// voice, configure, grant roles and affiliations, invite) plus waiters that
// look at what was already received, so tests never sleep.
//
// It does not reconnect and is not meant for production use.
//
//	owner, _ := xmpptest.Connect(ctx, p.Addr(), "owner@localhost", "pw")
//	defer owner.Close()
//	mark := owner.Mark()
//	owner.SendGroupchat(ctx, room, "hello")
//	st, err := owner.WaitAfter(ctx, mark, xmpptest.BodyIs("hello"))
package xmpptest

import (
	"context"
	"crypto/rand"
	"encoding/xml"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/steward-xmpp/steward/bot/xmppc"
)

// DefaultWait bounds a waiter whose ctx has no deadline.
const DefaultWait = 10 * time.Second

// Client is one logged-in test account.
type Client struct {
	s      *xmppc.Session
	served chan error

	closeOnce sync.Once
	closeErr  error

	mu      sync.Mutex
	buf     []Stanza
	changed chan struct{} // closed and replaced on every new stanza
}

// Connect logs in to addr (host:port, plaintext: loopback test servers only)
// as jidStr with pass, binds jidStr's resource (or "xmpptest"), starts
// receiving, and returns once the server has accepted our initial presence.
func Connect(ctx context.Context, addr, jidStr, pass string) (*Client, error) {
	j, err := jid.Parse(jidStr)
	if err != nil {
		return nil, fmt.Errorf("xmpptest: %w", err)
	}
	res := j.Resourcepart()
	if res == "" {
		res = "xmpptest"
	}
	s, err := xmppc.Dial(ctx, xmppc.Config{
		JID: j, Password: pass, Address: addr, TLS: xmppc.TLSInsecurePlain, Resource: res,
	}, zap.NewNop())
	if err != nil {
		return nil, err
	}
	c := &Client{s: s, served: make(chan error, 1), changed: make(chan struct{})}
	go func() { c.served <- s.Serve(c.record) }()
	// Wait for the server to reflect our initial presence: until it has,
	// messages to our bare JID (invitations) are bounced.
	id := newID()
	if err := c.SendRaw(ctx, `<presence id="`+id+`"/>`); err != nil {
		_ = c.Close()
		return nil, err
	}
	if _, err := c.WaitFor(ctx, func(st Stanza) bool { return st.Name == "presence" && st.ID == id }); err != nil {
		_ = c.Close()
		return nil, err
	}
	return c, nil
}

// record is the session's stanza handler.
func (c *Client) record(start xml.StartElement, r xml.TokenReader) {
	var n node
	if err := xml.NewTokenDecoder(r).Decode(&n); err != nil {
		n = node{XMLName: start.Name, Attrs: start.Attr, Text: "xmpptest: undecodable: " + err.Error()}
	}
	st := parse(n)
	c.mu.Lock()
	c.buf = append(c.buf, st)
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
}

// Addr is the bound full JID.
func (c *Client) Addr() jid.JID { return c.s.LocalAddr() }

// Session is the underlying connection, for IQs the helpers lack.
func (c *Client) Session() *xmppc.Session { return c.s }

// Close logs out and waits for the receive loop to end. Calling it again
// (e.g. a test's explicit Close and then its cleanup) returns the first
// result instead of waiting forever for a loop that has already ended.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		c.closeErr = c.s.Close()
		<-c.served
	})
	return c.closeErr
}

// Stanzas returns a copy of everything received so far.
func (c *Client) Stanzas() []Stanza {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.buf)
}

// Mark is the position after the last received stanza: WaitAfter(mark, …)
// only considers stanzas that arrive later.
func (c *Client) Mark() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.buf)
}

// WaitFor returns the first stanza received since Connect that matches
// pred, waiting for it if needed. Use Mark and WaitAfter when an earlier
// stanza could match too.
func (c *Client) WaitFor(ctx context.Context, pred func(Stanza) bool) (Stanza, error) {
	return c.WaitAfter(ctx, 0, pred)
}

// WaitAfter returns the first stanza at or after mark that matches pred,
// waiting until it arrives, ctx ends (DefaultWait without a deadline) or
// the connection drops.
func (c *Client) WaitAfter(ctx context.Context, mark int, pred func(Stanza) bool) (Stanza, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultWait)
		defer cancel()
	}
	i := mark
	for {
		c.mu.Lock()
		for ; i < len(c.buf); i++ {
			if pred(c.buf[i]) {
				st := c.buf[i]
				c.mu.Unlock()
				return st, nil
			}
		}
		changed := c.changed
		c.mu.Unlock()
		select {
		case <-changed:
		case <-c.s.Done():
			return Stanza{}, fmt.Errorf("xmpptest: %s: connection ended while waiting; received:\n%s", c.Addr(), c.summary(mark))
		case <-ctx.Done():
			return Stanza{}, fmt.Errorf("xmpptest: %s: no matching stanza (%w); received since mark:\n%s", c.Addr(), ctx.Err(), c.summary(mark))
		}
	}
}

// summary lists stanzas since mark for failure messages.
func (c *Client) summary(mark int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	for _, st := range c.buf[min(mark, len(c.buf)):] {
		b.WriteString("  " + st.Raw + "\n")
	}
	if b.Len() == 0 {
		return "  (nothing)"
	}
	return b.String()
}

// SendRaw sends one stanza given as XML text; stanzas without a namespace
// are sent as jabber:client.
func (c *Client) SendRaw(ctx context.Context, raw string) error {
	if err := c.s.Send(ctx, xml.NewDecoder(strings.NewReader(raw))); err != nil {
		return fmt.Errorf("xmpptest: %s: send: %w", c.Addr(), err)
	}
	return nil
}

// Join enters room as nick, asking for no history, and returns the
// self-presence (status 110). An error presence becomes an error naming the
// condition; JoinErr returns the condition itself.
func (c *Client) Join(ctx context.Context, room, nick string) (Stanza, error) {
	st, err := c.join(ctx, room, nick)
	if err != nil {
		return st, err
	}
	if st.Type == "error" {
		return st, fmt.Errorf("xmpptest: %s: join %s as %q refused: %s %s", c.Addr(), room, nick, st.Error, st.ErrorText)
	}
	return st, nil
}

// JoinErr tries to join and returns the error condition of the refusal
// (e.g. "forbidden"); it is an error if the join succeeded.
func (c *Client) JoinErr(ctx context.Context, room, nick string) (string, error) {
	st, err := c.join(ctx, room, nick)
	if err != nil {
		return "", err
	}
	if st.Type != "error" {
		return "", fmt.Errorf("xmpptest: %s: join %s as %q succeeded, want a refusal", c.Addr(), room, nick)
	}
	return st.Error, nil
}

func (c *Client) join(ctx context.Context, room, nick string) (Stanza, error) {
	mark := c.Mark()
	id := newID()
	err := c.SendRaw(ctx, fmt.Sprintf(`<presence to="%s" id="%s"><x xmlns="%s"><history maxstanzas="0"/></x></presence>`,
		esc(room+"/"+nick), id, NSMUC))
	if err != nil {
		return Stanza{}, err
	}
	return c.WaitAfter(ctx, mark, func(st Stanza) bool {
		return st.Name == "presence" && st.Bare() == room &&
			((st.Type == "error" && st.ID == id) || (st.Type == "" && st.HasStatus(110)))
	})
}

// Leave exits room and waits for our unavailable self-presence.
func (c *Client) Leave(ctx context.Context, room, nick string) error {
	mark := c.Mark()
	if err := c.SendRaw(ctx, fmt.Sprintf(`<presence type="unavailable" to="%s"/>`, esc(room+"/"+nick))); err != nil {
		return err
	}
	_, err := c.WaitAfter(ctx, mark, func(st Stanza) bool {
		return st.Name == "presence" && st.Bare() == room && st.Type == "unavailable" && st.HasStatus(110)
	})
	return err
}

// ChangeNick switches our nick in room and returns the new self-presence;
// a refusal (e.g. conflict, jid-malformed) is returned as an error.
func (c *Client) ChangeNick(ctx context.Context, room, newNick string) (Stanza, error) {
	mark := c.Mark()
	id := newID()
	if err := c.SendRaw(ctx, fmt.Sprintf(`<presence to="%s" id="%s"/>`, esc(room+"/"+newNick), id)); err != nil {
		return Stanza{}, err
	}
	st, err := c.WaitAfter(ctx, mark, func(st Stanza) bool {
		return st.Name == "presence" && st.Bare() == room &&
			((st.Type == "error" && st.ID == id) || (st.Type == "" && st.HasStatus(110)))
	})
	if err == nil && st.Type == "error" {
		err = fmt.Errorf("xmpptest: %s: nick change to %q refused: %s", c.Addr(), newNick, st.Error)
	}
	return st, err
}

// SendGroupchat says body in room and returns the message id (an error
// reply, e.g. forbidden for a visitor, carries the same id).
func (c *Client) SendGroupchat(ctx context.Context, room, body string) (string, error) {
	id := newID()
	return id, c.SendRaw(ctx, fmt.Sprintf(`<message type="groupchat" to="%s" id="%s"><body>%s</body></message>`, esc(room), id, esc(body)))
}

// SendChat sends a chat message (to a real JID or room/nick) and returns
// its id.
func (c *Client) SendChat(ctx context.Context, to, body string) (string, error) {
	id := newID()
	return id, c.SendRaw(ctx, fmt.Sprintf(`<message type="chat" to="%s" id="%s"><body>%s</body></message>`, esc(to), id, esc(body)))
}

// SendVoiceRequest asks room's moderators for voice. The message type must
// be "normal": Prosody drops a typeless request.
func (c *Client) SendVoiceRequest(ctx context.Context, room string) error {
	return c.SendRaw(ctx, fmt.Sprintf(`<message type="normal" to="%s"><x xmlns="%s" type="submit">`+
		`<field var="FORM_TYPE"><value>%s</value></field>`+
		`<field var="muc#role"><value>participant</value></field></x></message>`,
		esc(room), NSForm, NSMUCRequest))
}

// CreateRoom joins room as nick (creating it) and submits the owner
// configuration with fields (e.g. "muc#roomconfig_moderatedroom": {"1"}),
// which also unlocks a new room. It returns the join self-presence.
func (c *Client) CreateRoom(ctx context.Context, room, nick string, fields map[string][]string) (Stanza, error) {
	st, err := c.Join(ctx, room, nick)
	if err != nil {
		return st, err
	}
	return st, c.Configure(ctx, room, fields)
}

// Configure submits the muc#owner configuration form with fields; fields
// left out keep their values.
func (c *Client) Configure(ctx context.Context, room string, fields map[string][]string) error {
	var b strings.Builder
	fmt.Fprintf(&b, `<query xmlns="%s"><x xmlns="%s" type="submit"><field var="FORM_TYPE"><value>%s</value></field>`,
		NSMUCOwner, NSForm, "http://jabber.org/protocol/muc#roomconfig")
	vars := make([]string, 0, len(fields))
	for v := range fields {
		vars = append(vars, v)
	}
	sort.Strings(vars)
	for _, v := range vars {
		fmt.Fprintf(&b, `<field var="%s">`, esc(v))
		for _, val := range fields[v] {
			fmt.Fprintf(&b, `<value>%s</value>`, esc(val))
		}
		b.WriteString(`</field>`)
	}
	b.WriteString(`</x></query>`)
	return c.iq(ctx, stanza.SetIQ, room, b.String(), "configure "+room)
}

// SetAffiliation changes a bare JID's affiliation in room (owner, admin,
// member, outcast, none).
func (c *Client) SetAffiliation(ctx context.Context, room, bareJID, aff string) error {
	return c.iq(ctx, stanza.SetIQ, room, fmt.Sprintf(`<query xmlns="%s"><item jid="%s" affiliation="%s"/></query>`,
		NSMUCAdmin, esc(bareJID), esc(aff)), "set affiliation of "+bareJID+" to "+aff)
}

// SetRole changes an occupant's role in room (moderator, participant,
// visitor, none = kick).
func (c *Client) SetRole(ctx context.Context, room, nick, role string) error {
	return c.iq(ctx, stanza.SetIQ, room, fmt.Sprintf(`<query xmlns="%s"><item nick="%s" role="%s"/></query>`,
		NSMUCAdmin, esc(nick), esc(role)), "set role of "+nick+" to "+role)
}

// Invite sends a mediated invitation (XEP-0045 §7.8.2) through room.
func (c *Client) Invite(ctx context.Context, room, to, reason string) error {
	return c.SendRaw(ctx, fmt.Sprintf(`<message to="%s"><x xmlns="%s"><invite to="%s"><reason>%s</reason></invite></x></message>`,
		esc(room), NSMUCUser, esc(to), esc(reason)))
}

// DirectInvite sends a XEP-0249 direct invitation to a real JID.
func (c *Client) DirectInvite(ctx context.Context, to, room, reason string) error {
	return c.SendRaw(ctx, fmt.Sprintf(`<message type="normal" to="%s"><x xmlns="%s" jid="%s" reason="%s"/></message>`,
		esc(to), NSConference, esc(room), esc(reason)))
}

// iq sends payload (XML text) and waits for the result.
func (c *Client) iq(ctx context.Context, typ stanza.IQType, to, payload, what string) error {
	err := c.s.UnmarshalIQ(ctx, typ, to, xml.NewDecoder(strings.NewReader(payload)), nil)
	if err != nil {
		var se stanza.Error
		if errors.As(err, &se) {
			return fmt.Errorf("xmpptest: %s: %s: refused: %s %s", c.Addr(), what, se.Condition, textOf(se))
		}
		return fmt.Errorf("xmpptest: %s: %s: %w", c.Addr(), what, err)
	}
	return nil
}

func textOf(se stanza.Error) string {
	if t := se.Error(); t != string(se.Condition) {
		return "(" + t + ")"
	}
	return ""
}

// Predicates for WaitFor and WaitAfter.

// BodyIs matches a message with exactly this body.
func BodyIs(body string) func(Stanza) bool {
	return func(st Stanza) bool { return st.Name == "message" && st.Body == body }
}

// ErrorReply matches an error stanza answering id.
func ErrorReply(id string) func(Stanza) bool {
	return func(st Stanza) bool { return st.Type == "error" && st.ID == id }
}

// PresenceOf matches a presence from room/nick.
func PresenceOf(room, nick string) func(Stanza) bool {
	return func(st Stanza) bool { return st.Name == "presence" && st.From == room+"/"+nick }
}

// FormOf matches a message carrying a form with this FORM_TYPE.
func FormOf(formType string) func(Stanza) bool {
	return func(st Stanza) bool { return st.Name == "message" && st.FormValue("FORM_TYPE") == formType }
}

// esc escapes text for an attribute or element.
func esc(s string) string {
	var b strings.Builder
	escape(&b, s)
	return b.String()
}

// newID is a random stanza id.
func newID() string { return "t-" + rand.Text()[:12] }
