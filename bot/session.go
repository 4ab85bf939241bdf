package bot

import (
	"context"
	"crypto/x509"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/steward-xmpp/steward/bot/proto"
	"github.com/steward-xmpp/steward/bot/xmppc"
	"github.com/steward-xmpp/steward/internal/config"
	"github.com/steward-xmpp/steward/policies"
)

// iqTimeout bounds every IQ the bot waits for.
const iqTimeout = 10 * time.Second

// session adds MUC, disco and pubsub operations to a live xmppc session.
type session struct {
	*xmppc.Session
}

func (s *session) iq(ctx context.Context, typ stanza.IQType, to string, payload xml.TokenReader, v any) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, iqTimeout)
		defer cancel()
	}
	return s.UnmarshalIQ(ctx, typ, to, payload, v)
}

// DiscoInfo asks an entity (a room, a pubsub service) what it supports.
func (s *session) DiscoInfo(ctx context.Context, to string) (proto.DiscoInfo, error) {
	var info proto.DiscoInfo
	err := s.iq(ctx, stanza.GetIQ, to, proto.DiscoInfoQuery(""), &info)
	return info, err
}

// AffiliationList reads one affiliation list of a room.
func (s *session) AffiliationList(ctx context.Context, room, aff string) ([]proto.Item, error) {
	var items proto.AdminItems
	err := s.iq(ctx, stanza.GetIQ, room, proto.ListQuery(aff), &items)
	return items.Items, err
}

// RoomConfig reads the room's config form (owner only).
func (s *session) RoomConfig(ctx context.Context, room string) (proto.Form, error) {
	var q proto.OwnerQuery
	err := s.iq(ctx, stanza.GetIQ, room, proto.ConfigQuery(), &q)
	if err != nil {
		return proto.Form{}, err
	}
	if q.Form == nil {
		return proto.Form{}, errors.New("the room sent no config form")
	}
	return *q.Form, nil
}

// Ping sends a XEP-0199 ping (XEP-0410 self-ping when to is our own seat).
func (s *session) Ping(ctx context.Context, to string) error {
	return s.iq(ctx, stanza.GetIQ, to, proto.PingPayload(), nil)
}

// PubsubSubscribe subscribes our bare JID to a node.
func (s *session) PubsubSubscribe(ctx context.Context, service, node string) error {
	var reply proto.PubsubReply
	if err := s.iq(ctx, stanza.SetIQ, service, proto.Subscribe(node, s.LocalAddr().Bare().String()), &reply); err != nil {
		return err
	}
	if reply.Subscription != nil && reply.Subscription.State != "" && reply.Subscription.State != "subscribed" {
		return fmt.Errorf("subscription to %s on %s is %q", node, service, reply.Subscription.State)
	}
	return nil
}

// PubsubItems fetches every item of a node.
func (s *session) PubsubItems(ctx context.Context, service, node string) ([]proto.PubsubItem, error) {
	var reply proto.PubsubReply
	if err := s.iq(ctx, stanza.GetIQ, service, proto.ItemsQuery(node, 0), &reply); err != nil {
		return nil, err
	}
	return reply.Items, nil
}

// PubsubPublish publishes one item with an optional XEP-0377 report.
func (s *session) PubsubPublish(ctx context.Context, service, node, id string, rep *proto.Report) error {
	return s.iq(ctx, stanza.SetIQ, service, proto.Publish(node, id, rep), nil)
}

// PubsubRetract retracts one item and notifies subscribers.
func (s *session) PubsubRetract(ctx context.Context, service, node, id string) error {
	return s.iq(ctx, stanza.SetIQ, service, proto.RetractItem(node, id, true), nil)
}

// PubsubCreate creates a node with the given configuration.
func (s *session) PubsubCreate(ctx context.Context, service, node string, fields map[string][]string) error {
	return s.iq(ctx, stanza.SetIQ, service, proto.CreateNode(node, fields), nil)
}

// ErrNotConnected is returned when there is no live XMPP session.
var ErrNotConnected = errors.New("not connected to the XMPP server")

// PubSub gives services (the RTBL) pubsub access over whatever session is
// live at the moment of the call.
func (b *Bot) PubSub() PubSub { return pubsubOps{b} }

// PubSub is the pubsub operations services need.
type PubSub interface {
	Subscribe(ctx context.Context, service, node string) error
	Items(ctx context.Context, service, node string) ([]proto.PubsubItem, error)
	Publish(ctx context.Context, service, node, id string, rep *proto.Report) error
	Retract(ctx context.Context, service, node, id string) error
	Create(ctx context.Context, service, node string, fields map[string][]string) error
}

type pubsubOps struct{ b *Bot }

func (p pubsubOps) s() (*session, error) {
	if s := p.b.session(); s != nil {
		return s, nil
	}
	return nil, ErrNotConnected
}

func (p pubsubOps) Subscribe(ctx context.Context, service, node string) error {
	s, err := p.s()
	if err != nil {
		return err
	}
	return s.PubsubSubscribe(ctx, service, node)
}

func (p pubsubOps) Items(ctx context.Context, service, node string) ([]proto.PubsubItem, error) {
	s, err := p.s()
	if err != nil {
		return nil, err
	}
	return s.PubsubItems(ctx, service, node)
}

func (p pubsubOps) Publish(ctx context.Context, service, node, id string, rep *proto.Report) error {
	s, err := p.s()
	if err != nil {
		return err
	}
	return s.PubsubPublish(ctx, service, node, id, rep)
}

func (p pubsubOps) Retract(ctx context.Context, service, node, id string) error {
	s, err := p.s()
	if err != nil {
		return err
	}
	return s.PubsubRetract(ctx, service, node, id)
}

func (p pubsubOps) Create(ctx context.Context, service, node string, fields map[string][]string) error {
	s, err := p.s()
	if err != nil {
		return err
	}
	return s.PubsubCreate(ctx, service, node, fields)
}

// sendLimited sends a stanza after waiting on the rate limits (room may be
// the zero JID for direct messages: then only the global bucket applies).
func (b *Bot) sendLimited(ctx context.Context, room jid.JID, st xml.TokenReader) error {
	s := b.session()
	if s == nil {
		return ErrNotConnected
	}
	if err := b.exec.rateWait(ctx, room); err != nil {
		return err
	}
	return s.Send(ctx, st)
}

// xmppTransport is the live Transport: it sends over the current session.
type xmppTransport struct{ b *Bot }

var _ Transport = (*xmppTransport)(nil)

func (t *xmppTransport) s() (*session, error) {
	if s := t.b.session(); s != nil {
		return s, nil
	}
	return nil, ErrNotConnected
}

func (t *xmppTransport) SetRole(ctx context.Context, room jid.JID, nick string, role policies.Role, reason string) error {
	s, err := t.s()
	if err != nil {
		return err
	}
	return s.iq(ctx, stanza.SetIQ, room.String(), proto.RoleItem(nick, string(role), reason), nil)
}

func (t *xmppTransport) SetAffiliation(ctx context.Context, room jid.JID, bare string, aff policies.Affiliation, reason string) error {
	s, err := t.s()
	if err != nil {
		return err
	}
	return s.iq(ctx, stanza.SetIQ, room.String(), proto.AffiliationItem(bare, string(aff), reason), nil)
}

func (t *xmppTransport) Retract(ctx context.Context, room jid.JID, ns, stanzaID, reason string) error {
	s, err := t.s()
	if err != nil {
		return err
	}
	payload, err := proto.Retract(ns, stanzaID, reason)
	if err != nil {
		return err
	}
	return s.iq(ctx, stanza.SetIQ, room.String(), payload, nil)
}

func (t *xmppTransport) SendGroupchat(ctx context.Context, room jid.JID, body string) error {
	s, err := t.s()
	if err != nil {
		return err
	}
	return s.Send(ctx, proto.TextMessage("", room.String(), "groupchat", body))
}

func (t *xmppTransport) SendPrivate(ctx context.Context, room jid.JID, nick, body string) error {
	s, err := t.s()
	if err != nil {
		return err
	}
	return s.Send(ctx, proto.TextMessage("", room.String()+"/"+nick, "chat", body))
}

func (t *xmppTransport) SendDirect(ctx context.Context, to string, body string) error {
	s, err := t.s()
	if err != nil {
		return err
	}
	return s.Send(ctx, proto.TextMessage("", to, "chat", body))
}

func (t *xmppTransport) Configure(ctx context.Context, room jid.JID, fields map[string][]string) error {
	s, err := t.s()
	if err != nil {
		return err
	}
	return s.iq(ctx, stanza.SetIQ, room.String(), proto.ConfigSubmit(fields), nil)
}

// xmppConfig maps the validated config onto the connection settings.
func xmppConfig(c *config.Config) (xmppc.Config, error) {
	j, err := jid.Parse(c.XMPP.JID)
	if err != nil {
		return xmppc.Config{}, fmt.Errorf("xmpp.jid: %w", err)
	}
	xc := xmppc.Config{
		JID: j, Password: c.XMPP.Password.Reveal(), Address: c.XMPP.Address, TLS: c.XMPP.TLS,
		ServerName: c.XMPP.TLSServerName, Resource: c.XMPP.Resource,
		PingInterval: c.XMPP.PingInterval, PingTimeout: c.XMPP.PingTimeout,
		ReconnectMin: c.XMPP.ReconnectMin, ReconnectMax: c.XMPP.ReconnectMax,
		Features: []string{"http://jabber.org/protocol/muc", "urn:xmpp:ping"},
	}
	if c.XMPP.TLSCAFile != "" {
		pem, err := os.ReadFile(c.XMPP.TLSCAFile)
		if err != nil {
			return xmppc.Config{}, fmt.Errorf("xmpp.tls_ca_file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return xmppc.Config{}, fmt.Errorf("xmpp.tls_ca_file: %s holds no PEM certificate", c.XMPP.TLSCAFile)
		}
		xc.RootCAs = pool
	}
	return xc, nil
}

// stanzaErrorText renders an XMPP error for people ("forbidden: …").
func stanzaErrorText(err error) string {
	var se stanza.Error
	if errors.As(err, &se) {
		s := string(se.Condition)
		if t := strings.TrimSpace(firstText(se)); t != "" {
			s += ": " + t
		}
		return s
	}
	return err.Error()
}

func firstText(se stanza.Error) string {
	for _, t := range se.Text {
		return t
	}
	return ""
}
