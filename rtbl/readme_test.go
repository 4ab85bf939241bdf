package rtbl

import (
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestReadme keeps README.md's headings and its room YAML block in step
// with Config (the house test decodes the block; this one needs no YAML
// library).
func TestReadme(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, h := range []string{"# rtbl", "## Name", "## Description", "## Configuration", "## Commands", "## Reacts to / May do", "## Metrics", "## Examples", "## Limitations"} {
		if !strings.Contains(doc, "\n"+h+"\n") && !strings.HasPrefix(doc, h+"\n") {
			t.Errorf("README lacks heading %q", h)
		}
	}
	_, block, ok := strings.Cut(doc, "```yaml\n")
	if !ok {
		t.Fatal("README has no yaml block")
	}
	block, _, _ = strings.Cut(block, "```")
	var keys []string
	for _, line := range strings.Split(block, "\n") {
		if k, _, ok := strings.Cut(line, ":"); ok && k != "" && !strings.HasPrefix(k, " ") {
			keys = append(keys, k)
		}
	}
	want := []string{"enabled", "dry_run"}
	ct := reflect.TypeFor[Config]()
	for i := range ct.NumField() {
		if tag := ct.Field(i).Tag.Get("mapstructure"); tag != "" {
			want = append(want, tag)
		}
	}
	if !slices.Equal(keys, want) {
		t.Errorf("README room keys = %v, want %v", keys, want)
	}
	// Every command of the tree is documented.
	for _, c := range commands(&Service{})[0].Sub {
		if !strings.Contains(doc, "`rtbl "+c.Name) {
			t.Errorf("README does not document rtbl %s", c.Name)
		}
	}
}
