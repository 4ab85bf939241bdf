package config

import (
	"cmp"
	"errors"
	"slices"
	"strings"

	"github.com/steward-xmpp/steward/policies"
)

// FormatErrors prints one problem per line, sorted by key path (list
// indexes in numeric order), as check-config shows them.
func FormatErrors(err error) string {
	type line struct{ path, text string }
	var lines []line
	for _, e := range policies.Flatten(err) {
		l := line{text: e.Error()}
		var ke *policies.KeyError
		if errors.As(e, &ke) {
			l.path = ke.Path
		}
		lines = append(lines, l)
	}
	slices.SortStableFunc(lines, func(a, b line) int { return comparePaths(a.path, b.path) })
	var b strings.Builder
	for i, l := range lines {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(l.text)
	}
	return b.String()
}

// comparePaths orders paths like strings, except that runs of digits compare
// as numbers, so rooms[2] comes before rooms[10].
func comparePaths(a, b string) int {
	for a != "" && b != "" {
		da, db := digits(a), digits(b)
		if da > 0 && db > 0 {
			na, nb := strings.TrimLeft(a[:da], "0"), strings.TrimLeft(b[:db], "0")
			if c := cmp.Or(cmp.Compare(len(na), len(nb)), strings.Compare(na, nb)); c != 0 {
				return c
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return cmp.Compare(a[0], b[0])
		}
		a, b = a[1:], b[1:]
	}
	return cmp.Compare(len(a), len(b))
}

func digits(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}
