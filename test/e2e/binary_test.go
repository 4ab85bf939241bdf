package e2e

import (
	"bytes"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/steward-xmpp/steward/internal/stewardtest"
	"github.com/steward-xmpp/steward/internal/testenv"
)

// buildSteward compiles cmd/steward into a temp dir.
func buildSteward(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "steward")
	out, err := exec.Command("go", "build", "-o", bin, "../../cmd/steward").CombinedOutput()
	if err != nil {
		t.Fatalf("go build ./cmd/steward: %v\n%s", err, out)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	stewardtest.MustOK(t, err, "listen")
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// TestIntegrationBinary drives the real binary as an operator would:
// check-config exit codes and messages, run, reload (by command and by
// SIGHUP, a bad file refused), and SIGTERM leaving the room cleanly.
func TestIntegrationBinary(t *testing.T) {
	bin := buildSteward(t)

	t.Run("check-config", func(t *testing.T) {
		out, err := exec.Command(bin, "check-config", "--config", "../../config.example.yaml").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "OK") {
			t.Fatalf("example config: %v\n%s", err, out)
		}
		bad := filepath.Join(t.TempDir(), "bad.yaml")
		stewardtest.MustOK(t, os.WriteFile(bad, []byte("xmpp:\n  jid: not a jid\n  pasword: x\nrooms:\n  - jid: lobby@conference.example.org\n    policies:\n      vetting: {hours: \"Mon-Fri 25:00-26:00\"}\n"), 0o600), "write")
		out, err = exec.Command(bin, "check-config", "--config", bad).CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 {
			t.Fatalf("bad config: err %v, want exit status 1\n%s", err, out)
		}
		for _, want := range []string{"xmpp.jid:", "xmpp.pasword: unknown key", "rooms[0].policies.vetting.hours:"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("check-config output lacks %q:\n%s", want, out)
			}
		}
		// run refuses the same file with the same messages, before connecting.
		out, _ = exec.Command(bin, "run", "--config", bad).CombinedOutput()
		if !strings.Contains(string(out), "refusing to start") || !strings.Contains(string(out), "xmpp.pasword") {
			t.Errorf("run with a bad config:\n%s", out)
		}
	})

	env := stewardtest.NewEnv(t, testenv.ProsodyOptions{})
	owner := moderatedRoom(t, env, "binroom")
	room := env.Room("binroom")
	httpAddr := freeAddr(t)
	rooms := "rooms:\n  - jid: " + room + "\n    officers: [officer@localhost]\n"
	path := env.WriteConfig(rooms)
	// The harness's config listens on a random port; the CLI's reload
	// needs a known one.
	data, err := os.ReadFile(path)
	stewardtest.MustOK(t, err, "read config")
	stewardtest.MustOK(t, os.WriteFile(path, bytes.Replace(data, []byte("127.0.0.1:0"), []byte(httpAddr), 1), 0o600), "write config")

	ctx := stewardtest.Ctx(t, 60*time.Second)
	mark := owner.Mark()
	var logs bytes.Buffer
	cmd := exec.Command(bin, "run", "--config", path)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	stewardtest.MustOK(t, cmd.Start(), "start steward")
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		if t.Failed() {
			t.Logf("steward's log:\n%s", logs.String())
		}
	})
	waitAfter(t, ctx, owner, mark, "the binary joins the room", presenceOf(room, "Steward", ""))

	// A bad file is refused by `steward reload` and by SIGHUP; the bot stays.
	good, err := os.ReadFile(path)
	stewardtest.MustOK(t, err, "read config")
	stewardtest.MustOK(t, os.WriteFile(path, append(append([]byte(nil), good...), []byte("no_such_key: 1\n")...), 0o600), "write bad config")
	out, err := exec.Command(bin, "reload", "--config", path).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "no_such_key") {
		t.Errorf("steward reload of a bad file: err %v\n%s", err, out)
	}
	stewardtest.MustOK(t, cmd.Process.Signal(syscall.SIGHUP), "SIGHUP")
	stewardtest.MustOK(t, os.WriteFile(path, good, 0o600), "restore config")
	out, err = exec.Command(bin, "reload", "--config", path).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "reloaded") {
		t.Errorf("steward reload of a good file: err %v\n%s", err, out)
	}
	officer := env.Client("officer")
	commandWant(t, ctx, env, officer, "status", room+`: joined as "Steward"`)

	// SIGTERM: the bot leaves the room with an unavailable presence, then exits 0.
	mark = owner.Mark()
	stewardtest.MustOK(t, cmd.Process.Signal(syscall.SIGTERM), "SIGTERM")
	waitAfter(t, ctx, owner, mark, "Steward leaves on SIGTERM", presenceOf(room, "Steward", "unavailable"))
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("steward exited with %v after SIGTERM", err)
		}
	case <-ctx.Done():
		t.Fatal("steward did not exit after SIGTERM")
	}
	for _, secret := range []string{"pass-bot"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log shows the password %q", secret)
		}
	}
}
