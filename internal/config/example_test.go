package config_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/steward-xmpp/steward/internal/config"
)

// check-config prints every problem with its key's full path.
func ExampleFormatErrors() {
	dir, err := os.MkdirTemp("", "steward-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "config.yaml")
	yaml := `
xmpp:
  jid: steward@example.org
  pasword: hunter2
  ping_interval: 60
rooms:
  - jid: lounge@muc.example.org
    preset: strict
`
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		panic(err)
	}
	_, err = config.Load(path, nil, []string{"STEWARD_XMPP_TLS=direct"})
	fmt.Println(config.FormatErrors(err))
	// Output:
	// rooms[0].preset: unknown preset "strict"; valid presets: broadcast, custom, open, vetted
	// xmpp.password: required: set xmpp.password, xmpp.password_file or the STEWARD_XMPP_PASSWORD environment variable
	// xmpp.pasword: unknown key (did you mean "password"?)
	// xmpp.ping_interval: expected a duration such as "30s" or "5m", got a number (60)
}
