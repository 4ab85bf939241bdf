package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"

	"github.com/spf13/viper"

	"github.com/steward-xmpp/steward/policies"
)

// EnvPrefix starts the name of every environment variable that overrides a
// key: xmpp.password is STEWARD_XMPP_PASSWORD.
const EnvPrefix = "STEWARD"

// Load reads the YAML file at path, applies overrides from env (a list of
// "NAME=value" entries, as os.Environ returns), fills in defaults, decodes
// each room's policy sections with specs and validates the result.
//
// On failure the error is an errors.Join of *policies.KeyError, one per
// problem, each naming the key's full path; FormatErrors prints them.
// Relative paths in the file (xmpp.password_file, xmpp.tls_ca_file) are
// relative to the file's directory.
func Load(path string, specs []policies.Spec, env []string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return parse(data, path, specs, env)
}

// parse is Load after reading the file at path.
func parse(data []byte, path string, specs []policies.Spec, env []string) (*Config, error) {
	v := viper.New()
	v.SetConfigType("yaml")
	if err := v.ReadConfig(bytes.NewReader(data)); err != nil {
		var pe viper.ConfigParseError
		if errors.As(err, &pe) && pe.Unwrap() != nil {
			err = pe.Unwrap()
		}
		return nil, fmt.Errorf("config: %s: %w", path, err)
	}
	envErrs := applyEnv(v, v.AllSettings(), env)
	raw := v.AllSettings()

	// Decoding problems come first; validation then skips keys that already
	// have one, so a mistyped value is not also reported as missing.
	cleaned, decodeErrs := checkKeys("", raw, reflect.TypeFor[Config]())
	decodeErrs = append(decodeErrs, envErrs...)
	cfg := Defaults()
	decodeErrs = append(decodeErrs, policies.Flatten(decodeInto(cleaned, &cfg))...)

	rawRooms, _ := raw["rooms"].([]any)
	decodeErrs = append(decodeErrs, decodeRoomPolicies(&cfg, specs)...)

	var errs []error
	errs = append(errs, resolveFiles(&cfg, filepath.Dir(path))...)
	errs = append(errs, redisSource(&cfg, v.IsSet("redis.url"))...)
	errs = append(errs, roomDefaults(&cfg, rawRooms)...)
	errs = append(errs, validate(&cfg)...)

	all := append(decodeErrs, dropReported(errs, decodeErrs)...)
	if len(all) > 0 {
		return nil, errors.Join(all...)
	}
	return &cfg, nil
}

// dropReported removes errors about keys (or keys below them) that already
// have a decoding error.
func dropReported(errs, reported []error) []error {
	bad := map[string]bool{}
	for _, e := range reported {
		var ke *policies.KeyError
		if errors.As(e, &ke) && ke.Path != "" {
			bad[ke.Path] = true
		}
	}
	var out []error
	for _, e := range errs {
		var ke *policies.KeyError
		if errors.As(e, &ke) && covered(ke.Path, bad) {
			continue
		}
		out = append(out, e)
	}
	return out
}

func covered(path string, bad map[string]bool) bool {
	for p := path; p != ""; {
		if bad[p] {
			return true
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			return false
		}
		p = p[:i]
	}
	return false
}

// envKey is a key that an environment variable can set.
type envKey struct {
	key  string // xmpp.password
	name string // STEWARD_XMPP_PASSWORD
	typ  reflect.Type
}

// EnvNames returns the environment variable for every key that can be set
// from the environment, keyed by the key's path. Lists of mappings (rooms,
// rtbl.lists) can only be set in the file.
func EnvNames() map[string]string {
	out := map[string]string{}
	for _, k := range envKeys() {
		out[k.key] = k.name
	}
	return out
}

func envKeys() []envKey {
	var out []envKey
	var walk func(prefix string, t reflect.Type)
	walk = func(prefix string, t reflect.Type) {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		for f := range t.Fields() {
			name, _, _ := strings.Cut(f.Tag.Get("mapstructure"), ",")
			if name == "" || name == "-" {
				continue
			}
			key := join(prefix, name)
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			switch {
			case ft.Kind() == reflect.Struct && ft != durationType:
				walk(key, ft)
			case ft.Kind() == reflect.Slice && ft.Elem().Kind() != reflect.String:
				// Lists of mappings have no sensible one-string form.
			default:
				out = append(out, envKey{
					key:  key,
					name: EnvPrefix + "_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_")),
					typ:  ft,
				})
			}
		}
	}
	walk("", reflect.TypeFor[Config]())
	return out
}

// applyEnv sets every key whose variable is present in env. Booleans and
// numbers are parsed here, so that a bad value names its variable; strings,
// durations and comma-separated lists go through the usual decoding.
// A variable under a key that the file gives a value other than a mapping
// (xmpp: [1]) is not applied, so that the file's mistake is still reported.
func applyEnv(v *viper.Viper, file map[string]any, env []string) []error {
	vars := map[string]string{}
	for _, e := range env {
		if name, val, ok := strings.Cut(e, "="); ok && strings.HasPrefix(name, EnvPrefix+"_") {
			vars[name] = val
		}
	}
	if len(vars) == 0 {
		return nil
	}
	var errs []error
	for _, k := range envKeys() {
		val, ok := vars[k.name]
		if !ok {
			continue
		}
		var set any = val
		var err error
		switch k.typ.Kind() {
		case reflect.Bool:
			set, err = strconv.ParseBool(strings.TrimSpace(val))
			if err != nil {
				err = fmt.Errorf("expected true or false, got %q (from %s)", val, k.name)
			}
		case reflect.Int, reflect.Int64:
			set, err = strconv.Atoi(strings.TrimSpace(val))
			if err != nil {
				err = fmt.Errorf("expected a whole number, got %q (from %s)", val, k.name)
			}
		case reflect.Float64:
			set, err = strconv.ParseFloat(strings.TrimSpace(val), 64)
			if err != nil {
				err = fmt.Errorf("expected a number, got %q (from %s)", val, k.name)
			}
		}
		if k.typ == durationType {
			set, err = val, nil
		}
		if err != nil {
			errs = append(errs, &policies.KeyError{Path: k.key, Msg: err.Error()})
			continue
		}
		if shadowed(file, k.key) {
			continue
		}
		v.Set(k.key, set)
	}
	return errs
}

// shadowed reports whether a parent of key holds something other than a
// mapping in file.
func shadowed(file map[string]any, key string) bool {
	parts := strings.Split(key, ".")
	m := file
	for _, p := range parts[:len(parts)-1] {
		next, present := m[p]
		if !present || next == nil {
			return false
		}
		sub, ok := asMap(next)
		if !ok {
			return true
		}
		m = sub
	}
	return false
}

// resolveFiles reads xmpp.password_file and makes the file paths absolute.
func resolveFiles(c *Config, dir string) []error {
	var errs []error
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	x := &c.XMPP
	x.PasswordFile = abs(x.PasswordFile)
	x.TLSCAFile = abs(x.TLSCAFile)
	switch {
	case x.Password != "" && x.PasswordFile != "":
		errs = append(errs, policies.KeyErrorf("xmpp.password",
			"set either xmpp.password (or %s_XMPP_PASSWORD) or xmpp.password_file, not both", EnvPrefix))
	case x.PasswordFile != "":
		b, err := os.ReadFile(x.PasswordFile)
		switch {
		case err != nil:
			errs = append(errs, policies.KeyErrorf("xmpp.password_file", "cannot read the password: %v", err))
		case len(bytes.TrimRight(b, "\r\n")) == 0:
			errs = append(errs, policies.KeyErrorf("xmpp.password_file", "%s is empty", x.PasswordFile))
		default:
			x.Password = Secret(bytes.TrimRight(b, "\r\n"))
		}
	default:
		if x.Password == "" {
			errs = append(errs, policies.KeyErrorf("xmpp.password",
				"required: set xmpp.password, xmpp.password_file or the %s_XMPP_PASSWORD environment variable", EnvPrefix))
		}
	}
	if x.TLSCAFile != "" {
		if _, err := os.Stat(x.TLSCAFile); err != nil {
			errs = append(errs, policies.KeyErrorf("xmpp.tls_ca_file", "cannot read the CA bundle: %v", err))
		}
	}
	return errs
}

// redisSource clears the default URL when Sentinel or Cluster addresses are
// given, so that exactly one of URL and Addrs is set.
func redisSource(c *Config, urlSet bool) []error {
	if len(c.Redis.Addrs) == 0 {
		if c.Redis.MasterName != "" {
			return []error{policies.KeyErrorf("redis.master_name", "requires redis.addrs (the Sentinel addresses)")}
		}
		return nil
	}
	if urlSet {
		return []error{policies.KeyErrorf("redis.url", "set either redis.url or redis.addrs, not both")}
	}
	c.Redis.URL = ""
	return nil
}

// roomDefaults gives rooms without a nick the bot's nick and refuses an
// explicitly empty one.
func roomDefaults(c *Config, rawRooms []any) []error {
	var errs []error
	for i := range c.Rooms {
		r := &c.Rooms[i]
		set := false
		if i < len(rawRooms) {
			if m, ok := asMap(rawRooms[i]); ok {
				_, set = m["nick"]
			}
		}
		switch {
		case set && strings.TrimSpace(r.Nick) == "":
			errs = append(errs, policies.KeyErrorf(fmt.Sprintf("rooms[%d].nick", i),
				"must not be empty; leave it out to use xmpp.nick"))
		case !set:
			r.Nick = c.XMPP.Nick
		}
	}
	return errs
}
