package bot

import (
	"slices"
	"strings"
	"testing"
	"time"

	"mellium.im/xmpp/jid"

	"github.com/steward-xmpp/steward/policies"
)

func seat(nick, real, oid string) policies.Occupant {
	o := policies.Occupant{Nick: nick, RealRaw: real, OccupantID: oid, Role: policies.RoleParticipant, Affiliation: policies.AffNone,
		JoinedAt: evBase, LastActive: evBase}
	if j, err := jid.Parse(real); err == nil && real != "" {
		o.RealJID = j
	}
	return o
}

func nicksOf(os []policies.Occupant) []string {
	out := make([]string, 0, len(os))
	for _, o := range os {
		out = append(out, o.Nick)
	}
	slices.Sort(out)
	return out
}

func TestOccupants(t *testing.T) {
	type op func(t *testing.T, tab *occupants)
	put := func(o policies.Occupant) op { return func(_ *testing.T, tab *occupants) { tab.put(o) } }
	rename := func(old, nick string, ok bool) op {
		return func(t *testing.T, tab *occupants) {
			t.Helper()
			before, _ := tab.get(old)
			got, found := tab.rename(old, nick)
			if found != ok {
				t.Fatalf("rename(%q, %q) found %t, want %t", old, nick, found, ok)
			}
			if ok && (got.Nick != nick || got.JoinedAt != before.JoinedAt || got.OccupantID != before.OccupantID || got.RealRaw != before.RealRaw) {
				t.Errorf("rename(%q, %q) = %s: history lost", old, nick, fmtOcc(got))
			}
		}
	}
	remove := func(nick string, ok bool) op {
		return func(t *testing.T, tab *occupants) {
			t.Helper()
			got, found := tab.remove(nick)
			if found != ok || (ok && got.Nick != nick) {
				t.Fatalf("remove(%q) = %q, %t; want found %t", nick, got.Nick, found, ok)
			}
		}
	}
	for _, tc := range []struct {
		name   string
		ops    []op
		nicks  []string            // every seat, sorted
		byBare map[string][]string // query (any case) -> nicks
		byOID  map[string]string   // occupant-id -> nick, "" for none
	}{
		{
			name:   "empty",
			byBare: map[string][]string{"alice@localhost": {}, "": {}},
			byOID:  map[string]string{"x": "", "": ""},
		},
		{
			name:   "put indexes by bare JID case-insensitively and by occupant-id",
			ops:    []op{put(seat("alice", "Alice@Localhost/phone", "oid-a")), put(seat("bob", "bob@localhost/pc", "oid-b"))},
			nicks:  []string{"alice", "bob"},
			byBare: map[string][]string{"alice@localhost": {"alice"}, "ALICE@LOCALHOST": {"alice"}, "Bob@localhost": {"bob"}, "carol@localhost": {}},
			byOID:  map[string]string{"oid-a": "alice", "oid-b": "bob", "OID-A": ""},
		},
		{
			name: "one person, two seats",
			ops: []op{put(seat("alice", "alice@localhost/phone", "oid-1")), put(seat("alice-pc", "alice@localhost/pc", "oid-2")),
				remove("alice", true)},
			nicks:  []string{"alice-pc"},
			byBare: map[string][]string{"alice@localhost": {"alice-pc"}},
			byOID:  map[string]string{"oid-1": "", "oid-2": "alice-pc"},
		},
		{
			name:   "nicks are case-sensitive",
			ops:    []op{put(seat("Alice", "a1@localhost/x", "o1")), put(seat("alice", "a2@localhost/x", "o2")), remove("ALICE", false)},
			nicks:  []string{"Alice", "alice"},
			byBare: map[string][]string{"a1@localhost": {"Alice"}, "a2@localhost": {"alice"}},
			byOID:  map[string]string{"o1": "Alice", "o2": "alice"},
		},
		{
			name:   "rename moves every index and keeps history",
			ops:    []op{put(seat("alice", "alice@localhost/phone", "oid-a")), rename("alice", "alice2", true)},
			nicks:  []string{"alice2"},
			byBare: map[string][]string{"alice@localhost": {"alice2"}},
			byOID:  map[string]string{"oid-a": "alice2"},
		},
		{
			name:  "rename of an unknown nick changes nothing",
			ops:   []op{put(seat("alice", "alice@localhost/phone", "oid-a")), rename("nobody", "x", false)},
			nicks: []string{"alice"},
			byOID: map[string]string{"oid-a": "alice"},
		},
		{
			name:   "put again with a new real JID reindexes",
			ops:    []op{put(seat("bob", "bob@localhost/pc", "oid-b")), put(seat("bob", "mallory@evil.localhost/x", "oid-m"))},
			nicks:  []string{"bob"},
			byBare: map[string][]string{"bob@localhost": {}, "mallory@evil.localhost": {"bob"}},
			byOID:  map[string]string{"oid-b": "", "oid-m": "bob"},
		},
		{
			name:   "hidden real JID and no occupant-id: only by nick",
			ops:    []op{put(seat("anon", "", ""))},
			nicks:  []string{"anon"},
			byBare: map[string][]string{"": {}},
			byOID:  map[string]string{"": ""},
		},
		{
			name:   "a real JID PRECIS rejects is indexed by its raw text",
			ops:    []op{put(seat("odd", "Odd User@localhost/r", "o"))},
			nicks:  []string{"odd"},
			byBare: map[string][]string{"odd user@localhost": {"odd"}, "ODD USER@localhost": {"odd"}},
			byOID:  map[string]string{"o": "odd"},
		},
		{
			name:  "hostile nick",
			ops:   []op{put(seat("\u1160", "filler@localhost/x", "f")), rename("\u1160", "\u1160\u1160", true), remove("\u1160\u1160", true)},
			byOID: map[string]string{"f": ""},
		},
		{
			// A later seat claiming an occupant-id takes it; removing the
			// earlier one must not drop the later one's index.
			name:  "occupant-id reused",
			ops:   []op{put(seat("a", "a@localhost/x", "same")), put(seat("b", "b@localhost/x", "same")), remove("a", true)},
			nicks: []string{"b"},
			byOID: map[string]string{"same": "b"},
		},
		{
			// Prosody gives one person's seats the same occupant-id:
			// when one goes, the id still finds the other.
			name: "occupant-id shared by two seats of one person",
			ops: []op{put(seat("alice", "alice@localhost/phone", "oid-a")), put(seat("alice-pc", "alice@localhost/pc", "oid-a")),
				remove("alice-pc", true)},
			nicks:  []string{"alice"},
			byBare: map[string][]string{"alice@localhost": {"alice"}},
			byOID:  map[string]string{"oid-a": "alice"},
		},
		{
			name: "shared occupant-id after a rename of the other seat",
			ops: []op{put(seat("alice", "alice@localhost/phone", "oid-a")), put(seat("alice-pc", "alice@localhost/pc", "oid-a")),
				rename("alice", "alice2", true), remove("alice-pc", true)},
			nicks: []string{"alice2"},
			byOID: map[string]string{"oid-a": "alice2"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tab := newOccupants()
			for _, o := range tc.ops {
				o(t, tab)
			}
			var nicks []string
			for o := range tab.all() {
				nicks = append(nicks, o.Nick)
			}
			slices.Sort(nicks)
			if !slices.Equal(nicks, tc.nicks) || tab.len() != len(tc.nicks) {
				t.Errorf("seats %q (len %d), want %q", nicks, tab.len(), tc.nicks)
			}
			for q, want := range tc.byBare {
				if got := nicksOf(tab.byBareJID(q)); !slices.Equal(got, want) {
					t.Errorf("byBareJID(%q) = %q, want %q", q, got, want)
				}
			}
			for id, want := range tc.byOID {
				got, ok := tab.byOccupantID(id)
				if ok != (want != "") || got.Nick != want {
					t.Errorf("byOccupantID(%q) = %q, %t; want %q", id, got.Nick, ok, want)
				}
			}
			checkIndexes(t, tab)
		})
	}
}

// TestOccupantsCopies: the table hands out copies; changing one does not
// change the seat.
func TestOccupantsCopies(t *testing.T) {
	tab := newOccupants()
	o := seat("alice", "alice@localhost/x", "oid")
	tab.put(o)
	o.Role = policies.RoleModerator
	got, _ := tab.get("alice")
	got.LastActive = evBase.Add(time.Hour)
	again, _ := tab.get("alice")
	if again.Role != policies.RoleParticipant || again.LastActive != evBase {
		t.Errorf("seat changed through a copy: %s", fmtOcc(again))
	}
	for s := range tab.all() {
		s.Nick = "x"
	}
	if _, ok := tab.get("alice"); !ok {
		t.Error("seat renamed through the iterator")
	}
}

// TestOccupantsClear: clear empties every index, and the iterator stops
// when asked.
func TestOccupantsClear(t *testing.T) {
	tab := newOccupants()
	for _, n := range []string{"a", "b", "c"} {
		tab.put(seat(n, n+"@localhost/x", "oid-"+n))
	}
	n := 0
	for range tab.all() {
		n++
		break
	}
	if n != 1 {
		t.Errorf("iterator went on after break: %d", n)
	}
	tab.clear()
	if tab.len() != 0 || len(tab.byBare) != 0 || len(tab.byOID) != 0 {
		t.Errorf("after clear: %d seats, %d bare, %d oid", tab.len(), len(tab.byBare), len(tab.byOID))
	}
	if _, ok := tab.byOccupantID("oid-a"); ok {
		t.Error("occupant-id found after clear")
	}
	if got := tab.byBareJID(strings.ToUpper("a@localhost")); len(got) != 0 {
		t.Errorf("byBareJID after clear: %v", got)
	}
}
