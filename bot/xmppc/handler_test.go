package xmppc

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"mellium.im/xmlstream"
	"mellium.im/xmpp/stanza"
)

// seen is what the user handler recorded for one stanza.
type seen struct {
	Name, From, Body string
}

// TestHandlerSurvivesRemoteInput feeds recorded stanzas into a served
// session and checks each reply (or its absence) and what reached the user
// handler. The session must still be up after every case; a final server
// close must make Serve return nil.
func TestHandlerSurvivesRemoteInput(t *testing.T) {
	const badFrom = "room@conf.localhost/\u1160" // Prosody's mapping of U+3164; PRECIS rejects it
	tests := []struct {
		name      string
		in        string
		wantReply bool
		wantType  string // reply type
		wantTo    string
		wantCond  string   // error condition, if an error reply
		wantFeats []string // disco features that must be present
		wantSeen  []seen
	}{
		{
			name:     "presence from invalid PRECIS nick reaches the user",
			in:       `<presence from='` + badFrom + `'><x xmlns='http://jabber.org/protocol/muc#user'><item role='participant'/></x></presence>`,
			wantSeen: []seen{{Name: "presence", From: badFrom}},
		},
		{
			name:      "unknown iq get from invalid PRECIS address gets service-unavailable",
			in:        `<iq type='get' id='u1' from='` + badFrom + `'><query xmlns='urn:example:unknown'/></iq>`,
			wantReply: true, wantType: "error", wantTo: badFrom, wantCond: "service-unavailable",
		},
		{
			name:      "unknown iq set gets service-unavailable",
			in:        `<iq type='set' id='u2' from='mallory@localhost/x'><command xmlns='http://jabber.org/protocol/commands'/></iq>`,
			wantReply: true, wantType: "error", wantTo: "mallory@localhost/x", wantCond: "service-unavailable",
		},
		{
			name:      "ping is answered",
			in:        `<iq type='get' id='p1' from='localhost'><ping xmlns='urn:xmpp:ping'/></iq>`,
			wantReply: true, wantType: "result", wantTo: "localhost",
		},
		{
			name:      "disco#info lists our features",
			in:        `<iq type='get' id='d1' from='alice@localhost/phone'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`,
			wantReply: true, wantType: "result", wantTo: "alice@localhost/phone",
			wantFeats: []string{NSPing, NSDiscoInfo, "urn:example:steward"},
		},
		{
			name:      "disco#info for a node is item-not-found",
			in:        `<iq type='get' id='d2' from='alice@localhost/phone'><query xmlns='http://jabber.org/protocol/disco#info' node='x#y'/></iq>`,
			wantReply: true, wantType: "error", wantTo: "alice@localhost/phone", wantCond: "item-not-found",
		},
		{
			name: "iq with no payload gets service-unavailable",
			in:   `<iq type='get' id='e1' from='localhost'/>`, wantReply: true, wantType: "error", wantTo: "localhost", wantCond: "service-unavailable",
		},
		{name: "late result is dropped", in: `<iq type='result' id='nobody-waits' from='localhost'/>`},
		{name: "late error is dropped", in: `<iq type='error' id='nobody-waits-2' from='localhost'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`},
		{
			name:     "a panicking user handler drops only that stanza",
			in:       `<message type='chat' from='alice@localhost/phone'><body>panic</body></message>`,
			wantSeen: []seen{{Name: "message", From: "alice@localhost/phone", Body: "panic"}},
		},
		{
			name:     "message body decodes from the handed reader",
			in:       `<message type='groupchat' from='` + badFrom + `'><body>hello</body></message>`,
			wantSeen: []seen{{Name: "message", From: badFrom, Body: "hello"}},
		},
		{name: "stream management element is ignored", in: `<r xmlns='urn:xmpp:sm:3'/>`},
	}

	s, f, err := pipeSession(t, Config{Features: []string{"urn:example:steward"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []seen
	user := func(start xml.StartElement, r xml.TokenReader) {
		var v struct {
			Body string `xml:"body"`
		}
		if err := xml.NewTokenDecoder(r).Decode(&v); err != nil {
			t.Errorf("decode %s: %v", start.Name.Local, err)
		}
		mu.Lock()
		got = append(got, seen{Name: start.Name.Local, From: attrValue(start.Attr, "from"), Body: v.Body})
		mu.Unlock()
		if v.Body == "panic" {
			panic("user handler bug")
		}
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(user) }()

	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			got = nil
			mu.Unlock()
			mark := fmt.Sprintf("mark-%d", i)
			if err := f.write(tc.in + `<iq type='get' id='` + mark + `' from='localhost'><ping xmlns='urn:xmpp:ping'/></iq>`); err != nil {
				t.Fatal(err)
			}
			// Everything the client sends before the mark's reply answers tc.in.
			var replies []node
			for {
				n := f.recv(t)
				if n.attr("id") == mark {
					break
				}
				replies = append(replies, n)
			}
			switch {
			case !tc.wantReply && len(replies) != 0:
				t.Fatalf("got %d replies, want none: %+v", len(replies), replies)
			case tc.wantReply && len(replies) != 1:
				t.Fatalf("got %d replies, want exactly one: %+v", len(replies), replies)
			}
			if tc.wantReply {
				r := replies[0]
				if r.XMLName.Local != "iq" || r.attr("type") != tc.wantType || r.attr("to") != tc.wantTo {
					t.Errorf("reply = <%s type=%q to=%q>, want <iq type=%q to=%q>", r.XMLName.Local, r.attr("type"), r.attr("to"), tc.wantType, tc.wantTo)
				}
				if cond := errorCondition(r); cond != tc.wantCond {
					t.Errorf("error condition = %q, want %q", cond, tc.wantCond)
				}
				if !hasAll(features(r), tc.wantFeats...) {
					t.Errorf("features = %v, want at least %v", features(r), tc.wantFeats)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if !slices.Equal(got, tc.wantSeen) {
				t.Errorf("user handler saw %+v, want %+v", got, tc.wantSeen)
			}
		})
	}

	f.closeStream()
	if err := <-served; err != nil {
		t.Fatalf("Serve returned %v after the server closed the stream; want nil", err)
	}
	if err := s.Send(context.Background(), stanza.Presence{}.Wrap(nil)); !errors.Is(err, ErrClosed) {
		t.Errorf("Send on a dead session = %v, want ErrClosed", err)
	}
}

// TestUnmarshalIQ checks reply decoding: payload into v, error replies as
// stanza.Error, empty results.
func TestUnmarshalIQ(t *testing.T) {
	type version struct {
		Name string `xml:"name"`
	}
	tests := []struct {
		name     string
		reply    string // %s is the request id
		want     version
		wantCond stanza.Condition
	}{
		{name: "result payload decodes", reply: `<iq type='result' id='%s' from='localhost'><query xmlns='jabber:iq:version'><name>Prosody</name></query></iq>`, want: version{Name: "Prosody"}},
		{name: "empty result leaves v alone", reply: `<iq type='result' id='%s' from='localhost'/>`},
		{name: "error reply is a stanza.Error", reply: `<iq type='error' id='%s' from='room@conf/` + "\u1160" + `'><error type='cancel'><not-allowed xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`, wantCond: stanza.NotAllowed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _, err := pipeSession(t, Config{}, func(f *fakeServer) {
				f.respond = func(n node) string {
					if n.XMLName.Local == "iq" && n.attr("type") == "get" {
						return fmt.Sprintf(tc.reply, n.attr("id"))
					}
					return ""
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			served := make(chan error, 1)
			go func() { served <- s.Serve(nil) }()
			defer func() { s.Close(); <-served }()

			var v version
			payload := xmlstream.Wrap(nil, xml.StartElement{Name: xml.Name{Space: "jabber:iq:version", Local: "query"}})
			err = s.UnmarshalIQ(t.Context(), stanza.GetIQ, "localhost", payload, &v)
			var se stanza.Error
			switch {
			case tc.wantCond == "" && err != nil:
				t.Fatalf("UnmarshalIQ: %v", err)
			case tc.wantCond != "" && (!errors.As(err, &se) || se.Condition != tc.wantCond):
				t.Fatalf("UnmarshalIQ error = %v, want condition %s", err, tc.wantCond)
			}
			if v != tc.want {
				t.Errorf("decoded %+v, want %+v", v, tc.want)
			}
		})
	}
}
