// Package vetting turns voice requests in a moderated room into one queue
// that vetting officers work through by chat command.
//
// A visitor asks in any of four ways, all landing in one entry per real bare
// JID: the XEP-0045 voice-request form, a marker at the start of the nick
// (default "?"), "request" by direct message, or a member's "vouch".
// Officers are notified in batches and answer with queue, approve, deny and
// ask; approvals are remembered so that an approved person who rejoins gets
// voice back at once (Prosody forgets roles). Owners set vetting hours,
// accepted servers, a cooldown after denials and a cap on the queue, in the
// config file or at run time with "vetting set".
//
// All state is in the policy's KV (store.KV, Redis in production): a new
// instance over the same KV, after a restart or a reload, carries on with
// the same queue. The package does not talk to the server itself: it acts
// through policies.Actions, and it does not decide who is an officer (the
// room's configuration does).
//
// The entry point is Spec, listed in policies/builtin:
//
//	vetting.Spec // rooms[].policies.vetting
//
// ParseHours and CheckMarker are exported for check-config and tools:
//
//	h, err := vetting.ParseHours("Mon-Fri 18:00-22:00 Europe/Berlin")
//	if err == nil && !h.Open(now) {
//		fmt.Println("vetting resumes", h.NextOpen(now))
//	}
package vetting
