package config

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"

	"github.com/steward-xmpp/steward/policies"
)

// This file turns a generic YAML tree into typed structs. Three pieces keep
// every message precise: checkKeys reports unknown keys with their full path
// (and a suggestion), typeHook rejects wrong types with "expected …, got …",
// and keyErrors turns what is left of mapstructure's errors into KeyErrors.

var (
	durationType = reflect.TypeFor[time.Duration]()
	secretType   = reflect.TypeFor[Secret]()
)

// decodeInto decodes in on top of out (a pointer holding the defaults) the
// way every config section is decoded: strictly, with durations as "30s" and
// comma-separated strings accepted for lists.
func decodeInto(in any, out any) error {
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		DecodeHook:       typeHook,
		ErrorUnused:      true,
		WeaklyTypedInput: false,
		TagName:          "mapstructure",
		Result:           out,
	})
	if err != nil {
		return err
	}
	return keyErrors(dec.Decode(in))
}

// typeError is a wrong-type value; its message is shown to the user as is.
type typeError struct{ msg string }

func (e *typeError) Error() string { return e.msg }

func expected(what string, v reflect.Value, secret bool) error {
	return &typeError{msg: "expected " + what + ", got " + describe(v, secret)}
}

// describe names a YAML value for an error message. Secrets are described
// by kind only, so a mistyped password never reaches a log.
func describe(v reflect.Value, secret bool) string {
	for v.IsValid() && (v.Kind() == reflect.Interface || v.Kind() == reflect.Pointer) {
		if v.IsNil() {
			return "nothing"
		}
		v = v.Elem()
	}
	if !v.IsValid() {
		return "nothing"
	}
	switch v.Kind() {
	case reflect.String:
		if secret {
			return "a string"
		}
		s := v.String()
		if len(s) > 40 {
			s = s[:40] + "…"
		}
		return fmt.Sprintf("a string (%q)", s)
	case reflect.Bool:
		if secret {
			return "a boolean"
		}
		return fmt.Sprintf("a boolean (%v)", v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		if secret {
			return "a number"
		}
		return fmt.Sprintf("a number (%v)", v.Interface())
	case reflect.Map:
		return "a mapping"
	case reflect.Slice, reflect.Array:
		return "a list"
	default:
		return "a " + v.Kind().String()
	}
}

func isInt(k reflect.Kind) bool {
	switch k {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return true
	}
	return false
}

func isNumber(k reflect.Kind) bool {
	return isInt(k) || k == reflect.Float32 || k == reflect.Float64
}

// typeHook checks the YAML value against the target type before mapstructure
// sees it. It parses durations and splits comma-separated strings into lists
// (the form environment variables take); anything else that does not match
// exactly is an error saying what was expected.
func typeHook(from, to reflect.Value) (any, error) {
	for from.IsValid() && from.Kind() == reflect.Interface && !from.IsNil() {
		from = from.Elem()
	}
	if !from.IsValid() || (from.Kind() == reflect.Interface && from.IsNil()) {
		return nil, nil
	}
	t := to.Type()
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if from.Type() == t {
		// Already converted, when a pointer is decoded through its element.
		return from.Interface(), nil
	}
	fk := from.Kind()
	secret := t == secretType
	if t == durationType {
		if fk != reflect.String {
			return nil, expected(`a duration such as "30s" or "5m"`, from, false)
		}
		d, err := time.ParseDuration(strings.TrimSpace(from.String()))
		if err != nil {
			return nil, expected(`a duration such as "30s" or "5m"`, from, false)
		}
		return d, nil
	}
	switch t.Kind() {
	case reflect.Interface:
		return from.Interface(), nil
	case reflect.String:
		if fk != reflect.String {
			return nil, expected("a string", from, secret)
		}
	case reflect.Bool:
		if fk != reflect.Bool {
			return nil, expected("true or false", from, false)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := wholeNumber(from)
		if !ok {
			return nil, expected("a whole number", from, false)
		}
		if reflect.New(t).Elem().OverflowInt(n) {
			return nil, expected("a smaller number", from, false)
		}
		return reflect.ValueOf(n).Convert(t).Interface(), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		n, ok := wholeNumber(from)
		if !ok || n < 0 {
			return nil, expected("a whole number of 0 or more", from, false)
		}
		if reflect.New(t).Elem().OverflowUint(uint64(n)) {
			return nil, expected("a smaller number", from, false)
		}
		return reflect.ValueOf(uint64(n)).Convert(t).Interface(), nil
	case reflect.Float32, reflect.Float64:
		if !isNumber(fk) {
			return nil, expected("a number", from, false)
		}
	case reflect.Struct, reflect.Map:
		if fk != reflect.Map {
			return nil, expected("a mapping of keys to values", from, false)
		}
	case reflect.Slice, reflect.Array:
		if fk == reflect.String && t.Elem().Kind() == reflect.String {
			return splitList(from.String()), nil
		}
		if fk != reflect.Slice && fk != reflect.Array {
			return nil, expected("a list", from, false)
		}
	}
	return from.Interface(), nil
}

// wholeNumber accepts integers and floats without a fractional part.
func wholeNumber(v reflect.Value) (int64, bool) {
	switch {
	case v.CanInt():
		return v.Int(), true
	case v.CanUint():
		u := v.Uint()
		if u > math.MaxInt64 {
			return 0, false
		}
		return int64(u), true
	case v.CanFloat():
		f := v.Float()
		if f != math.Trunc(f) || f > math.MaxInt64 || f < math.MinInt64 {
			return 0, false
		}
		return int64(f), true
	}
	return 0, false
}

// splitList splits "a, b,c" into [a b c], dropping empty items.
func splitList(s string) []string {
	out := []string{}
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// mapKeyRE finds map-entry segments in mapstructure names ("a[key]"), which
// the user wrote as "a.key"; list indexes ("a[0]") stay as they are.
var mapKeyRE = regexp.MustCompile(`\[([^\]]*[^0-9\]][^\]]*)\]`)

// keyErrors turns mapstructure's errors into KeyErrors named by path.
func keyErrors(err error) error {
	if err == nil {
		return nil
	}
	// Decode wraps the joined errors in one fmt.Errorf; unwrap down to them.
	for {
		if _, ok := err.(interface{ Unwrap() []error }); ok {
			break
		}
		if _, ok := err.(*mapstructure.DecodeError); ok {
			break
		}
		u := errors.Unwrap(err)
		if u == nil {
			break
		}
		err = u
	}
	var out []error
	for _, e := range policies.Flatten(err) {
		var de *mapstructure.DecodeError
		if !errors.As(e, &de) {
			out = append(out, &policies.KeyError{Msg: e.Error()})
			continue
		}
		path := mapKeyRE.ReplaceAllString(de.Name(), ".$1")
		inner := de.Unwrap()
		var te *typeError
		if errors.As(inner, &te) {
			out = append(out, &policies.KeyError{Path: path, Msg: te.msg})
			continue
		}
		out = append(out, &policies.KeyError{Path: path, Msg: inner.Error()})
	}
	return errors.Join(out...)
}

// asMap returns m as a map with string keys, if it is a mapping.
func asMap(v any) (map[string]any, bool) {
	switch m := v.(type) {
	case map[string]any:
		return m, true
	case map[any]any:
		out := make(map[string]any, len(m))
		for k, v := range m {
			out[fmt.Sprint(k)] = v
		}
		return out, true
	}
	return nil, false
}

// checkKeys reports keys of in that t (the decoding target) does not have,
// each with its full path, and returns a copy of in without them so that
// the strict decoder does not report them a second time. Values that are not
// the container t expects are passed through for typeHook to report.
func checkKeys(path string, in any, t reflect.Type) (any, []error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := asMap(in)
		if !ok {
			return in, nil
		}
		fields, remain := structKeys(t)
		if remain {
			return in, nil
		}
		var errs []error
		out := make(map[string]any, len(m))
		for _, k := range sortedKeys(m) {
			f, ok := fields[strings.ToLower(k)]
			if !ok {
				errs = append(errs, unknownKey(join(path, k), k, slices.Sorted(maps.Keys(fields))))
				continue
			}
			v, es := checkKeys(join(path, k), m[k], f)
			out[k] = v
			errs = append(errs, es...)
		}
		return out, errs
	case reflect.Map:
		m, ok := asMap(in)
		if !ok || t.Key().Kind() != reflect.String {
			return in, nil
		}
		var errs []error
		out := make(map[string]any, len(m))
		for _, k := range sortedKeys(m) {
			v, es := checkKeys(join(path, k), m[k], t.Elem())
			out[k] = v
			errs = append(errs, es...)
		}
		return out, errs
	case reflect.Slice, reflect.Array:
		l, ok := in.([]any)
		if !ok {
			return in, nil
		}
		var errs []error
		out := make([]any, len(l))
		for i, v := range l {
			var es []error
			out[i], es = checkKeys(fmt.Sprintf("%s[%d]", path, i), v, t.Elem())
			errs = append(errs, es...)
		}
		return out, errs
	}
	return in, nil
}

// structKeys lists the keys a struct decodes (lower case) with their types,
// following mapstructure's tag rules; remain is true when a ",remain" field
// takes every other key.
func structKeys(t reflect.Type) (fields map[string]reflect.Type, remain bool) {
	fields = map[string]reflect.Type{}
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("mapstructure")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if slices.Contains(strings.Split(opts, ","), "remain") {
			remain = true
			continue
		}
		if slices.Contains(strings.Split(opts, ","), "squash") && f.Type.Kind() == reflect.Struct {
			sub, r := structKeys(f.Type)
			maps.Copy(fields, sub)
			remain = remain || r
			continue
		}
		if name == "" {
			name = f.Name
		}
		fields[strings.ToLower(name)] = f.Type
	}
	return fields, remain
}

func unknownKey(path, key string, valid []string) error {
	if s := suggest(key, valid); s != "" {
		return policies.KeyErrorf(path, "unknown key (did you mean %q?)", s)
	}
	return policies.KeyErrorf(path, "unknown key; valid keys: %s", strings.Join(valid, ", "))
}

// suggest returns the candidate closest to s by edit distance, if it is
// close enough to be a likely typo.
func suggest(s string, candidates []string) string {
	best, bestD := "", math.MaxInt
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(s), c); d < bestD {
			best, bestD = c, d
		}
	}
	if bestD <= max(1, min(len(s), len(best))/3) {
		return best
	}
	return ""
}

// editDistance is the optimal-string-alignment distance between a and b:
// insertions, deletions, substitutions and swaps of neighbours cost one
// each (in bytes: keys are ASCII).
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
