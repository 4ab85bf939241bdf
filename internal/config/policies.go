package config

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/steward-xmpp/steward/policies"
)

// Presets lists, for each value of rooms[].preset, the policies it enables
// by default. A room's own `enabled:` wins over its preset. Names of
// policies that are not built in are skipped. An empty preset is "custom".
var Presets = map[string][]string{
	"custom":    {},
	"vetted":    {"vetting", "rtbl"},
	"open":      {"rtbl"},
	"broadcast": {"rtbl"},
}

// decodeRoomPolicies fills Room.Policies for every room: each section of
// rooms[i].policies is decoded into its Spec's config and validated, and
// every Spec the room leaves out gets its defaults.
func decodeRoomPolicies(c *Config, specs []policies.Spec) []error {
	byName := make(map[string]policies.Spec, len(specs))
	for _, s := range specs {
		byName[s.Name] = s
	}
	known := slices.Sorted(maps.Keys(byName))
	var errs []error
	for i := range c.Rooms {
		r := &c.Rooms[i]
		at := fmt.Sprintf("rooms[%d]", i)
		preset := r.Preset
		if preset == "" {
			preset = "custom"
		}
		enables, ok := Presets[preset]
		if !ok {
			errs = append(errs, policies.KeyErrorf(at+".preset", "unknown preset %q; valid presets: %s",
				r.Preset, strings.Join(slices.Sorted(maps.Keys(Presets)), ", ")))
		}
		r.Policies = make(map[string]PolicyConfig, len(specs))
		for _, name := range sortedKeys(r.PolicyRaw) {
			path := at + ".policies." + name
			spec, ok := byName[name]
			if !ok {
				msg := "unknown policy"
				if s := suggest(name, known); s != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", s)
				}
				errs = append(errs, policies.KeyErrorf(path, "%s; known policies: %s", msg, strings.Join(known, ", ")))
				continue
			}
			pc, es := decodePolicy(spec, r.PolicyRaw[name], slices.Contains(enables, name))
			errs = append(errs, policies.Flatten(policies.PrefixKeys(path, es))...)
			r.Policies[name] = pc
		}
		for _, spec := range specs {
			if _, ok := r.Policies[spec.Name]; ok {
				continue
			}
			pc := PolicyConfig{Enabled: slices.Contains(enables, spec.Name)}
			if spec.NewConfig != nil {
				pc.Config = spec.NewConfig()
			}
			// Defaults that need completing show up only where the preset
			// turns the policy on.
			if pc.Enabled && pc.Config != nil {
				errs = append(errs, policies.Flatten(policies.PrefixKeys(at+".policies."+spec.Name, pc.Config.Validate()))...)
			}
			r.Policies[spec.Name] = pc
		}
	}
	return errs
}

// decodePolicy decodes one rooms[i].policies.<name> section. Errors are
// relative to the section.
func decodePolicy(spec policies.Spec, raw any, presetEnabled bool) (PolicyConfig, error) {
	pc := PolicyConfig{Enabled: presetEnabled}
	if spec.NewConfig != nil {
		pc.Config = spec.NewConfig()
	}
	if raw == nil {
		raw = map[string]any{}
	}
	m, ok := asMap(raw)
	if !ok {
		return pc, &policies.KeyError{Msg: "expected a mapping of keys to values, got " + describe(reflect.ValueOf(raw), false)}
	}
	rest := maps.Clone(m)
	var errs []error
	takeBool := func(key string, dst *bool) {
		v, ok := rest[key]
		if !ok {
			return
		}
		delete(rest, key)
		if v == nil {
			return
		}
		b, ok := v.(bool)
		if !ok {
			errs = append(errs, &policies.KeyError{Path: key, Msg: "expected true or false, got " + describe(reflect.ValueOf(v), false)})
			return
		}
		*dst = b
	}
	takeBool("enabled", &pc.Enabled)
	takeBool("dry_run", &pc.DryRun)

	// Unknown keys of the section itself are checked here so that the
	// message can offer enabled and dry_run too.
	valid, remain := []string{}, false
	var t reflect.Type
	if pc.Config != nil {
		t = reflect.TypeOf(pc.Config)
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() == reflect.Struct {
			var fields map[string]reflect.Type
			fields, remain = structKeys(t)
			valid = slices.Collect(maps.Keys(fields))
		} else {
			remain = true // not a struct: leave it to the decoder
		}
	}
	valid = slices.Sorted(slices.Values(append(valid, "enabled", "dry_run")))
	var keyErrs []error
	if !remain {
		for _, k := range sortedKeys(rest) {
			if !slices.Contains(valid, strings.ToLower(k)) {
				keyErrs = append(keyErrs, unknownKey(k, k, valid))
				delete(rest, k)
			}
		}
	}
	errs = append(errs, keyErrs...)
	if pc.Config == nil {
		return pc, errors.Join(errs...)
	}
	cleaned, nested := checkKeys("", rest, t)
	keyErrs = append(keyErrs, nested...)
	errs = append(errs, nested...)
	decodeErrs := policies.Flatten(decodeInto(cleaned, pc.Config))
	errs = append(errs, decodeErrs...)
	// A section that did not decode would be validated with stale defaults,
	// which only adds confusing messages.
	if len(keyErrs) == 0 && len(decodeErrs) == 0 {
		errs = append(errs, policies.Flatten(pc.Config.Validate())...)
	}
	return pc, errors.Join(errs...)
}
