package vetting

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"go.uber.org/zap"
	"mellium.im/xmpp/jid"

	"github.com/steward-xmpp/steward/policies"
)

// Ways a request can come in.
const (
	ViaForm   = "form"   // the XEP-0045 voice-request form
	ViaMarker = "marker" // the nick marker
	ViaDM     = "dm"     // "request" by direct message
	ViaVouch  = "vouch"  // a member vouched (vouch_effect: prioritise)
)

// KV namespaces (each one Redis hash, scoped to the policy and room).
const (
	nsQueue       = "queue"        // bare JID -> Entry
	nsListing     = "listing"      // "state" -> listing
	nsApproved    = "approved"     // bare JID -> Approval
	nsApprovedOID = "approved_oid" // occupant-id -> bare JID
	nsDenied      = "denied"       // bare JID -> Denial
	nsVouches     = "vouches"      // vouchee bare JID -> VouchRecord
	nsVouchers    = "vouchers"     // voucher bare JID -> VoucherRecord
	nsAsks        = "asks"         // applicant bare JID -> Ask
	nsSettings    = "settings"     // config key -> value set by command
	listingField  = "state"
	timerNotify   = "notify"
	timerExpire   = "expire:"
)

// Entry is one pending voice request: one per real bare JID.
type Entry struct {
	JID        string    `json:"jid"`
	Nick       string    `json:"nick"`
	OccupantID string    `json:"occupant_id,omitempty"`
	At         time.Time `json:"at"`
	// Via lists the ways the person asked, first way first.
	Via []string `json:"via"`
	// Words is what the applicant said about themselves.
	Words  string `json:"words,omitempty"`
	Server string `json:"server"`
	// Real is the full real JID to answer (the form carries it).
	Real        string    `json:"real,omitempty"`
	JoinedAt    time.Time `json:"joined_at,omitzero"`
	LeftAt      time.Time `json:"left_at,omitzero"`
	Vouchers    []string  `json:"vouchers,omitempty"`
	Prioritised bool      `json:"prioritised,omitempty"`
	// BannedBefore and DeniedBefore are the last ban and denial seen for
	// this JID in this room before the request.
	BannedBefore time.Time `json:"banned_before,omitzero"`
	DeniedBefore time.Time `json:"denied_before,omitzero"`
}

func (e *Entry) has(via string) bool { return slices.Contains(e.Via, via) }

// listing is the numbering officers were shown (Order, so "#3" means what
// they saw) and the requests not yet announced to them (Pending).
type listing struct {
	Order   []string `json:"order"`
	Pending []string `json:"pending,omitempty"`
}

// sorted returns the pending entries: vouched (prioritised) first, then
// oldest first.
func (p *Policy) sorted() []*Entry {
	out := make([]*Entry, 0, len(p.queue))
	for _, e := range p.queue {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b *Entry) int {
		if a.Prioritised != b.Prioritised {
			if a.Prioritised {
				return -1
			}
			return 1
		}
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return cmp.Compare(a.JID, b.JID)
	})
	return out
}

// position is an entry's place in the sorted queue, from 1.
func (p *Policy) position(bare string) int {
	for i, e := range p.sorted() {
		if e.JID == bare {
			return i + 1
		}
	}
	return 0
}

// number is the "#n" officers were given for bare, 0 if none.
func (p *Policy) number(bare string) int {
	if i := slices.Index(p.list.Order, bare); i >= 0 {
		return i + 1
	}
	return 0
}

// numberFor gives bare a number, appending it to the current listing so that
// numbers already handed out keep their meaning.
func (p *Policy) numberFor(bare string) int {
	if n := p.number(bare); n > 0 {
		return n
	}
	stale := true
	for _, j := range p.list.Order {
		if _, ok := p.queue[j]; ok {
			stale = false
			break
		}
	}
	if stale || len(p.list.Order) > 2*p.eff.MaxPending+16 {
		p.list.Order = nil
	}
	p.list.Order = append(p.list.Order, bare)
	return len(p.list.Order)
}

func (p *Policy) saveListing(ctx context.Context) error {
	return p.putJSON(ctx, nsListing, listingField, p.list)
}

// request is one way of asking for voice, before it becomes an Entry.
type request struct {
	bare  string
	real  string // full real JID when known
	occ   policies.Occupant
	nick  string
	via   string
	words string
	quiet bool // sweep after a (re)join: say nothing to the applicant
}

// enqueue queues or merges a request and returns what to tell the applicant
// ("" for nothing) and the entry (nil when not queued).
func (p *Policy) enqueue(ctx context.Context, now time.Time, room policies.Room, act policies.Actions, r request) (string, *Entry, error) {
	roomName := room.Addr().String()
	server := domainOf(r.bare)
	if !p.eff.serverAccepted(server) {
		return serverRefused(server, roomName), nil, nil
	}
	if e, ok := p.queue[r.bare]; ok {
		changed := false
		if !e.has(r.via) {
			e.Via = append(e.Via, r.via)
			changed = true
		}
		if r.words != "" && !strings.Contains(e.Words, r.words) {
			e.Words = strings.TrimSpace(e.Words + " / " + r.words)
			e.Words = strings.TrimPrefix(e.Words, "/ ")
			changed = true
		}
		if r.nick != "" && r.nick != e.Nick {
			e.Nick, changed = r.nick, true
		}
		if r.occ.OccupantID != "" && r.occ.OccupantID != e.OccupantID {
			e.OccupantID, changed = r.occ.OccupantID, true
		}
		if r.real != "" && r.real != e.Real {
			e.Real, changed = r.real, true
		}
		if changed {
			if err := p.putJSON(ctx, nsQueue, e.JID, e); err != nil {
				return "", nil, err
			}
		}
		if r.quiet || r.via == ViaMarker {
			return "", e, nil
		}
		return fmt.Sprintf("Your voice request in %s is already queued (position %d of %d). There is no need to ask again: a vetting officer will get back to you.",
			roomName, p.position(e.JID), len(p.queue)), e, nil
	}
	d, err := p.denial(ctx, r.bare)
	if err != nil {
		return "", nil, err
	}
	if d != nil && p.eff.Cooldown > 0 && now.Sub(d.At) < p.eff.Cooldown {
		why := ""
		if d.Reason != "" {
			why = ": " + d.Reason
		}
		return fmt.Sprintf("Your voice request in %s was declined on %s%s. You can ask again after %s.",
			roomName, d.At.In(p.hours.Location()).Format("Mon 2 Jan 15:04"), why, p.when(d.At.Add(p.eff.Cooldown))), nil, nil
	}
	if len(p.queue) >= p.eff.MaxPending {
		return fmt.Sprintf("Sorry, the voice-request queue of %s is full right now. Please try again in an hour or so.", roomName), nil, nil
	}
	e := &Entry{
		JID: r.bare, Nick: r.nick, OccupantID: r.occ.OccupantID, At: now, Via: []string{r.via},
		Words: r.words, Server: server, Real: r.real, JoinedAt: r.occ.JoinedAt,
	}
	if d != nil {
		e.DeniedBefore = d.At
	}
	e.BannedBefore = p.lastBan(ctx, room, r.bare)
	if err := p.putJSON(ctx, nsQueue, e.JID, e); err != nil {
		return "", nil, err
	}
	p.queue[e.JID] = e
	if err := p.announceLater(ctx, now, act, e.JID); err != nil {
		return "", nil, err
	}
	if r.quiet {
		return "", e, nil
	}
	msg := fmt.Sprintf("Thanks, your voice request in %s is queued (position %d of %d). A vetting officer will get back to you; please stay in the room.",
		roomName, p.position(e.JID), len(p.queue))
	if !p.hours.Open(now) {
		msg += " Vetting is closed now and resumes " + p.hours.resumes(now) + "."
	}
	return msg, e, nil
}

func serverRefused(server, room string) string {
	return fmt.Sprintf("Sorry, accounts from %s are not accepted for voice in %s. If you have an account on another server, join with it and ask again.", server, room)
}

// announceLater adds bare to the next notification batch.
func (p *Policy) announceLater(ctx context.Context, now time.Time, act policies.Actions, bare string) error {
	if !slices.Contains(p.list.Pending, bare) {
		p.list.Pending = append(p.list.Pending, bare)
	}
	if err := p.saveListing(ctx); err != nil {
		return err
	}
	return p.scheduleNotify(ctx, now, act)
}

func (p *Policy) scheduleNotify(ctx context.Context, now time.Time, act policies.Actions) error {
	at := now.Add(p.eff.NotifyBatch)
	if n := p.hours.NextOpen(at); n.After(at) {
		at = n
	}
	// An earlier pending timer already covers this request: moving it
	// later on every request would starve officers during a flood.
	if !p.notifyAt.IsZero() && !p.notifyAt.After(at) {
		return nil
	}
	p.notifyAt = at
	return act.Schedule(ctx, timerNotify, at)
}

// flush tells officers about every pending announcement in one message.
func (p *Policy) flush(ctx context.Context, now time.Time, room policies.Room, act policies.Actions) error {
	p.notifyAt = time.Time{}
	if len(p.list.Pending) == 0 {
		return nil
	}
	if !p.hours.Open(now) {
		return p.scheduleNotify(ctx, now, act)
	}
	var lines []string
	for _, bare := range p.list.Pending {
		e, ok := p.queue[bare]
		if !ok {
			continue
		}
		lines = append(lines, fmt.Sprintf("#%d %s", p.numberFor(bare), p.describe(e, now, room)))
	}
	p.list.Pending = nil
	if err := p.saveListing(ctx); err != nil {
		return err
	}
	if len(lines) == 0 {
		return nil
	}
	head := fmt.Sprintf("New voice request in %s:", room.Addr())
	if len(lines) > 1 {
		head = fmt.Sprintf("%d new voice requests in %s:", len(lines), room.Addr())
	}
	text := head + "\n" + strings.Join(lines, "\n") + "\nAnswer with: approve #n [--member] [text] · deny #n [reason] · ask #n <question> · queue"
	return act.NotifyOfficers(ctx, text)
}

// describe is one line about an entry, with the facts an officer wants.
func (p *Policy) describe(e *Entry, now time.Time, room policies.Room) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s — %s · via %s · asked %s ago", clean(e.Nick, 64), e.JID, strings.Join(e.Via, "+"), ago(now.Sub(e.At)))
	seats := room.ByBareJID(e.JID)
	switch {
	case len(seats) > 0 && !seats[0].JoinedAt.IsZero():
		fmt.Fprintf(&b, " · in room %s", ago(now.Sub(seats[0].JoinedAt)))
	case !e.LeftAt.IsZero():
		fmt.Fprintf(&b, " · left %s ago", ago(now.Sub(e.LeftAt)))
	case len(seats) == 0:
		b.WriteString(" · not in the room")
	}
	fmt.Fprintf(&b, " · server %s", e.Server)
	if len(e.Vouchers) > 0 {
		fmt.Fprintf(&b, " · vouched for by %s", strings.Join(e.Vouchers, ", "))
	}
	if !e.DeniedBefore.IsZero() {
		fmt.Fprintf(&b, " · denied here before (%s)", e.DeniedBefore.Format("2006-01-02"))
	}
	if !e.BannedBefore.IsZero() {
		fmt.Fprintf(&b, " · BANNED here before (%s)", e.BannedBefore.Format("2006-01-02"))
	}
	if e.Words != "" {
		fmt.Fprintf(&b, " · says: %q", clean(e.Words, 300))
	}
	return b.String()
}

// remove drops an entry and what hangs off it (a pending question, the
// expiry timer).
func (p *Policy) remove(ctx context.Context, act policies.Actions, bare string) error {
	e, ok := p.queue[bare]
	if !ok {
		return nil
	}
	delete(p.queue, bare)
	if err := p.kv.Delete(ctx, nsQueue, bare); err != nil {
		return fmt.Errorf("vetting: drop request: %w", err)
	}
	if _, ok := p.asks[bare]; ok {
		delete(p.asks, bare)
		if err := p.kv.Delete(ctx, nsAsks, bare); err != nil {
			return fmt.Errorf("vetting: drop question: %w", err)
		}
	}
	if !e.LeftAt.IsZero() {
		return act.Cancel(ctx, timerExpire+bare)
	}
	return nil
}

// left handles the last seat of an applicant going away.
func (p *Policy) left(ctx context.Context, now time.Time, act policies.Actions, e *Entry) error {
	if p.eff.KeepAfterLeave == 0 {
		return p.remove(ctx, act, e.JID)
	}
	e.LeftAt = now
	if err := p.putJSON(ctx, nsQueue, e.JID, e); err != nil {
		return err
	}
	return act.Schedule(ctx, timerExpire+e.JID, now.Add(p.eff.KeepAfterLeave))
}

// lastBan returns when bare was last banned here according to the audit log.
func (p *Policy) lastBan(ctx context.Context, room policies.Room, bare string) time.Time {
	if p.audit == nil {
		return time.Time{}
	}
	if t, ok := p.lastBans[bare]; ok {
		return t
	}
	recs, err := p.audit.ByTarget(ctx, room.Addr().String(), bare)
	if err != nil {
		p.log.Warn("audit lookup failed", zap.Error(err)) // the entry just lacks the fact
		return time.Time{}
	}
	var last time.Time
	for _, r := range recs {
		if r.Action == "affiliation" && r.Value == string(policies.AffOutcast) && r.Result == "ok" && r.At.After(last) {
			last = r.At
		}
	}
	if p.lastBans != nil {
		p.lastBans[bare] = last
	}
	return last
}

// when formats a time in the room's vetting time zone.
func (p *Policy) when(t time.Time) string {
	return t.In(p.hours.Location()).Format("Mon 2 Jan 15:04") + " (" + p.hours.Location().String() + ")"
}

func domainOf(bare string) string {
	if i := strings.IndexByte(bare, '@'); i >= 0 {
		return bare[i+1:]
	}
	return bare
}

// bareOf is the lowercase bare JID of j, else of raw ("" when unknown).
func bareOf(j jid.JID, raw string) string {
	if !j.Equal(jid.JID{}) {
		return j.Bare().String()
	}
	return policies.Occupant{RealRaw: raw}.BareString()
}

// clean makes remote text safe for a one-line summary: control characters
// (which could fake extra lines) become spaces, and it is cut to max runes.
func clean(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	if r := []rune(s); len(r) > max {
		s = string(r[:max]) + "…"
	}
	return strings.TrimSpace(s)
}

func ago(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}
