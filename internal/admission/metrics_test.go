package admission_test

import (
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// violations reads kubeext_policy_violations_total for a rule and mode from the
// registry the in-process webhook records into.
func violations(t *testing.T, rule, mode string) float64 {
	t.Helper()
	mfs, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "kubeext_policy_violations_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["rule"] == rule && labels["enforcement"] == mode {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}
