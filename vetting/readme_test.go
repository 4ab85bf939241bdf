package vetting_test

import (
	"fmt"
	"os"
	"reflect"
	"regexp"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/steward-xmpp/steward/vetting"
)

// TestReadmeConfig checks that every YAML block in the README decodes into
// Config and validates, and that the Configuration block lists every key
// with its default value.
func TestReadmeConfig(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for _, h := range []string{"# vetting", "## Name", "## Description", "## Configuration", "## Commands", "## Reacts to / May do", "## Metrics", "## Examples", "## Limitations"} {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(h) + `$`).MatchString(text) {
			t.Errorf("README lacks the heading %q", h)
		}
	}
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(text, -1)
	if len(blocks) < 2 {
		t.Fatalf("README has %d YAML blocks, want the configuration and an example", len(blocks))
	}
	for i, blk := range blocks {
		var doc map[string]map[string]any
		if err := yaml.Unmarshal([]byte(blk[1]), &doc); err != nil {
			t.Fatalf("block %d: %v", i, err)
		}
		c := vetting.Defaults()
		if err := decodeStrict(doc["vetting"], c); err != nil {
			t.Fatalf("block %d: %v", i, err)
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("block %d: %v", i, err)
		}
		if i == 0 {
			if !reflect.DeepEqual(c, vetting.Defaults()) {
				t.Errorf("the Configuration block is not the defaults:\n%+v\nwant\n%+v", c, vetting.Defaults())
			}
			tags := reflect.TypeFor[vetting.Config]()
			for f := range tags.Fields() {
				if _, ok := doc["vetting"][f.Tag.Get("mapstructure")]; !ok {
					t.Errorf("the Configuration block lacks %s", f.Tag.Get("mapstructure"))
				}
			}
		}
	}
}

// decodeStrict decodes a YAML map onto the mapstructure-tagged fields of
// *out, as the config loader does (unknown keys are errors, durations are
// strings). github.com/go-viper/mapstructure is not in go.mod yet, so this
// covers the handful of kinds Config uses.
func decodeStrict(in map[string]any, out any) error {
	v := reflect.ValueOf(out).Elem()
	fields := map[string]reflect.Value{}
	for i := range v.NumField() {
		fields[v.Type().Field(i).Tag.Get("mapstructure")] = v.Field(i)
	}
	for k, raw := range in {
		f, ok := fields[k]
		if !ok {
			return fmt.Errorf("unknown key %q", k)
		}
		switch {
		case f.Type() == reflect.TypeFor[time.Duration]():
			s, ok := raw.(string)
			if !ok {
				return fmt.Errorf("%s: want a duration string, got %T", k, raw)
			}
			d, err := time.ParseDuration(s)
			if err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
			f.SetInt(int64(d))
		case f.Kind() == reflect.String:
			s, ok := raw.(string)
			if !ok {
				return fmt.Errorf("%s: want a string, got %T", k, raw)
			}
			f.SetString(s)
		case f.Kind() == reflect.Int:
			n, ok := raw.(int)
			if !ok {
				return fmt.Errorf("%s: want a number, got %T", k, raw)
			}
			f.SetInt(int64(n))
		case f.Kind() == reflect.Bool:
			b, ok := raw.(bool)
			if !ok {
				return fmt.Errorf("%s: want true or false, got %T", k, raw)
			}
			f.SetBool(b)
		case f.Kind() == reflect.Slice:
			list, ok := raw.([]any)
			if !ok {
				return fmt.Errorf("%s: want a list, got %T", k, raw)
			}
			ss := []string{}
			for _, x := range list {
				s, ok := x.(string)
				if !ok {
					return fmt.Errorf("%s: want strings, got %T", k, x)
				}
				ss = append(ss, s)
			}
			f.Set(reflect.ValueOf(ss))
		default:
			return fmt.Errorf("%s: unsupported kind %s", k, f.Kind())
		}
	}
	return nil
}
