package xmppc

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"go.uber.org/zap/zaptest"
	"mellium.im/xmpp"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"
	"mellium.im/xmpp/stream"
)

const streamHeader = `<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>`

// node is a generic decoded element.
type node struct {
	XMLName  xml.Name
	Attrs    []xml.Attr `xml:",any,attr"`
	Children []node     `xml:",any"`
	Text     string     `xml:",chardata"`
}

func (n node) attr(name string) string { return attrValue(n.Attrs, name) }

func (n node) child(local string) (node, bool) {
	for _, c := range n.Children {
		if c.XMLName.Local == local {
			return c, true
		}
	}
	return node{}, false
}

// fakeServer is the far end of a net.Pipe: it speaks just enough XMPP for a
// Session (a stream header, stanzas, pings) and records what it receives.
type fakeServer struct {
	conn net.Conn
	got  chan node // everything the client sent except answered pings

	answerPings atomic.Bool
	closed      atomic.Bool // we sent </stream:stream>
	sawClose    atomic.Bool // the client sent </stream:stream>
	// respond, if set, may answer any received element with raw XML.
	respond func(n node) string

	wmu  sync.Mutex
	done chan struct{} // closed when the read loop ends
}

func (f *fakeServer) write(raw string) error {
	f.wmu.Lock()
	defer f.wmu.Unlock()
	_, err := io.WriteString(f.conn, raw)
	return err
}

// closeStream ends the stream the way Prosody does on c2s:close: it sends
// </stream:stream> and closes the connection once the client answers.
func (f *fakeServer) closeStream() {
	f.closed.Store(true)
	_ = f.write("</stream:stream>")
}

func (f *fakeServer) run() {
	defer close(f.done)
	defer f.conn.Close()
	// net.Pipe is unbuffered: read the client's header before writing ours.
	d := xml.NewDecoder(f.conn)
	for {
		tok, err := d.Token()
		if err != nil {
			return
		}
		if _, ok := tok.(xml.StartElement); ok {
			break
		}
	}
	if f.write(streamHeader) != nil {
		return
	}
	for {
		tok, err := d.Token()
		if err != nil {
			return
		}
		if end, ok := tok.(xml.EndElement); ok && end.Name.Local == "stream" {
			f.sawClose.Store(true)
			if !f.closed.Load() {
				_ = f.write("</stream:stream>") // answer a clean logout like a server
			}
			return
		}
		start, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		var n node
		if err := d.DecodeElement(&n, &start); err != nil {
			return
		}
		if _, isPing := n.child("ping"); isPing && n.XMLName.Local == "iq" && n.attr("type") == "get" {
			if f.answerPings.Load() {
				_ = f.write(fmt.Sprintf(`<iq type='result' id='%s' from='localhost'/>`, n.attr("id")))
			}
			continue
		}
		if f.respond != nil {
			if raw := f.respond(n); raw != "" {
				_ = f.write(raw)
				continue
			}
		}
		f.got <- n
	}
}

// testNegotiator replaces login: it exchanges stream headers and declares
// the session ready.
func testNegotiator(ctx context.Context, in, out *stream.Info, s *xmpp.Session, _ any) (xmpp.SessionState, io.ReadWriter, any, error) {
	if _, err := io.WriteString(s.Conn(), streamHeader); err != nil {
		return 0, nil, nil, err
	}
	r := s.TokenReader()
	defer r.Close()
	for {
		tok, err := r.Token()
		if err != nil {
			return 0, nil, nil, err
		}
		if _, ok := tok.(xml.StartElement); ok {
			break
		}
	}
	in.XMLNS, out.XMLNS = stanza.NSClient, stanza.NSClient
	return xmpp.Ready, nil, nil, nil
}

// pipeSession connects a Session to a new fakeServer.
func pipeSession(t *testing.T, cfg Config, setup func(*fakeServer)) (*Session, *fakeServer, error) {
	c1, c2 := net.Pipe()
	f := &fakeServer{conn: c2, got: make(chan node, 64), done: make(chan struct{})}
	f.answerPings.Store(true)
	if setup != nil {
		setup(f)
	}
	go f.run()
	origin := jid.MustParse("bot@localhost/steward")
	xs, err := xmpp.NewSession(context.Background(), origin.Domain(), origin, c1, 0, testNegotiator)
	if err != nil {
		c1.Close()
		return nil, nil, err
	}
	if cfg.JID.String() == "" {
		cfg.JID = origin
	}
	return newSession(xs, cfg.withDefaults(), zaptest.NewLogger(t)), f, nil
}

// recv waits for the next element the client sent.
func (f *fakeServer) recv(t *testing.T) node {
	t.Helper()
	select {
	case n := <-f.got:
		return n
	case <-f.done:
		t.Fatal("fake server: connection ended while waiting for a stanza")
	}
	return node{}
}

func errorCondition(n node) string {
	e, ok := n.child("error")
	if !ok {
		return ""
	}
	for _, c := range e.Children {
		if c.XMLName.Local != "text" {
			return c.XMLName.Local
		}
	}
	return ""
}

func features(n node) []string {
	q, _ := n.child("query")
	var out []string
	for _, c := range q.Children {
		if c.XMLName.Local == "feature" {
			out = append(out, c.attr("var"))
		}
	}
	return out
}

func hasAll(have []string, want ...string) bool {
	joined := "\n" + strings.Join(have, "\n") + "\n"
	for _, w := range want {
		if !strings.Contains(joined, "\n"+w+"\n") {
			return false
		}
	}
	return true
}
