package e2e

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/steward-xmpp/steward/internal/stewardtest"
	"github.com/steward-xmpp/steward/internal/xmpptest"
)

// moderatedRoom creates a persistent moderated room owned by "owner" with
// the bot as admin, and returns the owner's client.
func moderatedRoom(t *testing.T, env *stewardtest.Env, name string) *xmpptest.Client {
	t.Helper()
	owner := env.Client("owner")
	createRoom(t, env, owner, name, true)
	return owner
}

// createRoom has c create a persistent room (moderated or not, real JIDs
// shown to moderators only) and, with botAdmin, makes the bot its admin.
func createRoom(t *testing.T, env *stewardtest.Env, c *xmpptest.Client, name string, botAdmin bool) {
	t.Helper()
	createRoomWith(t, env, c, name, botAdmin, map[string][]string{
		"muc#roomconfig_moderatedroom":  {"1"},
		"muc#roomconfig_persistentroom": {"1"},
		"muc#roomconfig_whois":          {"moderators"},
	})
}

func createRoomWith(t *testing.T, env *stewardtest.Env, c *xmpptest.Client, name string, botAdmin bool, fields map[string][]string) {
	t.Helper()
	ctx := stewardtest.Ctx(t, 20*time.Second)
	_, err := c.CreateRoom(ctx, env.Room(name), "Owner", fields)
	stewardtest.MustOK(t, err, "create room %s", name)
	if botAdmin {
		stewardtest.MustOK(t, c.SetAffiliation(ctx, env.Room(name), env.JID("bot"), "admin"), "make bot admin of %s", name)
	}
}

// fromBot matches a direct (chat) message from the bot's full JID: the
// replies to commands sent by direct message.
func fromBot(env *stewardtest.Env) func(xmpptest.Stanza) bool {
	return func(s xmpptest.Stanza) bool {
		return s.Name == "message" && s.Type == "chat" && strings.HasPrefix(s.From, env.JID("bot")+"/") && s.Body != ""
	}
}

// command sends line to the bot by direct message from c and returns the
// bot's reply (the first chat message from the bot after sending).
func command(t *testing.T, ctx context.Context, env *stewardtest.Env, c *xmpptest.Client, line string) string {
	t.Helper()
	mark := c.Mark()
	_, err := c.SendChat(ctx, env.JID("bot"), line)
	stewardtest.MustOK(t, err, "send %q", line)
	st, err := c.WaitAfter(ctx, mark, fromBot(env))
	stewardtest.MustOK(t, err, "reply to %q", line)
	t.Logf("%s> %s\n%s", c.Addr().Localpart(), line, st.Body)
	return st.Body
}

// commandWant is command that fails the test unless the reply contains
// every one of want.
func commandWant(t *testing.T, ctx context.Context, env *stewardtest.Env, c *xmpptest.Client, line string, want ...string) string {
	t.Helper()
	reply := command(t, ctx, env, c, line)
	for _, w := range want {
		if !strings.Contains(reply, w) {
			t.Fatalf("reply to %q = %q, want it to contain %q", line, reply, w)
		}
	}
	return reply
}

// selfPresence matches c's own presence in room (status 110) of the given
// type ("" = available, "unavailable").
func selfPresence(room, typ string) func(xmpptest.Stanza) bool {
	return func(s xmpptest.Stanza) bool {
		return s.Name == "presence" && s.Bare() == room && s.Type == typ && s.HasStatus(110)
	}
}

// presenceOf matches a presence of room/nick of the given type.
func presenceOf(room, nick, typ string) func(xmpptest.Stanza) bool {
	return func(s xmpptest.Stanza) bool {
		return s.Name == "presence" && s.From == room+"/"+nick && s.Type == typ
	}
}

// waitAfter waits for pred after mark and fails the test with what.
func waitAfter(t *testing.T, ctx context.Context, c *xmpptest.Client, mark int, what string, pred func(xmpptest.Stanza) bool) xmpptest.Stanza {
	t.Helper()
	st, err := c.WaitAfter(ctx, mark, pred)
	stewardtest.MustOK(t, err, "%s", what)
	return st
}

// flush returns once everything the server had queued for c before this
// call has arrived: c sends itself a chat message and waits for it.
func flush(t *testing.T, ctx context.Context, c *xmpptest.Client) {
	t.Helper()
	body := "sync " + time.Now().Format(time.RFC3339Nano)
	mark := c.Mark()
	_, err := c.SendChat(ctx, c.Addr().String(), body)
	stewardtest.MustOK(t, err, "sync send")
	waitAfter(t, ctx, c, mark, "sync echo", xmpptest.BodyIs(body))
}

// rejoinEventually tries to join until the room lets c in.
func rejoinEventually(t *testing.T, ctx context.Context, c *xmpptest.Client, room, nick string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		_, err := c.Join(ctx, room, nick)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still refused in %s after %s: %v", c.Addr(), room, timeout, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// rewriteConfig renders BaseConfig + extra with env's variables into path.
func rewriteConfig(t *testing.T, env *stewardtest.Env, path, extra string) {
	t.Helper()
	tpl, err := template.New("cfg").Parse(stewardtest.BaseConfig + extra)
	stewardtest.MustOK(t, err, "config template")
	var buf bytes.Buffer
	stewardtest.MustOK(t, tpl.Execute(&buf, env.Vars()), "config template")
	stewardtest.MustOK(t, os.WriteFile(path, buf.Bytes(), 0o600), "write config")
}

// httpGet fetches a URL and returns the status code and body.
func httpGet(t *testing.T, ctx context.Context, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	stewardtest.MustOK(t, err, "request %s", url)
	resp, err := http.DefaultClient.Do(req)
	stewardtest.MustOK(t, err, "GET %s", url)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	stewardtest.MustOK(t, err, "read %s", url)
	return resp.StatusCode, string(body)
}
