// Package house holds the meta tests that keep the house rules of
// docs/style.md §11 true: policy READMEs that match their Specs, an example
// config that loads, the import tiers, no clocks or goroutines in policy
// code, no global logger, and the naming rules. They read the source tree
// (through `go list`) and need no server.
package house

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"go.yaml.in/yaml/v3"

	"github.com/steward-xmpp/steward/internal/app"
	"github.com/steward-xmpp/steward/policies"
	"github.com/steward-xmpp/steward/policies/builtin"
)

const module = "github.com/steward-xmpp/steward"

// pkg is what `go list -json` says of one package.
type pkg struct {
	ImportPath   string
	Dir          string
	Name         string
	GoFiles      []string
	TestGoFiles  []string
	XTestGoFiles []string
	Imports      []string
	Deps         []string
	TestImports  []string
	XTestImports []string
}

// rel is the package's path inside the module ("" for the root).
func (p pkg) rel() string {
	return strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
}

var (
	listOnce sync.Once
	listPkgs []pkg
	listErr  error
)

// packages lists every package of the module.
func packages(t *testing.T) []pkg {
	t.Helper()
	listOnce.Do(func() {
		cmd := exec.Command("go", "list", "-json", module+"/...")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			listErr = errors.New("go list: " + err.Error() + ": " + stderr.String())
			return
		}
		dec := json.NewDecoder(bytes.NewReader(out))
		for {
			var p pkg
			if err := dec.Decode(&p); err == io.EOF {
				break
			} else if err != nil {
				listErr = err
				return
			}
			listPkgs = append(listPkgs, p)
		}
	})
	if listErr != nil {
		t.Fatal(listErr)
	}
	return listPkgs
}

// root is the module's directory.
func root(t *testing.T) string {
	t.Helper()
	for _, p := range packages(t) {
		if p.ImportPath == module+"/policies" {
			return filepath.Dir(p.Dir)
		}
	}
	t.Fatal("go list does not show the policies package")
	return ""
}

// isPolicyCode reports whether rel is policy code: policies/... (the SPI,
// the policies and their list), vetting and rtbl.
func isPolicyCode(rel string) bool {
	return rel == "policies" || strings.HasPrefix(rel, "policies/") ||
		rel == "vetting" || strings.HasPrefix(rel, "vetting/") ||
		rel == "rtbl" || strings.HasPrefix(rel, "rtbl/")
}

func specs() []policies.Spec { return builtin.Specs(builtin.Services{}) }

// specPackage is the import path of the package that declares spec,
// found from where its New function was compiled.
func specPackage(t *testing.T, s policies.Spec) string {
	t.Helper()
	if s.New == nil {
		t.Fatalf("spec %q has no New", s.Name)
	}
	name := runtime.FuncForPC(reflect.ValueOf(s.New).Pointer()).Name()
	// "github.com/steward-xmpp/steward/rtbl.Spec.func2": the package ends
	// at the first dot after the last slash.
	slash := strings.LastIndex(name, "/")
	dot := strings.Index(name[slash+1:], ".")
	if slash < 0 || dot < 0 {
		t.Fatalf("spec %q: cannot tell the package of %s", s.Name, name)
	}
	return name[:slash+1+dot]
}

// readmePackages maps each package that must have a policy README to the
// Spec it declares: the package of every built-in Spec, every policies/*
// subpackage (but builtin and policytest) and vetting and rtbl.
func readmePackages(t *testing.T) map[string]policies.Spec {
	t.Helper()
	out := map[string]policies.Spec{}
	for _, s := range specs() {
		p := specPackage(t, s)
		if prev, ok := out[p]; ok {
			t.Errorf("package %s declares two specs, %q and %q", p, prev.Name, s.Name)
		}
		out[p] = s
	}
	for _, p := range packages(t) {
		rel := p.rel()
		must := rel == "vetting" || rel == "rtbl" ||
			(strings.HasPrefix(rel, "policies/") && strings.Count(rel, "/") == 1 &&
				rel != "policies/builtin" && rel != "policies/policytest")
		if _, ok := out[p.ImportPath]; must && !ok {
			t.Errorf("%s has no Spec in policies/builtin.Specs: add it to the list (or move the package)", rel)
		}
	}
	return out
}

var (
	yamlBlock = regexp.MustCompile("(?s)```ya?ml\n(.*?)```")
	readmeH   = []string{"## Name", "## Description", "## Configuration", "## Commands", "## Reacts to / May do", "## Metrics", "## Examples", "## Limitations"}
)

// TestPolicyReadmes: every policy package has a README with the house
// headings, and every YAML block in it decodes strictly into its Spec's
// config and validates.
func TestPolicyReadmes(t *testing.T) {
	dirs := map[string]string{}
	for _, p := range packages(t) {
		dirs[p.ImportPath] = p.Dir
	}
	for path, spec := range readmePackages(t) {
		t.Run(spec.Name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(dirs[path], "README.md"))
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			text := string(b)
			hasHeading := func(h string) bool {
				return regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(h) + `\s*$`).MatchString(text)
			}
			pkgName := path[strings.LastIndex(path, "/")+1:]
			if !hasHeading("# "+spec.Name) && !hasHeading("# "+pkgName) {
				t.Errorf("README.md lacks the title %q", "# "+spec.Name)
			}
			for _, h := range readmeH {
				if !hasHeading(h) {
					t.Errorf("README.md lacks the heading %q", h)
				}
			}
			blocks := yamlBlock.FindAllStringSubmatchIndex(text, -1)
			if len(blocks) == 0 {
				t.Fatal("README.md has no ```yaml block")
			}
			confAt := strings.Index(text, "\n## Configuration")
			checkedKeys := false
			for i, m := range blocks {
				src := text[m[2]:m[3]]
				sections, err := policySections(spec.Name, src)
				if err != nil {
					t.Errorf("yaml block %d: %v", i+1, err)
					continue
				}
				for _, sec := range sections {
					cfg, err := decodeSection(spec, sec)
					if err != nil {
						t.Errorf("yaml block %d does not decode into %s's config: %v", i+1, spec.Name, err)
						continue
					}
					if err := cfg.Validate(); err != nil {
						t.Errorf("yaml block %d does not validate: %v", i+1, err)
					}
				}
				// The first block after "## Configuration" shows every key.
				if !checkedKeys && confAt >= 0 && m[0] > confAt && len(sections) == 1 {
					checkedKeys = true
					for _, k := range configKeys(spec.NewConfig()) {
						if _, ok := sections[0][k]; !ok {
							t.Errorf("the Configuration block lacks the key %q", k)
						}
					}
				}
			}
			if !checkedKeys {
				t.Error("no YAML block of one policy section under ## Configuration")
			}
		})
	}
}

// policySections finds the policy's sections in a README YAML block: a
// whole config file (rooms[].policies.<name>), a block keyed by the
// policy's name, or the section itself.
func policySections(name, src string) ([]map[string]any, error) {
	var doc map[string]any
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		return nil, err
	}
	if rooms, ok := doc["rooms"].([]any); ok {
		var out []map[string]any
		for _, r := range rooms {
			rm, _ := r.(map[string]any)
			pm, _ := rm["policies"].(map[string]any)
			if sec, ok := pm[name]; ok {
				m, ok := sec.(map[string]any)
				if !ok && sec != nil {
					return nil, errors.New("rooms[].policies." + name + " is not a mapping")
				}
				out = append(out, m)
			}
		}
		if len(out) == 0 {
			return nil, errors.New("a config file with no rooms[].policies." + name)
		}
		return out, nil
	}
	if sec, ok := doc[name]; ok && len(doc) == 1 {
		m, ok := sec.(map[string]any)
		if !ok && sec != nil {
			return nil, errors.New(name + " is not a mapping")
		}
		return []map[string]any{m}, nil
	}
	return []map[string]any{doc}, nil
}

// decodeSection decodes a section the way the loader does: enabled and
// dry_run belong to the bot; the rest goes strictly (unknown keys are
// errors) into a fresh config holding the defaults.
func decodeSection(spec policies.Spec, sec map[string]any) (policies.Config, error) {
	cfg := spec.NewConfig()
	rest := map[string]any{}
	for k, v := range sec {
		if k != "enabled" && k != "dry_run" {
			rest[k] = v
		}
	}
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		DecodeHook: mapstructure.ComposeDecodeHookFunc(
			mapstructure.StringToTimeDurationHookFunc(),
			mapstructure.StringToSliceHookFunc(","),
		),
		ErrorUnused: true,
		TagName:     "mapstructure",
		Result:      cfg,
	})
	if err != nil {
		return nil, err
	}
	return cfg, dec.Decode(rest)
}

// configKeys lists the top-level keys of a config struct.
func configKeys(c policies.Config) []string {
	t := reflect.TypeOf(c)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	var keys []string
	for f := range t.Fields() {
		tag, _, _ := strings.Cut(f.Tag.Get("mapstructure"), ",")
		if !f.IsExported() || tag == "-" || tag == "" {
			continue
		}
		keys = append(keys, tag)
	}
	return keys
}

// TestExampleConfig: config.example.yaml loads with the built-in policies
// and has a section for every one of them.
func TestExampleConfig(t *testing.T) {
	path := filepath.Join(root(t), "config.example.yaml")
	if _, err := app.Load(path, []string{}); err != nil {
		t.Fatalf("config.example.yaml does not load: %v", err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range specs() {
		if !regexp.MustCompile(`(?m)^\s+` + regexp.QuoteMeta(s.Name) + `:`).Match(b) {
			t.Errorf("config.example.yaml has no %q section", s.Name)
		}
	}
}

// TestImportTiers: policy code never reaches the bot, XMPP sessions, Redis,
// viper or the config loader; only internal/config imports viper.
func TestImportTiers(t *testing.T) {
	pkgs := packages(t)
	// The JID value package is allowed, and with it what it imports.
	cmd := exec.Command("go", "list", "-f", `{{join .Deps "\n"}}`, "mellium.im/xmpp/jid")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list mellium.im/xmpp/jid: %v", err)
	}
	allowed := map[string]bool{"mellium.im/xmpp/jid": true}
	for _, d := range strings.Fields(string(out)) {
		allowed[d] = true
	}
	forbidden := func(dep string) bool {
		switch {
		case allowed[dep]:
			return false
		case dep == module+"/bot" || strings.HasPrefix(dep, module+"/bot/"),
			dep == module+"/internal/config",
			dep == "mellium.im/xmpp" || strings.HasPrefix(dep, "mellium.im/xmpp/"),
			strings.HasPrefix(dep, "github.com/redis/go-redis"),
			strings.HasPrefix(dep, "github.com/spf13/viper"):
			return true
		}
		return false
	}
	checked := 0
	for _, p := range pkgs {
		rel := p.rel()
		if isPolicyCode(rel) {
			checked++
			for _, d := range p.Deps {
				if forbidden(d) {
					t.Errorf("%s depends on %s (policy code must not: docs/style.md §1)", rel, d)
				}
			}
		}
		if rel == "internal/config" {
			continue
		}
		for _, imps := range [][]string{p.Imports, p.TestImports, p.XTestImports} {
			for _, i := range imps {
				if strings.HasPrefix(i, "github.com/spf13/viper") {
					t.Errorf("%s imports %s: only internal/config may", rel, i)
				}
			}
		}
	}
	if checked < 3 {
		t.Fatalf("checked %d policy packages, want at least policies, vetting and rtbl", checked)
	}
}

// clockFuncs are the time functions policy code must not use: its "now" is
// the event's At and its timers are Actions.Schedule.
var clockFuncs = []string{"Now", "Sleep", "After", "NewTimer", "AfterFunc", "Tick", "NewTicker", "Since", "Until"}

// TestPolicyCodeHasNoClockOrGoroutines walks the non-test files of the
// policy packages. rtbl/service.go is the process-wide RTBL service, which
// owns its clock and goroutines; policies/policytest is the test harness.
func TestPolicyCodeHasNoClockOrGoroutines(t *testing.T) {
	files := 0
	for _, p := range packages(t) {
		rel := p.rel()
		if !isPolicyCode(rel) || rel == "policies/policytest" {
			continue
		}
		for _, f := range p.GoFiles {
			if rel+"/"+f == "rtbl/service.go" {
				continue
			}
			files++
			path := filepath.Join(p.Dir, f)
			fset := token.NewFileSet()
			af, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range clockAndGoroutines(fset, af) {
				t.Error(v)
			}
		}
	}
	if files == 0 {
		t.Fatal("found no policy source files")
	}
}

// clockAndGoroutines reports every go statement and every use of a
// clockFuncs function of the (possibly renamed) time import in af.
func clockAndGoroutines(fset *token.FileSet, af *ast.File) []string {
	timeName := ""
	for _, im := range af.Imports {
		if im.Path.Value == `"time"` {
			timeName = "time"
			if im.Name != nil {
				timeName = im.Name.Name
			}
		}
	}
	var out []string
	ast.Inspect(af, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.GoStmt:
			out = append(out, fmt.Sprintf("%s: a go statement in policy code (policies never start goroutines)", fset.Position(n.Pos())))
		case *ast.SelectorExpr:
			if x, ok := n.X.(*ast.Ident); ok && timeName != "" && x.Name == timeName && slices.Contains(clockFuncs, n.Sel.Name) {
				out = append(out, fmt.Sprintf("%s: time.%s in policy code (use the event's At and Actions.Schedule)", fset.Position(n.Pos()), n.Sel.Name))
			}
		}
		return true
	})
	return out
}

// TestCheckersCatchViolations makes sure the checks above can fail: each
// is fed a small violation.
func TestCheckersCatchViolations(t *testing.T) {
	src := `package p

import clock "time"

func f() {
	go func() {}()
	_ = clock.Now
	clock.Sleep(1)
	_ = clock.Duration(0).String()
}
`
	fset := token.NewFileSet()
	af, err := parser.ParseFile(fset, "p.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := clockAndGoroutines(fset, af); len(got) != 3 {
		t.Errorf("clockAndGoroutines found %q, want the go statement, time.Now and time.Sleep", got)
	}
	spec := policies.Spec{Name: "demo", NewConfig: func() policies.Config { return &demoConfig{} }}
	for _, tc := range []struct{ name, yaml, want string }{
		{"unknown key", "demo:\n  turn: 3m\n  colour: red\n", "colour"},
		{"wrong type", "turn: soon\n", "turn"},
		{"file", "rooms:\n  - jid: a@b\n    policies:\n      demo: {enabled: true, tunr: 3m}\n", "tunr"},
	} {
		secs, err := policySections("demo", tc.yaml)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if len(secs) != 1 {
			t.Fatalf("%s: %d sections", tc.name, len(secs))
		}
		if _, err := decodeSection(spec, secs[0]); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: decodeSection = %v, want an error naming %q", tc.name, err, tc.want)
		}
	}
	secs, _ := policySections("demo", "enabled: true\ndry_run: true\nturn: 90s\nnames: a,b\n")
	c, err := decodeSection(spec, secs[0])
	if err != nil || c.(*demoConfig).Turn != 90*time.Second || len(c.(*demoConfig).Names) != 2 {
		t.Errorf("decodeSection = %+v, %v; want turn 90s and two names", c, err)
	}
	if got := configKeys(&demoConfig{}); !slices.Equal(got, []string{"turn", "names"}) {
		t.Errorf("configKeys = %v", got)
	}
}

type demoConfig struct {
	Turn  time.Duration `mapstructure:"turn"`
	Names []string      `mapstructure:"names"`
}

func (*demoConfig) Validate() error { return nil }

// TestNoGlobalLogger: zap is injected everywhere (docs/style.md §5).
func TestNoGlobalLogger(t *testing.T) {
	banned := regexp.MustCompile(`\bzap\.(L|S)\(|\bReplaceGlobals\(`)
	for _, p := range packages(t) {
		for _, f := range slices.Concat(p.GoFiles, p.TestGoFiles, p.XTestGoFiles) {
			path := filepath.Join(p.Dir, f)
			if filepath.Base(path) == "house_test.go" {
				continue // names the banned calls
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			for i, line := range strings.Split(string(b), "\n") {
				if banned.MatchString(line) {
					t.Errorf("%s:%d: global zap logger: %s", path, i+1, strings.TrimSpace(line))
				}
			}
		}
	}
}

var snake = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// TestNames: Spec names are unique snake_case; Go file names have no
// hyphens.
func TestNames(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range specs() {
		if !snake.MatchString(s.Name) {
			t.Errorf("spec name %q is not snake_case", s.Name)
		}
		if seen[s.Name] {
			t.Errorf("spec name %q is used twice", s.Name)
		}
		seen[s.Name] = true
	}
	err := filepath.WalkDir(root(t), func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root(t) && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(d.Name(), ".go") && strings.Contains(d.Name(), "-") {
			t.Errorf("%s: Go file names use snake_case, without hyphens", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
