package bot

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the bot's Prometheus series. They are registered on the
// registerer given to NewMetrics (never the global one), so that tests and
// several bots in one process do not collide. Every method is safe on a nil
// *Metrics, which unit tests pass when they do not look at metrics.
type Metrics struct {
	events        *prometheus.CounterVec
	actions       *prometheus.CounterVec
	latency       prometheus.Histogram
	redisErrors   *prometheus.CounterVec
	roomsJoined   prometheus.Gauge
	policyErrors  *prometheus.CounterVec
	timersPending prometheus.Gauge
	rtblEntries   *prometheus.GaugeVec
	rtblSetAge    *prometheus.GaugeVec
	reloadOK      prometheus.Gauge
	xmppConnected prometheus.Gauge
	rateWait      prometheus.Histogram
}

// NewMetrics creates the bot's series and registers them on reg (nil
// registers nowhere, for tests). It panics if reg already holds them, as
// prometheus.MustRegister does: that is a programming error.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "steward_events_total",
			Help: "Room events delivered to policies, by event type.",
		}, []string{"type"}),
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "steward_actions_total",
			Help: "Actions handled by the executor, by policy (\"command\" for people), kind and result (ok, error, refused, dry-run).",
		}, []string{"policy", "kind", "result"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "steward_action_latency_seconds",
			Help:    "Time from receiving the stanza that triggered an action to sending the action, rate-limit waits included.",
			Buckets: prometheus.ExponentialBucketsRange(0.0001, 5, 16),
		}),
		redisErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "steward_redis_errors_total",
			Help: "Failed store operations, by operation.",
		}, []string{"op"}),
		roomsJoined: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "steward_rooms_joined",
			Help: "Rooms the bot is currently joined to.",
		}),
		policyErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "steward_policy_errors_total",
			Help: "Errors returned (or panics recovered) by policies, by policy.",
		}, []string{"policy"}),
		timersPending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "steward_timers_pending",
			Help: "Policy timers scheduled and not yet fired.",
		}),
		rtblEntries: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "steward_rtbl_entries",
			Help: "Entries in each real-time block list.",
		}, []string{"list"}),
		rtblSetAge: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "steward_rtbl_set_age_seconds",
			Help: "Age of each block list's full item set, since it was last fetched whole.",
		}, []string{"list"}),
		reloadOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "steward_config_last_reload_successful",
			Help: "1 if the last configuration reload succeeded, 0 if it failed.",
		}),
		xmppConnected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "steward_xmpp_connected",
			Help: "1 while the XMPP session is up.",
		}),
		rateWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "steward_ratelimit_wait_seconds",
			Help:    "Time an outgoing stanza waited for the executor's rate limits.",
			Buckets: prometheus.ExponentialBucketsRange(0.001, 60, 12),
		}),
	}
	// A fresh process has loaded its config successfully, or it would not run.
	m.reloadOK.Set(1)
	if reg != nil {
		reg.MustRegister(m.events, m.actions, m.latency, m.redisErrors, m.roomsJoined,
			m.policyErrors, m.timersPending, m.rtblEntries, m.rtblSetAge, m.reloadOK,
			m.xmppConnected, m.rateWait)
	}
	return m
}

// event counts one event of type typ delivered to a room's policies.
func (m *Metrics) event(typ string) {
	if m == nil {
		return
	}
	m.events.WithLabelValues(typ).Inc()
}

// action counts one executor outcome.
func (m *Metrics) action(policy, kind, result string) {
	if m == nil {
		return
	}
	m.actions.WithLabelValues(policy, kind, result).Inc()
}

// actionLatency observes the time from a stanza to the action it caused.
func (m *Metrics) actionLatency(d time.Duration) {
	if m == nil {
		return
	}
	m.latency.Observe(d.Seconds())
}

// redisError counts one failed store operation.
func (m *Metrics) redisError(op string) {
	if m == nil {
		return
	}
	m.redisErrors.WithLabelValues(op).Inc()
}

// roomJoined adds delta to the joined-rooms gauge when apply is true, so
// that callers can pass "was this room counted as joined" along.
func (m *Metrics) roomJoined(delta int, apply bool) {
	if m == nil || !apply {
		return
	}
	m.roomsJoined.Add(float64(delta))
}

// policyError counts one error of a policy.
func (m *Metrics) policyError(policy string) {
	if m == nil {
		return
	}
	m.policyErrors.WithLabelValues(policy).Inc()
}

// timersPendingSet sets the number of pending timers.
func (m *Metrics) timersPendingSet(n int) {
	if m == nil {
		return
	}
	m.timersPending.Set(float64(n))
}

// rtbl sets the size of a block list and the age of its full set.
func (m *Metrics) rtbl(list string, entries int, setAge time.Duration) {
	if m == nil {
		return
	}
	m.rtblEntries.WithLabelValues(list).Set(float64(entries))
	m.rtblSetAge.WithLabelValues(list).Set(setAge.Seconds())
}

// reloaded records the outcome of a configuration reload.
func (m *Metrics) reloaded(ok bool) {
	if m == nil {
		return
	}
	m.reloadOK.Set(b2f(ok))
}

// connected records whether the XMPP session is up.
func (m *Metrics) connected(up bool) {
	if m == nil {
		return
	}
	m.xmppConnected.Set(b2f(up))
}

// rateLimitWait observes how long one stanza waited for the rate limits.
func (m *Metrics) rateLimitWait(d time.Duration) {
	if m == nil {
		return
	}
	m.rateWait.Observe(d.Seconds())
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// RTBL exports one block list's size and the age of its last full sync.
func (m *Metrics) RTBL(list string, entries int, age time.Duration) {
	m.rtbl(list, entries, age)
}
