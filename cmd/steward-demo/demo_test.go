package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/steward-xmpp/steward/internal/testenv"
)

// TestIntegrationDemoOnce plays the whole demo scenario against real
// servers, as `scripts/demo --once` does, so the demo cannot rot unnoticed.
func TestIntegrationDemoOnce(t *testing.T) {
	if !testenv.ProsodyInstalled() {
		t.Skip("prosody not installed: run scripts/test")
	}
	var out bytes.Buffer
	status := run(t.Context(), &out, options{once: true, stepWait: 30 * time.Second})
	if status != 0 {
		t.Fatalf("the demo exited with status %d; transcript:\n%s", status, out.String())
	}
	for _, want := range []string{
		"Approved ?Alice", "Welcome to the lobby", "reason \"listed on demo RTBL\"", "Undone: ", "All 5 steps happened",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the transcript lacks %q:\n%s", want, out.String())
		}
	}
}
