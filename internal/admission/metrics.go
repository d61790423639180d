package admission

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kubeext/kubectl-ext/internal/policy"
)

// Metrics are the webhook's Prometheus series.
type Metrics struct {
	reviews    *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	violations *prometheus.CounterVec
}

// NewMetrics registers the series on reg (controller-runtime's metrics.Registry in the
// webhook, a fresh registry in tests). Series already registered there, by an earlier
// server in the same process, are shared rather than registered twice.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		reviews: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kubeext_admission_reviews_total",
			Help: "Admission reviews of Extensions by operation, subresource and decision (allowed, denied, error).",
		}, []string{"operation", "subresource", "decision"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "kubeext_admission_review_duration_seconds",
			Help:    "Time to decide one admission review, including the wait for a free slot.",
			Buckets: []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5},
		}, []string{"decision"}),
		violations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kubeext_policy_violations_total",
			Help: "Policy violations by rule id and enforcement (deny, warn, dryrun).",
		}, []string{"rule", "enforcement"}),
	}
	m.reviews = register(reg, m.reviews)
	m.latency = register(reg, m.latency)
	m.violations = register(reg, m.violations)
	return m
}

// register registers c on reg, or returns the collector already registered there
// under the same description.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	err := reg.Register(c)
	if err == nil {
		return c
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing
		}
	}
	panic(err) // a programming error: two different series with one name
}

func (m *Metrics) observe(op, sub, decision string, d time.Duration, dec policy.Decision) {
	if m == nil {
		return
	}
	if sub == "" {
		sub = "none"
	}
	m.reviews.WithLabelValues(op, sub, decision).Inc()
	m.latency.WithLabelValues(decision).Observe(d.Seconds())
	for mode, rs := range map[string][]policy.Result{"deny": dec.Deny, "warn": dec.Warn, "dryrun": dec.DryRun} {
		for _, r := range rs {
			m.violations.WithLabelValues(r.ID, mode).Inc()
		}
	}
}
