package cli

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestLostCluster: a step that failed because the cluster's own API server could not
// be reached says so first; other failures, a chart repository out of reach among
// them, and errors that say it already, are left as they are.
func TestLostCluster(t *testing.T) {
	const server = "https://10.0.0.1:6443"
	for _, tt := range []struct {
		name string
		err  error
		lost bool
	}{
		{"inside Helm, refused", errors.New(`helm upgrade: could not get information about the resource: Get "https://10.0.0.1:6443/apis/apps/v1/namespaces/x/deployments/y": dial tcp 10.0.0.1:6443: connect: connection refused`), true},
		{"a status write cut off", fmt.Errorf("version 2.0.0 was deployed (release revision 2), but recording it failed: %w",
			errors.New(`cannot reach the cluster (check --kubeconfig, --context and that the API server is up): Put "https://10.0.0.1:6443/apis/kubeext.dev/v1alpha1/extensions/e/status": unexpected EOF`)), true},
		{"said first already", errors.New(`cannot reach the cluster (check --kubeconfig, --context and that the API server is up): Get "https://10.0.0.1:6443/version": dial tcp 10.0.0.1:6443: i/o timeout`), false},
		{"the chart repository", errors.New(`pulling chart podinfo 2.0.0: Get "http://10.0.0.9:8080/index.yaml": dial tcp 10.0.0.9:8080: connect: connection refused`), false},
		{"another cluster's address", errors.New(`Get "https://10.0.0.1:64430/version": dial tcp 10.0.0.1:64430: connect: connection refused`), false},
		{"refused by the API server", errors.New(`the API server refused Extension "e": spec.version: Invalid value`), false},
		{"none", nil, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := lostCluster(tt.err, server)
			if !tt.lost {
				if got != tt.err { //nolint:errorlint // the very error, unchanged
					t.Errorf("changed to %v", got)
				}
				return
			}
			if !strings.HasPrefix(got.Error(), "cannot reach the cluster at "+server+": it was lost while the operation ran") ||
				!errors.Is(got, tt.err) {
				t.Errorf("= %v", got)
			}
		})
	}
}
