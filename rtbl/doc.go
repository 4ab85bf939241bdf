// Package rtbl follows XMPP real-time block lists (RTBLs) and acts on the
// people they list, room by room.
//
// An RTBL is a XEP-0060 pubsub node, such as xmppbl.org's muc_bans_sha256,
// in the format Prosody's and ejabberd's mod_muc_rtbl consume: one item per
// entry, the item id the lowercase hex SHA-256 of a bare JID (or of a
// domain alone, for a whole server), with an optional XEP-0377 report as
// payload. Hash computes those ids; ParseItemID and ParseReport read them.
//
// Service is the process-wide part: it keeps each list as an immutable
// in-memory set behind an atomic pointer (the join path neither locks nor
// waits on I/O nor allocates) and in the store (a restart starts with the
// last known set even when the list's service is down). It resynchronises
// after every reconnect, applies live pubsub events and tells every room
// what appeared and disappeared (Published, Retracted).
//
// The policy (Spec) is the per-room part: it checks joiners against the
// lists the room follows, sweeps present occupants when a list grows, and
// lifts or reports its own actions when an entry is retracted. Every action
// carries the Group "rtbl:<list>" and the item id as Ref, so that one
// command undoes everything a list caused.
//
// The package does not speak XMPP: package bot implements Source (fetch,
// subscribe, publish, retract) and Notifier, and calls OnConnected and
// OnEvent.
//
//	svc := rtbl.NewService(lists, publish, source, kv, notifier, log)
//	if err := svc.Start(ctx); err != nil { log.Warn(…) } // last known sets
//	specs := []policies.Spec{rtbl.Spec(svc), …}
//	// after each (re)connect:
//	svc.OnConnected(sessionCtx)
//	// on each pubsub event:
//	_ = svc.OnEvent(ctx, service, node, published, retracted)
package rtbl
