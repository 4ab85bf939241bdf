package testenv

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// RedisURLEnv names the variable that points tests at an existing Redis
// (scripts/test and CI set it); then no private server is started.
const RedisURLEnv = "STEWARD_TEST_REDIS_URL"

// Redis is a private redis-server, or the one named by RedisURLEnv.
type Redis struct {
	url    string
	dir    string
	cmd    *exec.Cmd
	exited chan struct{}
}

// StartRedis returns the Redis named by STEWARD_TEST_REDIS_URL if set,
// otherwise starts redis-server on a free loopback port with persistence
// off, in a temporary directory, and returns once it answers PING.
func StartRedis() (*Redis, error) {
	if u := os.Getenv(RedisURLEnv); u != "" {
		return &Redis{url: u}, nil
	}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, errors.New("testenv: redis-server not found: install redis-server or set " + RedisURLEnv)
	}
	dir, err := os.MkdirTemp("", "steward-redis-")
	if err != nil {
		return nil, fmt.Errorf("testenv: %w", err)
	}
	port, err := freePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	cmd := exec.Command(bin,
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no",
		"--dir", dir, "--logfile", filepath.Join(dir, "redis.log"),
		"--daemonize", "no")
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("testenv: start redis-server: %w", err)
	}
	r := &Redis{url: "redis://" + addr + "/0", dir: dir, cmd: cmd, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(r.exited)
	}()
	deadline := time.Now().Add(startTimeout)
	for !redisPing(addr) {
		select {
		case <-r.exited:
			log, _ := os.ReadFile(filepath.Join(dir, "redis.log"))
			os.RemoveAll(dir)
			return nil, fmt.Errorf("testenv: redis-server exited during start-up:\n%s", log)
		default:
		}
		if time.Now().After(deadline) {
			_ = r.Stop()
			return nil, fmt.Errorf("testenv: redis-server not answering on %s after %s", addr, startTimeout)
		}
		time.Sleep(pollEvery)
	}
	return r, nil
}

// MustRedis is StartRedis for a test: it skips t when no Redis is
// available and stops the server when t ends.
func MustRedis(t testing.TB) *Redis {
	t.Helper()
	if os.Getenv(RedisURLEnv) == "" {
		if _, err := exec.LookPath("redis-server"); err != nil {
			t.Skip("redis-server not installed and " + RedisURLEnv + " unset: run scripts/test")
		}
	}
	r, err := StartRedis()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Stop(); err != nil {
			t.Errorf("stop redis: %v", err)
		}
	})
	return r
}

// URL is redis://host:port/db.
func (r *Redis) URL() string { return r.url }

// Stop ends a private server and removes its directory; for an external
// Redis it does nothing.
func (r *Redis) Stop() error {
	if r.cmd == nil {
		return nil
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.exited:
	case <-time.After(stopTimeout):
		_ = r.cmd.Process.Kill()
		<-r.exited
	}
	r.cmd = nil
	if err := os.RemoveAll(r.dir); err != nil {
		return fmt.Errorf("testenv: %w", err)
	}
	return nil
}

// redisPing reports whether a Redis at addr answers PING.
func redisPing(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "+PONG")
}
