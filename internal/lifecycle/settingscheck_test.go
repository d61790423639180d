package lifecycle_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/chartsource"
	"github.com/kubeext/kubectl-ext/internal/lifecycle"
)

// podinfoSchema is the values.schema.json of schemaSource's charts.
const podinfoSchema = `{
  "type": "object",
  "properties": {
    "replicaCount": {"type": "integer", "minimum": 1},
    "message": {"type": "string"},
    "apiKey": {"type": "string", "pattern": "^[a-z]+$"}
  }
}`

// schemaSource serves podinfoVersions as charts with default values and a
// values.schema.json, counting the charts it loads.
type schemaSource struct {
	source
	loads *atomic.Int32
}

func newSchemaSource() schemaSource {
	return schemaSource{source: source{podinfoVersions}, loads: &atomic.Int32{}}
}

func (s schemaSource) Load(ctx context.Context, version string) (*chart.Chart, error) {
	ch, err := s.source.Load(ctx, version)
	if err != nil {
		return nil, err
	}
	s.loads.Add(1)
	ch.Values = chartutil.Values{"replicaCount": float64(1), "message": "hello"}
	ch.Schema = []byte(podinfoSchema)
	return ch, nil
}

// wantNothingWritten checks that no Namespace was created, no Secret or Lease written
// and the extension (when given) left as it was: what a refusal before the first write
// leaves.
func wantNothingWritten(before *v1alpha1.Extension) func(*testing.T, *harness) {
	return func(t *testing.T, h *harness) {
		t.Helper()
		ctx := context.Background()
		var nss corev1.NamespaceList
		var secrets corev1.SecretList
		var leases coordinationv1.LeaseList
		for _, l := range []client.ObjectList{&nss, &secrets, &leases} {
			if err := h.c.List(ctx, l); err != nil {
				t.Fatal(err)
			}
		}
		if len(nss.Items)+len(secrets.Items)+len(leases.Items) > 0 {
			t.Errorf("written: %d namespaces, %d secrets, %d leases; want none", len(nss.Items), len(secrets.Items), len(leases.Items))
		}
		e := h.extension(t, "podinfo")
		switch {
		case before == nil && e != nil:
			t.Errorf("extension podinfo was recorded (%s), want none", e.Status.ProvisioningState)
		case before != nil && e == nil:
			t.Errorf("extension podinfo is gone")
		case before != nil && (e.ResourceVersion != "999" || e.Status.ProvisioningState != before.Status.ProvisioningState):
			t.Errorf("extension podinfo was written: resourceVersion %s, state %s", e.ResourceVersion, e.Status.ProvisioningState)
		}
	}
}

// wantProgress checks that the progress holds each of want.
func wantProgress(want ...string) func(*testing.T, *harness) {
	return func(t *testing.T, h *harness) {
		t.Helper()
		for _, w := range want {
			if !strings.Contains(h.progress.String(), w) {
				t.Errorf("progress does not say %q:\n%s", w, h.progress)
			}
		}
	}
}

// wantLoads checks how many charts the command pulled.
func wantLoads(src schemaSource, n int32) func(*testing.T, *harness) {
	return func(t *testing.T, _ *harness) {
		t.Helper()
		if got := src.loads.Load(); got != n {
			t.Errorf("charts pulled %d times, want %d", got, n)
		}
	}
}

func TestSettingsCheckedBeforeAnythingIsWritten(t *testing.T) {
	// An installed extension as the fake client stores it, so a write shows in its
	// resourceVersion.
	installedAt := func() *v1alpha1.Extension {
		e := installed("podinfo", "1.4.0", v1alpha1.ProvisioningSucceeded, false)
		e.ResourceVersion = "999"
		return e
	}
	var cases []opCase
	for _, dry := range []lifecycle.DryRun{lifecycle.DryRunNone, lifecycle.DryRunClient, lifecycle.DryRunServer} {
		src := newSchemaSource()
		cases = append(cases, opCase{
			name: "create with a value of the wrong type is refused naming the key, dry run " + string(orNoneDry(dry)),
			objs: []client.Object{podinfoType(false)},
			helm: helmSetup{charts: src},
			run: create(lifecycle.CreateRequest{Name: "podinfo", ExtensionType: typeName, DryRun: dry,
				Settings: map[string]string{"replicaCount": "two"}, Protected: map[string]string{"apiKey": "abc"}}),
			wantIs:  lifecycle.ErrInvalid,
			wantErr: "chart podinfo 1.5.0 refuses the settings:\n  - replicaCount: got string, want integer",
			check:   both(wantNothingWritten(nil), wantLoads(src, 1)),
		})
		src = newSchemaSource()
		before := installedAt()
		cases = append(cases, opCase{
			name: "update with a value of the wrong type is refused naming the key, dry run " + string(orNoneDry(dry)),
			objs: []client.Object{podinfoType(false), before},
			helm: helmSetup{deployed: true, charts: src},
			run: update(lifecycle.UpdateRequest{Name: "podinfo", DryRun: dry,
				Settings: map[string]string{"replicaCount": "0"}}),
			wantIs:  lifecycle.ErrInvalid,
			wantErr: "replicaCount: minimum: got 0, want 1",
			check:   both(wantNothingWritten(before), wantLoads(src, 1)),
		})
	}
	src := newSchemaSource()
	cases = append(cases, opCase{
		name:    "a protected value the schema quotes is redacted from the error",
		objs:    []client.Object{podinfoType(false)},
		helm:    helmSetup{charts: src},
		run:     create(lifecycle.CreateRequest{Name: "podinfo", ExtensionType: typeName, Protected: map[string]string{"apiKey": "S3cret-Value"}}),
		wantIs:  lifecycle.ErrInvalid,
		wantErr: "apiKey: the protected value does not match pattern",
		check:   wantNothingWritten(nil),
	})
	src = newSchemaSource()
	cases = append(cases, opCase{
		name:      "a typo is warned about with the key meant, and the create goes on with the chart pulled once",
		objs:      []client.Object{podinfoType(false)},
		helm:      helmSetup{charts: src},
		run:       create(lifecycle.CreateRequest{Name: "podinfo", ExtensionType: typeName, Settings: map[string]string{"replicaCout": "2", "message": "hi"}}),
		wantCalls: []string{"install podinfo/podinfo 1.5.0"},
		check: both(wantState("podinfo", v1alpha1.ProvisioningSucceeded, "1.5.0", ""), wantLoads(src, 1),
			wantProgress("Warning: setting replicaCout is not a value of chart podinfo 1.5.0", "did you mean replicaCount?")),
	})
	src = newSchemaSource()
	cases = append(cases, opCase{
		name:      "an update warns about the keys it gives, pulls the chart once though it checks before and under the lock",
		objs:      []client.Object{podinfoType(false), installedAt()},
		helm:      helmSetup{deployed: true, charts: src},
		run:       update(lifecycle.UpdateRequest{Name: "podinfo", Settings: map[string]string{"mesage": "hi"}}),
		wantCalls: []string{"upgrade podinfo/podinfo 1.4.0"},
		check: both(wantState("podinfo", v1alpha1.ProvisioningSucceeded, "1.4.0", ""), wantLoads(src, 1),
			wantProgress("Warning: setting mesage is not a value of chart podinfo 1.4.0", "did you mean message?")),
	})
	cases = append(cases, opCase{
		name: "no Extension is written when the chart cannot be pulled",
		objs: []client.Object{podinfoType(false)},
		helm: helmSetup{charts: source{}},
		run:  create(lifecycle.CreateRequest{Name: "podinfo", ExtensionType: typeName, Protected: map[string]string{"apiKey": "abc"}}),
		// source{} lists no version, so the catalog's 1.5.0 cannot be pulled.
		wantErr: "no chart version 1.5.0",
		check:   wantNothingWritten(nil),
	})
	runOps(t, cases)
}

func orNoneDry(d lifecycle.DryRun) lifecycle.DryRun {
	if d == lifecycle.DryRunNone {
		return "none"
	}
	return d
}

// TestSettingsCheckError: the schema's refusal is ErrInvalid and keeps the settings'
// SchemaError for callers that list the problems.
func TestSettingsCheckError(t *testing.T) {
	h := newHarness(t, helmSetup{charts: newSchemaSource()}, podinfoType(false))
	_, err := h.m.Create(context.Background(), lifecycle.CreateRequest{Name: "podinfo", ExtensionType: typeName,
		Settings: map[string]string{"replicaCount": "two", "message": "3"}})
	if !errors.Is(err, lifecycle.ErrInvalid) {
		t.Fatalf("error = %v, want ErrInvalid", err)
	}
	for _, key := range []string{"replicaCount", "message"} {
		if !strings.Contains(err.Error(), "- "+key+": got") {
			t.Errorf("error does not name %s:\n%v", key, err)
		}
	}
}

// TestConvergeRecordsRefusal: a declared Extension's spec is written already, so the
// settings its chart refuses, or a chart that cannot be pulled, are recorded as its
// Failed status (the extension manager's user reads it there), and Helm is not called.
func TestConvergeRecordsRefusal(t *testing.T) {
	tests := []struct {
		name     string
		charts   chartsource.Source
		settings map[string]string
		wantCode string
		wantErr  string
	}{
		{"settings the schema refuses", newSchemaSource(), map[string]string{"replicaCount": "0"}, "InvalidSettings", "replicaCount: minimum: got 0, want 1"},
		{"a chart that cannot be pulled", source{}, map[string]string{"replicaCount": "2"}, "ChartUnavailable", "no chart version 1.4.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := installed("podinfo", "1.4.0", v1alpha1.ProvisioningSucceeded, false)
			e.Spec.ConfigurationSettings = tt.settings
			h := newHarness(t, helmSetup{deployed: true, charts: tt.charts}, podinfoType(false), e)
			_, err := h.m.Converge(context.Background(), lifecycle.ConvergeRequest{Name: "podinfo"})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Converge error = %v, want one saying %q", err, tt.wantErr)
			}
			got := h.extension(t, "podinfo")
			if got.Status.ProvisioningState != v1alpha1.ProvisioningFailed || got.Status.ErrorInfo == nil || got.Status.ErrorInfo.Code != tt.wantCode {
				t.Errorf("status %s %+v, want Failed with code %s", got.Status.ProvisioningState, got.Status.ErrorInfo, tt.wantCode)
			}
			if len(h.helm.calls) != 0 {
				t.Errorf("Helm was called: %v", h.helm.calls)
			}
		})
	}
}
