package vetting

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Hours are the times when vetting officers work a room's queue, in one time
// zone. The zero value is "always".
type Hours struct {
	spans []span
	loc   *time.Location
}

// span is one daily window. It starts on each day in days (by the weekday of
// its start) at start and lasts until end, both in minutes after local
// midnight. end <= start means the window ends the next day (22:00-02:00).
type span struct {
	days       [7]bool
	start, end int
}

var dayNames = map[string]time.Weekday{
	"sun": time.Sunday, "sunday": time.Sunday,
	"mon": time.Monday, "monday": time.Monday,
	"tue": time.Tuesday, "tues": time.Tuesday, "tuesday": time.Tuesday,
	"wed": time.Wednesday, "weds": time.Wednesday, "wednesday": time.Wednesday,
	"thu": time.Thursday, "thur": time.Thursday, "thurs": time.Thursday, "thursday": time.Thursday,
	"fri": time.Friday, "friday": time.Friday,
	"sat": time.Saturday, "saturday": time.Saturday,
}

const hoursExample = `"always" or e.g. "Mon-Fri 18:00-22:00; Sat,Sun 10:00-22:00 Europe/Berlin"`

// ParseHours reads "always" or one or more windows, each an optional day
// list ("Mon-Fri", "Sat,Sun", "Fri-Mon"; every day when left out) followed by
// one or more time ranges ("18:00-22:00", overnight "22:00-02:00", end
// "24:00" for midnight), windows separated by ";" or ",", and at the end an
// optional IANA time zone (UTC when left out).
func ParseHours(s string) (Hours, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Hours{}, fmt.Errorf("is empty; use %s", hoursExample)
	}
	if strings.EqualFold(s, "always") {
		return Hours{}, nil
	}
	const sep = ";"
	var toks []string
	for _, f := range strings.Fields(strings.ReplaceAll(s, ";", " ; ")) {
		trailing := strings.HasSuffix(f, ",")
		f = strings.TrimRight(f, ",")
		if f != "" {
			toks = append(toks, f)
		}
		if trailing {
			toks = append(toks, sep)
		}
	}
	h := Hours{loc: time.UTC}
	var days *[7]bool
	timed := false // the current day list has a time range
	for i, tok := range toks {
		switch {
		case tok == sep:
			if days != nil && !timed {
				return Hours{}, fmt.Errorf("day list before %q has no time range such as 18:00-22:00", tok)
			}
			days, timed = nil, false
		case strings.Contains(tok, ":"):
			start, end, err := parseRange(tok)
			if err != nil {
				return Hours{}, err
			}
			sp := span{start: start, end: end}
			if days == nil {
				for d := range sp.days {
					sp.days[d] = true
				}
			} else {
				sp.days = *days
			}
			h.spans = append(h.spans, sp)
			timed = true
		default:
			d, derr := parseDays(tok)
			if derr == nil {
				if days != nil && !timed {
					return Hours{}, fmt.Errorf("two day lists in a row (%q); put a time range such as 18:00-22:00 after each", tok)
				}
				days, timed = &d, false
				continue
			}
			if i != len(toks)-1 || !strings.Contains(tok, "/") && !strings.EqualFold(tok, "UTC") {
				return Hours{}, derr
			}
			loc, err := time.LoadLocation(tok)
			if err != nil || tok == "Local" {
				return Hours{}, fmt.Errorf("unknown time zone %q; use an IANA name such as Europe/Berlin or UTC", tok)
			}
			h.loc = loc
		}
	}
	if days != nil && !timed {
		return Hours{}, fmt.Errorf("the last day list has no time range such as 18:00-22:00")
	}
	if len(h.spans) == 0 {
		return Hours{}, fmt.Errorf("has no time range; use %s", hoursExample)
	}
	return h, nil
}

func parseDays(tok string) ([7]bool, error) {
	var out [7]bool
	if strings.EqualFold(tok, "daily") {
		for d := range out {
			out[d] = true
		}
		return out, nil
	}
	for _, item := range strings.Split(tok, ",") {
		a, b, isRange := strings.Cut(item, "-")
		from, ok := dayNames[strings.ToLower(a)]
		if !ok {
			return out, fmt.Errorf("%q is not a day (Mon, Tue, … Sun), a day range (Mon-Fri) or a time range (18:00-22:00)", item)
		}
		to := from
		if isRange {
			if to, ok = dayNames[strings.ToLower(b)]; !ok {
				return out, fmt.Errorf("%q is not a day (Mon, Tue, … Sun)", b)
			}
		}
		// Ranges may wrap over the week end: Fri-Mon.
		for d := from; ; d = (d + 1) % 7 {
			out[d] = true
			if d == to {
				break
			}
		}
	}
	return out, nil
}

func parseRange(tok string) (int, int, error) {
	a, b, ok := strings.Cut(tok, "-")
	if !ok {
		return 0, 0, fmt.Errorf("%q is not a time range such as 18:00-22:00", tok)
	}
	start, err := parseClock(a, false)
	if err != nil {
		return 0, 0, fmt.Errorf("in %q: %w", tok, err)
	}
	end, err := parseClock(b, true)
	if err != nil {
		return 0, 0, fmt.Errorf("in %q: %w", tok, err)
	}
	if end == 24*60 {
		if start == 0 {
			return 0, end, nil
		}
		end = 0 // ends at the next midnight
	}
	if start == end {
		return 0, 0, fmt.Errorf("%q is empty (use 00:00-24:00 for a whole day)", tok)
	}
	return start, end, nil
}

func parseClock(s string, isEnd bool) (int, error) {
	hs, ms, ok := strings.Cut(s, ":")
	if !ok || len(hs) < 1 || len(hs) > 2 || len(ms) != 2 {
		return 0, fmt.Errorf("%q is not a time of day such as 18:00", s)
	}
	h, err1 := strconv.Atoi(hs)
	m, err2 := strconv.Atoi(ms)
	if err1 != nil || err2 != nil || h < 0 || m < 0 || m > 59 || hs[0] == '+' || ms[0] == '+' {
		return 0, fmt.Errorf("%q is not a time of day such as 18:00", s)
	}
	if h == 24 && m == 0 && isEnd {
		return 24 * 60, nil
	}
	if h > 23 {
		return 0, fmt.Errorf("%q is not a time of day (hours go from 00 to 23; 24:00 only ends a range)", s)
	}
	return h*60 + m, nil
}

// Always reports whether vetting is always open.
func (h Hours) Always() bool { return len(h.spans) == 0 }

// Location is the time zone the hours are read in.
func (h Hours) Location() *time.Location {
	if h.loc == nil {
		return time.UTC
	}
	return h.loc
}

// String returns the hours in the form ParseHours reads.
func (h Hours) String() string {
	if h.Always() {
		return "always"
	}
	parts := make([]string, 0, len(h.spans))
	for _, sp := range h.spans {
		parts = append(parts, daysString(sp.days)+" "+clock(sp.start)+"-"+endClock(sp))
	}
	return strings.Join(parts, "; ") + " " + h.Location().String()
}

func clock(m int) string { return fmt.Sprintf("%02d:%02d", m/60, m%60) }

func endClock(sp span) string {
	if sp.end == 24*60 || sp.end == 0 && sp.start != 0 {
		return "24:00"
	}
	return clock(sp.end)
}

var shortDays = [7]string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}

// daysString writes days as Mon-Fri,Sun, starting the week on Monday.
func daysString(days [7]bool) string {
	all := true
	for _, d := range days {
		all = all && d
	}
	if all {
		return "daily"
	}
	var out []string
	for i := 0; i < 7; {
		d := (i + 1) % 7 // Monday first
		if !days[d] {
			i++
			continue
		}
		j := i
		for j+1 < 7 && days[(j+2)%7] {
			j++
		}
		if j == i {
			out = append(out, shortDays[d])
		} else {
			out = append(out, shortDays[d]+"-"+shortDays[(j+1)%7])
		}
		i = j + 1
	}
	return strings.Join(out, ",")
}

// Open reports whether vetting is open at t, judged by the wall clock in the
// hours' time zone.
func (h Hours) Open(t time.Time) bool {
	if h.Always() {
		return true
	}
	lt := t.In(h.Location())
	m := lt.Hour()*60 + lt.Minute()
	wd := lt.Weekday()
	prev := (wd + 6) % 7
	for _, sp := range h.spans {
		if sp.start < sp.end {
			if sp.days[wd] && m >= sp.start && m < sp.end {
				return true
			}
			continue
		}
		if sp.days[wd] && m >= sp.start || sp.days[prev] && m < sp.end {
			return true
		}
	}
	return false
}

// NextOpen returns t if vetting is open at t, else the first instant after
// t when it opens. Opening times are wall-clock times in the hours' zone, so
// a window that starts inside a daylight-saving gap opens when the clocks
// jump, and one that starts in a repeated hour opens at its first occurrence.
// The zero time means it never opens (not possible for parsed hours).
func (h Hours) NextOpen(t time.Time) time.Time {
	if h.Open(t) {
		return t
	}
	loc := h.Location()
	y, mo, d := t.In(loc).Date()
	var best time.Time
	consider := func(c time.Time) {
		if c.After(t) && (best.IsZero() || c.Before(best)) && h.Open(c) {
			best = c
		}
	}
	for off := -1; off <= 8; off++ {
		wd := time.Date(y, mo, d+off, 12, 0, 0, 0, loc).Weekday()
		for _, sp := range h.spans {
			if !sp.days[wd] {
				continue
			}
			c := time.Date(y, mo, d+off, sp.start/60, sp.start%60, 0, 0, loc)
			zs, _ := c.ZoneBounds()
			if c.Hour()*60+c.Minute() != sp.start {
				// In a gap, Go moves the wall time forward past it; the
				// window opens when the clocks jump, at the zone's start.
				if !zs.IsZero() {
					consider(zs)
				}
				consider(c)
				continue
			}
			consider(c)
			// In a repeated hour Go picks the later occurrence; the
			// earlier one, in the previous zone, comes first.
			if !zs.IsZero() {
				_, off0 := zs.Add(-time.Nanosecond).Zone()
				_, off1 := c.Zone()
				if off0 > off1 {
					alt := c.Add(-time.Duration(off0-off1) * time.Second)
					if alt.Before(zs) && alt.Hour()*60+alt.Minute() == sp.start {
						consider(alt)
					}
				}
			}
		}
	}
	return best
}

// resumes says when vetting next opens after t, in the hours' zone, e.g.
// "Mon 18:00 (Europe/Berlin)".
func (h Hours) resumes(t time.Time) string {
	n := h.NextOpen(t)
	if n.IsZero() {
		return "later"
	}
	n = n.In(h.Location())
	f := "Mon 15:04"
	if n.Sub(t) > 6*24*time.Hour {
		f = "Mon 2 Jan 15:04"
	}
	return n.Format(f) + " (" + h.Location().String() + ")"
}
