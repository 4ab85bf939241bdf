// Package bot is Steward's runtime: the XMPP session (through bot/xmppc and
// the codec in bot/proto), one actor goroutine per room that keeps the
// occupant table and runs the room's policies in order, the executor (the one
// place where the bot acts: guards, dry-run, rate limits, audit), the durable
// timer scheduler, chat commands and the HTTP endpoints.
//
// Data flow: stanza → proto.Decode → router → room inbox → room goroutine
// (occupant table update → policies.Event → each enabled policy's Handle) →
// policies.Actions → Executor → Transport (XMPP) + store.Audit.
//
// Policies never see this package: they get a policies.Room view and a
// policies.Actions built by the executor.
package bot
