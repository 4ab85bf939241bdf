// Package testenv starts private servers for tests and the demo: a Prosody
// with MUC, pubsub and (optionally) mod_muc_rtbl, and a Redis. Each lives in
// its own temporary directory on free loopback ports and never touches the
// system services.
//
// In tests use MustProsody(t) and MustRedis(t): they skip the test with a
// reason when the server is not installed, and stop it when the test ends.
//
//	p := testenv.MustProsody(t, testenv.ProsodyOptions{})
//	p.MustRegister(t, "bot", "pass-bot")
//	// dial p.Addr() as bot@localhost with TLS "insecure_plain"
package testenv

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	_ "embed"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"text/template"
	"time"
)

// Paths of the Prosody binaries (Debian's prosody package).
const (
	ProsodyBin    = "/usr/bin/prosody"
	ProsodyCtlBin = "/usr/bin/prosodyctl"
)

// Hosts served by the private Prosody.
const (
	Domain  = "localhost"
	MUCHost = "conference.localhost"
	PubSub  = "pubsub.localhost"
	RTBLMUC = "rtblconf.localhost"
	// OtherDomain is a second virtual host, for domain-wide RTBL entries.
	OtherDomain = "evil.localhost"
)

const (
	startTimeout = 20 * time.Second
	stopTimeout  = 10 * time.Second
	pollEvery    = 20 * time.Millisecond
)

//go:embed prosody.cfg.lua.tmpl
var prosodyTmpl string

//go:embed mod_steward_late_rtbl.lua
var lateRTBLModule []byte

var cfgTemplate = template.Must(template.New("prosody.cfg.lua").Parse(prosodyTmpl))

// ProsodyOptions shape the private server.
type ProsodyOptions struct {
	// RTBLMUC adds a second MUC service, rtblconf.localhost, guarded by
	// mod_muc_rtbl reading RTBLNode on pubsub.localhost. The node is created
	// at start; publish entries after start (Prosody ignores stored items).
	RTBLMUC bool
	// RTBLNode defaults to "muc_bans_sha256".
	RTBLNode string
	// PubSubAdmins may create nodes and publish anywhere on
	// pubsub.localhost; default bot@localhost and feeder@localhost.
	PubSubAdmins []string
	// Debug logs at debug level (every stanza) instead of info.
	Debug bool
	// Keep leaves the directory in place after Stop, for inspection.
	Keep bool
}

// Prosody is a running private server.
type Prosody struct {
	opts          ProsodyOptions
	dir           string
	cfgPath       string
	c2sPort       int
	directTLSPort int

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has been waited for
}

// ProsodyInstalled reports whether the Prosody binaries are present.
func ProsodyInstalled() bool {
	_, err1 := os.Stat(ProsodyBin)
	_, err2 := os.Stat(ProsodyCtlBin)
	return err1 == nil && err2 == nil
}

// StartProsody writes a config into a new temporary directory, makes a
// self-signed certificate, checks the config and starts Prosody. It returns
// once the client port accepts connections (and, with RTBLMUC, once
// mod_muc_rtbl has subscribed).
func StartProsody(opts ProsodyOptions) (*Prosody, error) {
	if !ProsodyInstalled() {
		return nil, fmt.Errorf("testenv: %s not found: install prosody (scripts/test does it)", ProsodyBin)
	}
	if opts.RTBLNode == "" {
		opts.RTBLNode = "muc_bans_sha256"
	}
	if opts.PubSubAdmins == nil {
		opts.PubSubAdmins = []string{"bot@" + Domain, "feeder@" + Domain}
	}
	// A short path: the admin socket must fit in sun_path (108 bytes).
	dir, err := os.MkdirTemp("", "steward-prosody-")
	if err != nil {
		return nil, fmt.Errorf("testenv: %w", err)
	}
	p := &Prosody{opts: opts, dir: dir, cfgPath: filepath.Join(dir, "prosody.cfg.lua")}
	if err := p.prepare(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := p.start(); err != nil {
		p.stopProcess(syscall.SIGKILL)
		tail := p.LogTail()
		if !opts.Keep {
			os.RemoveAll(dir)
		}
		return nil, fmt.Errorf("%w\n--- prosody log ---\n%s", err, tail)
	}
	return p, nil
}

// MustProsody starts a private Prosody for t and stops it when t ends. It
// skips t if Prosody is not installed, and prints the server log if t
// failed.
func MustProsody(t testing.TB, opts ProsodyOptions) *Prosody {
	t.Helper()
	if !ProsodyInstalled() {
		t.Skip("prosody not installed: run scripts/test")
	}
	p, err := StartProsody(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("--- prosody log (%s) ---\n%s", p.dir, p.LogTail())
		}
		if err := p.Stop(); err != nil {
			t.Errorf("stop prosody: %v", err)
		}
	})
	return p
}

func (p *Prosody) prepare() error {
	for _, sub := range []string{"data", "certs", "modules"} {
		if err := os.MkdirAll(filepath.Join(p.dir, sub), 0o700); err != nil {
			return fmt.Errorf("testenv: %w", err)
		}
	}
	var err error
	if p.c2sPort, err = freePort(); err != nil {
		return err
	}
	if p.directTLSPort, err = freePort(); err != nil {
		return err
	}
	if err := writeSelfSigned(filepath.Join(p.dir, "certs"), Domain, MUCHost, PubSub, RTBLMUC, OtherDomain); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(p.dir, "modules", "mod_steward_late_rtbl.lua"), lateRTBLModule, 0o600); err != nil {
		return fmt.Errorf("testenv: %w", err)
	}
	level := "info"
	if p.opts.Debug {
		level = "debug"
	}
	var cfg bytes.Buffer
	err = cfgTemplate.Execute(&cfg, map[string]any{
		"Dir":           p.dir,
		"LogLevel":      level,
		"C2SPort":       p.c2sPort,
		"DirectTLSPort": p.directTLSPort,
		"PubSubAdmins":  p.opts.PubSubAdmins,
		"RTBLMUC":       p.opts.RTBLMUC,
		"RTBLNode":      p.opts.RTBLNode,
	})
	if err != nil {
		return fmt.Errorf("testenv: render prosody config: %w", err)
	}
	if err := os.WriteFile(p.cfgPath, cfg.Bytes(), 0o600); err != nil {
		return fmt.Errorf("testenv: %w", err)
	}
	if out, err := p.ctl(context.Background(), "check", "config"); err != nil {
		return fmt.Errorf("testenv: prosodyctl check config: %w\n%s", err, out)
	}
	return nil
}

// start launches the process and waits until it serves.
func (p *Prosody) start() error {
	logPath := filepath.Join(p.dir, "prosody.log")
	var logOffset int64
	if fi, err := os.Stat(logPath); err == nil {
		logOffset = fi.Size()
	}
	out, err := os.OpenFile(filepath.Join(p.dir, "stdout.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("testenv: %w", err)
	}
	defer out.Close()
	cmd := exec.Command(ProsodyBin, "--config", p.cfgPath, "-F")
	cmd.Dir = p.dir
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("testenv: start prosody: %w", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	p.mu.Lock()
	p.cmd, p.exited = cmd, exited
	p.mu.Unlock()

	deadline := time.Now().Add(startTimeout)
	ready := func() (bool, error) {
		c, err := net.DialTimeout("tcp", p.Addr(), time.Second)
		if err != nil {
			return false, nil
		}
		c.Close()
		if !p.opts.RTBLMUC {
			return true, nil
		}
		log := readFrom(logPath, logOffset)
		if strings.Contains(log, "steward_late_rtbl: ") || strings.Contains(log, "Failed to subscribe to RTBL") {
			return false, errors.New("testenv: mod_muc_rtbl did not start (see log)")
		}
		return strings.Contains(log, "RTBL active"), nil
	}
	for {
		select {
		case <-exited:
			return fmt.Errorf("testenv: prosody exited during start-up (%s)", cmd.ProcessState)
		default:
		}
		ok, err := ready()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("testenv: prosody not ready on %s after %s", p.Addr(), startTimeout)
		}
		time.Sleep(pollEvery)
	}
}

// Addr is the plaintext/STARTTLS client address, 127.0.0.1:port.
func (p *Prosody) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(p.c2sPort)) }

// DirectTLSAddr is the direct-TLS (XEP-0368) client address.
func (p *Prosody) DirectTLSAddr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(p.directTLSPort))
}

// Domain is the virtual host, "localhost".
func (p *Prosody) Domain() string { return Domain }

// MUC is the MUC service, "conference.localhost".
func (p *Prosody) MUC() string { return MUCHost }

// PubSub is the pubsub service, "pubsub.localhost".
func (p *Prosody) PubSub() string { return PubSub }

// RTBLMUC is the RTBL-guarded MUC service ("rtblconf.localhost"); it exists
// only with ProsodyOptions.RTBLMUC.
func (p *Prosody) RTBLMUC() string { return RTBLMUC }

// RTBLNode is the pubsub node mod_muc_rtbl reads.
func (p *Prosody) RTBLNode() string { return p.opts.RTBLNode }

// CAFile is the PEM certificate to trust for STARTTLS and direct TLS; the
// server name is "localhost".
func (p *Prosody) CAFile() string { return filepath.Join(p.dir, "certs", "localhost.crt") }

// Dir is the server's private directory.
func (p *Prosody) Dir() string { return p.dir }

// Register creates an account user@localhost.
func (p *Prosody) Register(user, pass string) error { return p.RegisterAt(user, Domain, pass) }

// RegisterAt creates an account user@host; host is Domain or OtherDomain.
func (p *Prosody) RegisterAt(user, host, pass string) error {
	out, err := p.ctl(context.Background(), "register", user, host, pass)
	if err != nil {
		return fmt.Errorf("testenv: register %s@%s: %w\n%s", user, host, err, out)
	}
	return nil
}

// MustRegister is Register that fails t on error.
func (p *Prosody) MustRegister(t testing.TB, user, pass string) {
	t.Helper()
	if err := p.Register(user, pass); err != nil {
		t.Fatal(err)
	}
}

// Shell runs one prosodyctl shell command, e.g. "c2s:close('bot@localhost')",
// and returns its output.
func (p *Prosody) Shell(cmd string) (string, error) {
	out, err := p.ctl(context.Background(), "shell", cmd)
	if err != nil {
		return out, fmt.Errorf("testenv: prosodyctl shell %q: %w\n%s", cmd, err, out)
	}
	return out, nil
}

// Kill stops the server with SIGKILL, as a crash would. Restart brings it
// back.
func (p *Prosody) Kill() error {
	p.stopProcess(syscall.SIGKILL)
	return nil
}

// Freeze stops the server with SIGSTOP: connections stay open but nothing
// is answered. Thaw resumes it.
func (p *Prosody) Freeze() error { return p.signal(syscall.SIGSTOP) }

// Thaw resumes a frozen server with SIGCONT.
func (p *Prosody) Thaw() error { return p.signal(syscall.SIGCONT) }

func (p *Prosody) signal(sig syscall.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return errors.New("testenv: prosody is not running")
	}
	return p.cmd.Process.Signal(sig)
}

// Restart kills the server and starts it again with the same data and
// ports, returning once it serves.
func (p *Prosody) Restart() error {
	p.stopProcess(syscall.SIGKILL)
	return p.start()
}

// Stop ends the server (SIGTERM, then SIGKILL if it lingers) and removes
// its directory unless Keep was set.
func (p *Prosody) Stop() error {
	p.stopProcess(syscall.SIGTERM)
	if p.opts.Keep {
		return nil
	}
	if err := os.RemoveAll(p.dir); err != nil {
		return fmt.Errorf("testenv: %w", err)
	}
	return nil
}

// stopProcess signals the process and waits for it to exit.
func (p *Prosody) stopProcess(sig syscall.Signal) {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.cmd = nil
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	// A frozen process must be resumed to act on SIGTERM.
	_ = cmd.Process.Signal(syscall.SIGCONT)
	_ = cmd.Process.Signal(sig)
	select {
	case <-exited:
	case <-time.After(stopTimeout):
		_ = cmd.Process.Kill()
		<-exited
	}
}

// LogTail returns the end of the server's log and its stdout, for
// diagnostics.
func (p *Prosody) LogTail() string {
	const maxLines = 60
	var b strings.Builder
	for _, name := range []string{"prosody.log", "stdout.log"} {
		data, err := os.ReadFile(filepath.Join(p.dir, name))
		if err != nil {
			continue
		}
		lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		if len(lines) > maxLines {
			lines = lines[len(lines)-maxLines:]
		}
		fmt.Fprintf(&b, "== %s ==\n%s\n", name, strings.Join(lines, "\n"))
	}
	return b.String()
}

// ctl runs prosodyctl against this server's config.
func (p *Prosody) ctl(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, ProsodyCtlBin, append([]string{"--config", p.cfgPath}, args...)...)
	cmd.Dir = p.dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// freePort asks the kernel for a free loopback TCP port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("testenv: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// writeSelfSigned writes localhost.crt and localhost.key (ECDSA P-256, valid
// for the given names and 127.0.0.1) into dir. The certificate is its own
// CA, so tests trust it through RootCAs.
func writeSelfSigned(dir string, names ...string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("testenv: generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return fmt.Errorf("testenv: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: names[0], Organization: []string{"Steward tests"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(7 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              names,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return fmt.Errorf("testenv: create certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("testenv: %w", err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	if err := os.WriteFile(filepath.Join(dir, "localhost.crt"), certPEM, 0o644); err != nil {
		return fmt.Errorf("testenv: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "localhost.key"), keyPEM, 0o600); err != nil {
		return fmt.Errorf("testenv: %w", err)
	}
	return nil
}

// readFrom returns the file's content after offset ("" if unreadable).
func readFrom(path string, offset int64) string {
	data, err := os.ReadFile(path)
	if err != nil || int64(len(data)) < offset {
		return ""
	}
	return string(data[offset:])
}
