// Package policies defines what a Steward policy sees and what it may do.
//
// A policy receives events of one room (Event), a read-only view of that room
// (Room) and a narrow set of capabilities (Actions). It never talks to the
// XMPP session, Redis or the configuration loader: the bot stamps every action
// with the policy's name and applies guards, dry-run, rate limits and the
// audit log in one place (the executor).
//
// The entry point for a new policy is Spec: a name, a config constructor and a
// constructor called once per room. Policies are listed, in evaluation order,
// in package policies/builtin.
//
// Time is injected: a policy's "now" is the At of the event it is handling,
// and its timers are actions (Actions.Schedule), delivered back as TimerFired
// events through the room's own queue. Policies never call time.Now or start
// goroutines; a house test checks this.
package policies
