package vetting

import (
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // tests must not depend on the machine's zoneinfo
)

func mustParse(t testing.TB, s string) Hours {
	t.Helper()
	h, err := ParseHours(s)
	if err != nil {
		t.Fatalf("ParseHours(%q): %v", s, err)
	}
	return h
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestParseHoursCanonical(t *testing.T) {
	tests := []struct{ in, want string }{
		{"always", "always"},
		{" Always ", "always"},
		{"Mon-Fri 18:00-22:00 Europe/Berlin", "Mon-Fri 18:00-22:00 Europe/Berlin"},
		{"Mon-Fri 18:00-22:00; Sat,Sun 10:00-22:00 Europe/Berlin", "Mon-Fri 18:00-22:00; Sat-Sun 10:00-22:00 Europe/Berlin"},
		{"mon-fri 18:00-22:00, sat 9:00-12:00", "Mon-Fri 18:00-22:00; Sat 09:00-12:00 UTC"},
		{"22:00-02:00", "daily 22:00-02:00 UTC"},
		{"Fri-Mon 10:00-11:00 UTC", "Mon,Fri-Sun 10:00-11:00 UTC"},
		{"Monday,Wednesday 08:00-09:00 13:00-14:00 America/New_York", "Mon,Wed 08:00-09:00; Mon,Wed 13:00-14:00 America/New_York"},
		{"Sun 20:00-24:00", "Sun 20:00-24:00 UTC"},
		{"Tue 00:00-24:00", "Tue 00:00-24:00 UTC"},
		{"daily 12:00-13:00", "daily 12:00-13:00 UTC"},
	}
	for _, tt := range tests {
		h := mustParse(t, tt.in)
		if got := h.String(); got != tt.want {
			t.Errorf("ParseHours(%q).String() = %q, want %q", tt.in, got, tt.want)
		}
		if again := mustParse(t, h.String()).String(); again != h.String() {
			t.Errorf("round trip of %q gave %q", h.String(), again)
		}
	}
}

func TestParseHoursErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", `is empty; use "always"`},
		{"Mon-Fri", "the last day list has no time range"},
		{"Mon-Fri; Sat 10:00-12:00", `day list before ";" has no time range`},
		{"Mon Tue 10:00-12:00", `two day lists in a row ("Tue")`},
		{"Mon-Fri 18:00-22:00 Mars/Olympus", `unknown time zone "Mars/Olympus"`},
		{"Mon-Fri 18:00-22:00 Local", `"Local" is not a day`},
		{"Mon-Fri 18:00 22:00", `"18:00" is not a time range`},
		{"Mon-Fri 25:00-26:00", `"25:00" is not a time of day (hours go from 00 to 23`},
		{"Mon-Fri 18:60-22:00", `"18:60" is not a time of day`},
		{"Mon-Fri 18:00-18:00", `"18:00-18:00" is empty (use 00:00-24:00`},
		{"Mon-Fri 24:00-02:00", `"24:00" is not a time of day`},
		{"Mon-Fry 18:00-22:00", `"Fry" is not a day`},
		{"Mun 18:00-22:00", `"Mun" is not a day`},
		{"Europe/Berlin Mon 18:00-22:00", `"Europe/Berlin" is not a day`},
		{"18:00-22:00 Europe/Berlin UTC", `"Europe/Berlin" is not a day`},
		{"Mon-Fri +8:00-22:00", `"+8:00" is not a time of day`},
	}
	for _, tt := range tests {
		_, err := ParseHours(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseHours(%q) error = %v, want it to contain %q", tt.in, err, tt.want)
		}
	}
}

func TestHoursOpen(t *testing.T) {
	tests := []struct {
		hours string
		at    string // UTC
		want  bool
	}{
		// Berlin is UTC+1 (CET) until 2026-03-29 01:00 UTC, then UTC+2.
		{"Mon-Fri 18:00-22:00 Europe/Berlin", "2026-03-27T17:00:00Z", true},  // Fri 18:00 CET
		{"Mon-Fri 18:00-22:00 Europe/Berlin", "2026-03-27T16:59:00Z", false}, // Fri 17:59 CET
		{"Mon-Fri 18:00-22:00 Europe/Berlin", "2026-03-30T16:00:00Z", true},  // Mon 18:00 CEST
		{"Mon-Fri 18:00-22:00 Europe/Berlin", "2026-03-30T15:59:00Z", false}, // Mon 17:59 CEST
		{"Mon-Fri 18:00-22:00 Europe/Berlin", "2026-03-30T20:00:00Z", false}, // Mon 22:00 CEST
		{"Mon-Fri 18:00-22:00 Europe/Berlin", "2026-03-28T17:00:00Z", false}, // Sat
		// Back to CET on 2026-10-25 01:00 UTC.
		{"Mon-Fri 18:00-22:00 Europe/Berlin", "2026-10-23T16:00:00Z", true},  // Fri 18:00 CEST
		{"Mon-Fri 18:00-22:00 Europe/Berlin", "2026-10-26T16:30:00Z", false}, // Mon 17:30 CET
		{"Mon-Fri 18:00-22:00 Europe/Berlin", "2026-10-26T17:00:00Z", true},  // Mon 18:00 CET
		// The repeated hour 02:00-03:00 on 2026-10-25 is open twice.
		{"daily 02:30-03:00 Europe/Berlin", "2026-10-25T00:45:00Z", true},  // 02:45 CEST
		{"daily 02:30-03:00 Europe/Berlin", "2026-10-25T01:10:00Z", false}, // 02:10 CET
		{"daily 02:30-03:00 Europe/Berlin", "2026-10-25T01:45:00Z", true},  // 02:45 CET
		// Overnight ranges across midnight and across the week end.
		{"Sun 22:00-02:00 UTC", "2026-03-01T23:00:00Z", true},  // Sun 23:00
		{"Sun 22:00-02:00 UTC", "2026-03-02T01:59:00Z", true},  // Mon 01:59
		{"Sun 22:00-02:00 UTC", "2026-03-02T02:00:00Z", false}, // Mon 02:00
		{"Sun 22:00-02:00 UTC", "2026-02-28T23:00:00Z", false}, // Sat 23:00
		{"Sun 22:00-02:00 UTC", "2026-03-01T01:00:00Z", false}, // Sun 01:00 (Sat was not a start day)
		{"Fri-Mon 10:00-11:00", "2026-02-28T10:30:00Z", true},  // Sat
		{"Fri-Mon 10:00-11:00", "2026-03-02T10:30:00Z", true},  // Mon
		{"Fri-Mon 10:00-11:00", "2026-03-03T10:30:00Z", false}, // Tue
		{"Mon 20:00-24:00", "2026-03-02T23:59:00Z", true},
		{"Mon 20:00-24:00", "2026-03-03T00:00:00Z", false},
		{"Tue 00:00-24:00", "2026-03-03T00:00:00Z", true},
		{"Tue 00:00-24:00", "2026-03-03T23:59:59Z", true},
		{"Tue 00:00-24:00", "2026-03-04T00:00:00Z", false},
		// New York: EST (UTC-5) until 2026-03-08 07:00 UTC, then EDT (UTC-4).
		{"Sat 22:00-02:00 America/New_York", "2026-03-08T06:59:00Z", true},    // Sun 01:59 EST
		{"Sat 22:00-02:00 America/New_York", "2026-03-08T07:00:00Z", false},   // Sun 03:00 EDT
		{"daily 09:00-17:00 America/New_York", "2026-03-09T13:00:00Z", true},  // 09:00 EDT
		{"daily 09:00-17:00 America/New_York", "2026-03-06T13:30:00Z", false}, // 08:30 EST
		{"always", "2026-03-06T13:30:00Z", true},
	}
	for _, tt := range tests {
		if got := mustParse(t, tt.hours).Open(utc(tt.at)); got != tt.want {
			t.Errorf("%q.Open(%s) = %v, want %v", tt.hours, tt.at, got, tt.want)
		}
	}
}

func TestHoursNextOpen(t *testing.T) {
	tests := []struct {
		name, hours, from, want string
	}{
		{"open now", "Mon-Fri 18:00-22:00 Europe/Berlin", "2026-03-02T18:00:00Z", "2026-03-02T18:00:00Z"},
		{"later today", "Mon-Fri 18:00-22:00 Europe/Berlin", "2026-03-02T12:00:00Z", "2026-03-02T17:00:00Z"},
		{"over the weekend into DST", "Mon-Fri 18:00-22:00 Europe/Berlin", "2026-03-28T12:00:00Z", "2026-03-30T16:00:00Z"},
		{"over the weekend out of DST", "Mon-Fri 18:00-22:00 Europe/Berlin", "2026-10-24T12:00:00Z", "2026-10-26T17:00:00Z"},
		{"start inside the spring gap opens when clocks jump", "daily 02:30-04:00 Europe/Berlin", "2026-03-29T00:30:00Z", "2026-03-29T01:00:00Z"},
		{"window entirely inside the gap is skipped", "Sun 02:00-02:45 Europe/Berlin", "2026-03-28T12:00:00Z", "2026-04-05T00:00:00Z"},
		{"repeated hour: first occurrence", "daily 02:30-03:00 Europe/Berlin", "2026-10-24T23:00:00Z", "2026-10-25T00:30:00Z"},
		{"repeated hour: second occurrence", "daily 02:30-03:00 Europe/Berlin", "2026-10-25T01:10:00Z", "2026-10-25T01:30:00Z"},
		{"overnight across week end", "Sun 22:00-02:00 UTC", "2026-03-02T03:00:00Z", "2026-03-08T22:00:00Z"},
		{"New York spring forward", "daily 09:00-17:00 America/New_York", "2026-03-07T23:00:00Z", "2026-03-08T13:00:00Z"},
		{"New York fall back", "daily 09:00-17:00 America/New_York", "2026-10-31T23:00:00Z", "2026-11-01T14:00:00Z"},
		{"New York overnight after the gap", "Sat 22:00-02:00 America/New_York", "2026-03-08T08:00:00Z", "2026-03-15T02:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := mustParse(t, tt.hours)
			from := utc(tt.from)
			got := h.NextOpen(from)
			if !got.Equal(utc(tt.want)) {
				t.Fatalf("NextOpen(%s) = %s, want %s", tt.from, got.UTC().Format(time.RFC3339), tt.want)
			}
			// It is the first open minute: every minute before it is closed.
			for m := from.Truncate(time.Minute); m.Before(got); m = m.Add(time.Minute) {
				if m.After(from) && h.Open(m) {
					t.Fatalf("open already at %s, before %s", m.UTC().Format(time.RFC3339), tt.want)
				}
			}
		})
	}
}

func TestHoursResumes(t *testing.T) {
	h := mustParse(t, "Mon-Fri 18:00-22:00 Europe/Berlin")
	if got, want := h.resumes(utc("2026-03-28T12:00:00Z")), "Mon 18:00 (Europe/Berlin)"; got != want {
		t.Errorf("resumes = %q, want %q", got, want)
	}
	h = mustParse(t, "Mon 18:00-22:00 UTC")
	if got, want := h.resumes(utc("2026-03-02T22:00:00Z")), "Mon 9 Mar 18:00 (UTC)"; got != want {
		t.Errorf("resumes a week on = %q, want %q", got, want)
	}
}

func FuzzParseHours(f *testing.F) {
	for _, s := range []string{
		"always", "Mon-Fri 18:00-22:00 Europe/Berlin", "Mon-Fri 18:00-22:00; Sat,Sun 10:00-22:00 Europe/Berlin",
		"22:00-02:00", "Fri-Mon 23:30-00:30 America/New_York", "Sun 02:00-02:45 Europe/Berlin", "daily 00:00-24:00",
		"Mon,,Tue 1:00-2:00", ";;", "Mon-", "-", ":-:", "Sun 20:00-24:00 Australia/Lord_Howe",
	} {
		f.Add(s)
	}
	froms := []time.Time{utc("2026-03-28T23:59:30Z"), utc("2026-10-25T00:15:00Z"), utc("2026-03-08T06:30:00Z"), utc("2026-11-01T05:30:00Z"), utc("2026-10-03T15:45:00Z")}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParseHours(s)
		if err != nil {
			return
		}
		if again, err := ParseHours(h.String()); err != nil || again.String() != h.String() {
			t.Fatalf("String %q does not parse back (%v)", h.String(), err)
		}
		for _, from := range froms {
			n := h.NextOpen(from)
			switch {
			case n.IsZero():
				t.Fatalf("%q never opens after %s", s, from)
			case n.Before(from):
				t.Fatalf("%q: NextOpen(%s) = %s is in the past", s, from, n)
			case !h.Open(n):
				t.Fatalf("%q: NextOpen(%s) = %s is closed", s, from, n)
			case n.Sub(from) > 8*24*time.Hour:
				t.Fatalf("%q: NextOpen(%s) = %s is more than a week away", s, from, n)
			case h.Open(from) && !n.Equal(from):
				t.Fatalf("%q: open at %s but NextOpen says %s", s, from, n)
			}
		}
	})
}
