package vetting

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/steward-xmpp/steward/policies"
)

// Vouch is one member's word for a newcomer.
type Vouch struct {
	By  string    `json:"by"`
	At  time.Time `json:"at"`
	For string    `json:"for,omitempty"`
}

// VouchRecord is kept per vouched person (ns "vouches"): who vouched, and
// when the person was banned, if ever.
type VouchRecord struct {
	Vouches  []Vouch   `json:"vouches"`
	BannedAt time.Time `json:"banned_at,omitzero"`
}

// VoucherRecord is kept per voucher (ns "vouchers"): everyone they vouched
// for, and which of them were banned later. It is what makes a voucher
// answerable.
type VoucherRecord struct {
	Vouched []Vouch  `json:"vouched"`
	Banned  []string `json:"banned,omitempty"`
}

// recordVouch stores both sides of a vouch.
func (p *Policy) recordVouch(ctx context.Context, now time.Time, voucher, vouchee string) error {
	var vr VouchRecord
	if _, err := p.getJSON(ctx, nsVouches, vouchee, &vr); err != nil {
		return err
	}
	vr.Vouches = append(vr.Vouches, Vouch{By: voucher, At: now})
	if err := p.putJSON(ctx, nsVouches, vouchee, vr); err != nil {
		return err
	}
	var r VoucherRecord
	if _, err := p.getJSON(ctx, nsVouchers, voucher, &r); err != nil {
		return err
	}
	r.Vouched = append(r.Vouched, Vouch{For: vouchee, At: now})
	return p.putJSON(ctx, nsVouchers, voucher, r)
}

// banned forgets a banned person's request and approval and, if someone
// vouched for them, marks the vouchers' records and tells officers. A ban
// is often seen twice (presence 301 and the affiliation change): the second
// time finds the record already marked.
func (p *Policy) banned(ctx context.Context, now time.Time, act policies.Actions, bare string) error {
	if bare == "" {
		return nil
	}
	if p.lastBans != nil {
		p.lastBans[bare] = now
	}
	if err := p.remove(ctx, act, bare); err != nil {
		return err
	}
	a, err := p.approval(ctx, bare)
	if err != nil {
		return err
	}
	if a != nil {
		if err := p.forgetApproval(ctx, a); err != nil {
			return err
		}
	}
	var vr VouchRecord
	found, err := p.getJSON(ctx, nsVouches, bare, &vr)
	if err != nil || !found || !vr.BannedAt.IsZero() {
		return err
	}
	vr.BannedAt = now
	if err := p.putJSON(ctx, nsVouches, bare, vr); err != nil {
		return err
	}
	var lines []string
	seen := map[string]bool{}
	for _, v := range vr.Vouches {
		if seen[v.By] {
			continue
		}
		seen[v.By] = true
		var r VoucherRecord
		if _, err := p.getJSON(ctx, nsVouchers, v.By, &r); err != nil {
			return err
		}
		r.Banned = append(r.Banned, bare)
		if err := p.putJSON(ctx, nsVouchers, v.By, r); err != nil {
			return err
		}
		lines = append(lines, fmt.Sprintf("%s vouched for them on %s (%s)", v.By, p.when(v.At), voucherSummary(r)))
	}
	return act.NotifyOfficers(ctx, fmt.Sprintf("%s was banned. %s.", bare, strings.Join(lines, "; ")))
}

func voucherSummary(r VoucherRecord) string {
	people := map[string]bool{}
	for _, v := range r.Vouched {
		people[v.For] = true
	}
	banned := map[string]bool{}
	for _, b := range r.Banned {
		banned[b] = true
	}
	return fmt.Sprintf("has vouched for %d %s, %d of them banned since", len(people), plural(len(people), "person", "people"), len(banned))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// mayVouch reports whether the invoker may vouch under vouch_by.
func (p *Policy) mayVouch(inv policies.Invocation, room policies.Room) bool {
	if inv.Level >= policies.Member || room.Affiliation(inv.From.String()) == policies.AffMember {
		return true
	}
	if p.eff.VouchBy != VouchByVoice {
		return false
	}
	for _, o := range room.ByBareJID(inv.From.String()) {
		if o.Role.HasVoice() {
			return true
		}
	}
	return false
}

func (p *Policy) runVouch(ctx context.Context, inv policies.Invocation, room policies.Room, act policies.Actions) error {
	if len(inv.Args) != 1 {
		return policies.Usagef("name one person: vouch <nick>")
	}
	if !p.mayVouch(inv, room) {
		if p.eff.VouchBy == VouchByVoice {
			return policies.Usagef("only people with voice in %s can vouch for someone", room.Addr())
		}
		return policies.Usagef("only members of %s can vouch for someone", room.Addr())
	}
	t, err := p.resolve(room, inv.Args[0], false)
	if err != nil {
		return err
	}
	voucher := inv.From.String()
	if t.bare == voucher {
		return policies.Usagef("you cannot vouch for yourself")
	}
	if t.hasVoice(room) {
		return inv.Reply(ctx, fmt.Sprintf("%s already has voice; nothing to vouch for.", t.nick))
	}
	if err := p.recordVouch(ctx, inv.At, voucher, t.bare); err != nil {
		return err
	}
	who := voucher
	if inv.Nick != "" {
		who = inv.Nick
	}
	if p.eff.VouchEffect == VouchGrant {
		if _, err := p.grant(ctx, inv.At, room, act, t, false, voucher, ViaVouch, ""); err != nil {
			return err
		}
		if err := act.NotifyOfficers(ctx, fmt.Sprintf("%s (%s) vouched for %s (%s) in %s; voice granted. %s is answerable for them.",
			clean(who, 64), voucher, clean(t.nick, 64), t.bare, room.Addr(), voucher)); err != nil {
			return err
		}
		return inv.Reply(ctx, fmt.Sprintf("Thank you. %s has voice now. You vouched for them: if they are banned later, officers will see your name.", t.nick))
	}
	e := t.entry
	if e == nil {
		msg, ne, err := p.enqueue(ctx, inv.At, room, act, request{bare: t.bare, real: realString(t.occ), occ: t.occ, nick: t.nick, via: ViaVouch, quiet: true})
		if err != nil {
			return err
		}
		if ne == nil {
			return inv.Reply(ctx, fmt.Sprintf("%s cannot be queued: %s", t.nick, msg))
		}
		e = ne
	}
	if !e.has(ViaVouch) {
		e.Via = append(e.Via, ViaVouch)
	}
	e.Prioritised = true
	if !containsString(e.Vouchers, voucher) {
		e.Vouchers = append(e.Vouchers, voucher)
	}
	if err := p.putJSON(ctx, nsQueue, e.JID, e); err != nil {
		return err
	}
	n := p.numberFor(e.JID)
	if err := p.saveListing(ctx); err != nil {
		return err
	}
	if err := act.NotifyOfficers(ctx, fmt.Sprintf("%s (%s) vouched for %s (%s) in %s: their request #%d is now at the top of the queue.",
		clean(who, 64), voucher, clean(e.Nick, 64), e.JID, room.Addr(), n)); err != nil {
		return err
	}
	if err := p.tellEntry(ctx, act, e, fmt.Sprintf("%s vouched for you in %s: your voice request moves to the top of the queue.", clean(who, 64), room.Addr())); err != nil {
		return err
	}
	return inv.Reply(ctx, fmt.Sprintf("Thank you. %s's request is now at the top of the queue. You vouched for them: if they are banned later, officers will see your name.", e.Nick))
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
