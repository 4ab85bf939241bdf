package testenv_test

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
	"mellium.im/xmlstream"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/steward-xmpp/steward/bot/xmppc"
	"github.com/steward-xmpp/steward/internal/testenv"
	"github.com/steward-xmpp/steward/internal/xmpptest"
)

func caPool(t *testing.T, p *testenv.Prosody) *x509.CertPool {
	t.Helper()
	pem, err := os.ReadFile(p.CAFile())
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("CAFile holds no certificate")
	}
	return pool
}

// TestProsodyDialModes logs in over each transport and checks that every
// failure class reads as it should against a real server.
func TestProsodyDialModes(t *testing.T) {
	p := testenv.MustProsody(t, testenv.ProsodyOptions{})
	p.MustRegister(t, "bot", "pass-bot")
	pool := caPool(t, p)
	closedPort := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return l.Addr().String()
	}()

	tests := []struct {
		name    string
		cfg     xmppc.Config
		wantErr error
		words   string // expected in the error message
	}{
		{name: "plaintext", cfg: xmppc.Config{Address: p.Addr(), TLS: xmppc.TLSInsecurePlain}},
		{name: "starttls with the private CA", cfg: xmppc.Config{Address: p.Addr(), TLS: xmppc.TLSStartTLS, RootCAs: pool}},
		{name: "direct tls with the private CA", cfg: xmppc.Config{Address: p.DirectTLSAddr(), TLS: xmppc.TLSDirect, RootCAs: pool}},
		{name: "wrong password", cfg: xmppc.Config{Address: p.Addr(), TLS: xmppc.TLSInsecurePlain, Password: "nope"},
			wantErr: xmppc.ErrAuth, words: "wrong password or unknown account: server said not-authorized"},
		{name: "unknown account", cfg: xmppc.Config{JID: jid.MustParse("ghost@localhost"), Address: p.Addr(), TLS: xmppc.TLSInsecurePlain},
			wantErr: xmppc.ErrAuth, words: "wrong password or unknown account"},
		{name: "untrusted certificate", cfg: xmppc.Config{Address: p.Addr(), TLS: xmppc.TLSStartTLS},
			wantErr: xmppc.ErrTLS, words: "TLS failure"},
		{name: "wrong server name", cfg: xmppc.Config{Address: p.Addr(), TLS: xmppc.TLSStartTLS, RootCAs: pool, ServerName: "xmpp.example.org"},
			wantErr: xmppc.ErrTLS, words: "xmpp.example.org"},
		{name: "nothing listening", cfg: xmppc.Config{Address: closedPort, TLS: xmppc.TLSInsecurePlain},
			wantErr: xmppc.ErrUnreachable, words: "server unreachable: connection refused"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			if cfg.JID.String() == "" {
				cfg.JID = jid.MustParse("bot@localhost")
			}
			if cfg.Password == "" {
				cfg.Password = "pass-bot"
			}
			cfg.Resource = "steward-test"
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			s, err := xmppc.Dial(ctx, cfg, zaptest.NewLogger(t))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.words) {
					t.Fatalf("Dial error = %v, want %v containing %q", err, tc.wantErr, tc.words)
				}
				if strings.Contains(err.Error(), cfg.Password) {
					t.Errorf("error message leaks the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			served := make(chan error, 1)
			go func() { served <- s.Serve(nil) }()
			if got := s.LocalAddr().String(); got != "bot@localhost/steward-test" {
				t.Errorf("bound %s, want the requested resource bot@localhost/steward-test", got)
			}
			ping := xmlstream.Wrap(nil, xml.StartElement{Name: xml.Name{Space: xmppc.NSPing, Local: "ping"}})
			if err := s.UnmarshalIQ(ctx, stanza.GetIQ, p.Domain(), ping, nil); err != nil {
				t.Errorf("ping the server: %v", err)
			}
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			if err := <-served; err != nil {
				t.Errorf("Serve after Close = %v, want nil", err)
			}
		})
	}
}

// TestClientSurvivesServerTrouble runs the reconnecting client through a
// server-side close, a crash and restart, and a frozen server.
func TestClientSurvivesServerTrouble(t *testing.T) {
	p := testenv.MustProsody(t, testenv.ProsodyOptions{})
	p.MustRegister(t, "bot", "pass-bot")

	connected := make(chan *xmppc.Session, 8)
	disconnected := make(chan error, 8)
	c := xmppc.NewClient(xmppc.Config{
		JID: jid.MustParse("bot@localhost"), Password: "pass-bot", Resource: "steward",
		Address: p.Addr(), TLS: xmppc.TLSInsecurePlain,
		// Short enough to notice the frozen server quickly.
		PingInterval: 300 * time.Millisecond, PingTimeout: 500 * time.Millisecond,
		ReconnectMin: 10 * time.Millisecond, ReconnectMax: 100 * time.Millisecond,
	}, zaptest.NewLogger(t), xmppc.Hooks{
		OnConnect:    func(ctx context.Context, s *xmppc.Session) { connected <- s },
		OnDisconnect: func(err error) { disconnected <- err },
	})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()

	first := <-connected
	if got := first.LocalAddr().Resourcepart(); got != "steward" {
		t.Fatalf("bound resource %q, want steward", got)
	}

	steps := []struct {
		name    string
		trouble func() error
		wantErr func(error) bool
		after   func() error
	}{
		{
			name:    "admin closes the session",
			trouble: func() error { _, err := p.Shell("c2s:close('bot@localhost')"); return err },
			wantErr: func(err error) bool { return errors.Is(err, xmppc.ErrServerClosed) },
		},
		{
			name:    "server crashes and restarts",
			trouble: func() error { return p.Restart() },
			wantErr: func(err error) bool { return err != nil },
		},
		{
			name:    "server freezes",
			trouble: p.Freeze,
			wantErr: func(err error) bool { return errors.Is(err, context.DeadlineExceeded) },
			after:   p.Thaw,
		},
	}
	for _, st := range steps {
		if err := st.trouble(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if err := <-disconnected; !st.wantErr(err) {
			t.Errorf("%s: OnDisconnect(%v)", st.name, err)
		}
		if st.after != nil {
			if err := st.after(); err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
		}
		s := <-connected
		if s.LocalAddr().Resourcepart() != "steward" {
			t.Errorf("%s: rebound as %s", st.name, s.LocalAddr())
		}
		if c.Current() != s {
			t.Errorf("%s: Current() is not the new session", st.name)
		}
	}

	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
	if c.Connected() {
		t.Error("still connected after Run returned")
	}
}

func TestRedis(t *testing.T) {
	r := testenv.MustRedis(t)
	u := r.URL()
	if !strings.HasPrefix(u, "redis://") && !strings.HasPrefix(u, "rediss://") {
		t.Fatalf("URL() = %q, want a redis URL", u)
	}
	if os.Getenv(testenv.RedisURLEnv) != "" {
		return // an external server; its reachability is CI's business
	}
	host := strings.TrimSuffix(strings.TrimPrefix(u, "redis://"), "/0")
	c, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("SET k v\r\nGET k\r\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	var got string
	for !strings.Contains(got, "v\r\n") {
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("read %q then %v", got, err)
		}
		got += string(buf[:n])
	}
	if !strings.HasPrefix(got, "+OK\r\n$1\r\nv\r\n") {
		t.Errorf("SET/GET answered %q", got)
	}
}

// TestProsodyRTBL checks the optional RTBL-guarded MUC: an entry published
// after start keeps a listed account out.
func TestProsodyRTBL(t *testing.T) {
	p := testenv.MustProsody(t, testenv.ProsodyOptions{RTBLMUC: true})
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	p.MustRegister(t, "feeder", "pass-feeder")
	p.MustRegister(t, "mallory", "pass-mallory")
	feeder, err := xmpptest.Connect(ctx, p.Addr(), "feeder@localhost", "pass-feeder")
	if err != nil {
		t.Fatal(err)
	}
	defer feeder.Close()
	mallory, err := xmpptest.Connect(ctx, p.Addr(), "mallory@localhost", "pass-mallory")
	if err != nil {
		t.Fatal(err)
	}
	defer mallory.Close()

	room := "lobby@" + p.RTBLMUC()
	if _, err := feeder.CreateRoom(ctx, room, "Feeder", nil); err != nil {
		t.Fatal(err)
	}
	hash := sha256.Sum256([]byte("mallory@localhost"))
	publish := `<pubsub xmlns="http://jabber.org/protocol/pubsub"><publish node="` + p.RTBLNode() + `"><item id="` + hex.EncodeToString(hash[:]) + `">` +
		`<report xmlns="urn:xmpp:reporting:1" reason="urn:xmpp:reporting:spam"/></item></publish></pubsub>`
	if err := feeder.Session().UnmarshalIQ(ctx, stanza.SetIQ, p.PubSub(), xml.NewDecoder(strings.NewReader(publish)), nil); err != nil {
		t.Fatalf("publish RTBL entry: %v", err)
	}
	cond, err := mallory.JoinErr(ctx, room, "mallory")
	if err != nil {
		t.Fatal(err)
	}
	if cond != "forbidden" {
		t.Errorf("listed account refused with %q, want forbidden", cond)
	}
}
