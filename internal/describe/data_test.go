package describe

import (
	"bytes"
	"testing"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/lifecycle"
)

func TestData(t *testing.T) {
	v := []lifecycle.Plan{{Name: "podinfo", Current: "1.4.0", Target: "1.4.1", Action: lifecycle.ActionUpgrade, Reason: "patch"}}
	tests := []struct {
		format, want, wantErr string
	}{
		{format: "json", want: "[\n  {\n    \"name\": \"podinfo\",\n    \"current\": \"1.4.0\",\n    \"target\": \"1.4.1\",\n    \"action\": \"upgrade\",\n    \"reason\": \"patch\"\n  }\n]\n"},
		{format: "yaml", want: "- action: upgrade\n  current: 1.4.0\n  name: podinfo\n  reason: patch\n  target: 1.4.1\n"},
		{format: "wide", wantErr: `--output must be json or yaml, not "wide"`},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			var out bytes.Buffer
			err := Data(&out, v, tt.format)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if out.String() != tt.want {
				t.Errorf("got\n%s\nwant\n%s", out.String(), tt.want)
			}
		})
	}
	for format, ok := range map[string]bool{"": true, "json": true, "yaml": true, "wide": false, "JSON": false, "name": false} {
		if err := CheckDataFormat(format); (err == nil) != ok {
			t.Errorf("CheckDataFormat(%q) = %v, want ok %v", format, err, ok)
		}
	}
}

func TestOutcome(t *testing.T) {
	tests := []struct {
		name   string
		status v1alpha1.ExtensionStatus
		want   string
	}{
		{"installed", v1alpha1.ExtensionStatus{ProvisioningState: "Succeeded", CurrentVersion: "1.4.1", TargetVersion: "1.4.1"}, "Succeeded at version 1.4.1"},
		{"on its way to a version", v1alpha1.ExtensionStatus{ProvisioningState: "Creating", TargetVersion: "1.4.2"}, "Creating at version 1.4.2"},
		{"upgrading: the current version is what runs", v1alpha1.ExtensionStatus{ProvisioningState: "Updating", CurrentVersion: "1.4.1", TargetVersion: "1.4.2"}, "Updating at version 1.4.1"},
		{"a dry run has no state", v1alpha1.ExtensionStatus{TargetVersion: "1.4.1"}, "dry run at version 1.4.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Outcome(&v1alpha1.Extension{Status: tt.status}); got != tt.want {
				t.Errorf("Outcome = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPlanSummary(t *testing.T) {
	plan := func(actions ...string) []lifecycle.Plan {
		var ps []lifecycle.Plan
		for _, a := range actions {
			ps = append(ps, lifecycle.Plan{Name: a, Action: a})
		}
		return ps
	}
	tests := []struct {
		name       string
		plans      []lifecycle.Plan
		want       string
		wantFailed int
	}{
		{"nothing", nil, "0 upgraded, 0 to upgrade, 0 up to date, 0 pinned, 0 blocked, 0 failed", 0},
		{"one of each", plan(lifecycle.ActionUpgraded, lifecycle.ActionUpgrade, lifecycle.ActionUpToDate, lifecycle.ActionPinned, lifecycle.ActionBlocked, lifecycle.ActionFailed),
			"1 upgraded, 1 to upgrade, 1 up to date, 1 pinned, 1 blocked, 1 failed", 1},
		{"two failed, three upgraded", plan(lifecycle.ActionFailed, lifecycle.ActionUpgraded, lifecycle.ActionUpgraded, lifecycle.ActionFailed, lifecycle.ActionUpgraded),
			"3 upgraded, 0 to upgrade, 0 up to date, 0 pinned, 0 blocked, 2 failed", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, failed := PlanSummary(tt.plans)
			if got != tt.want || failed != tt.wantFailed {
				t.Errorf("PlanSummary = %q, %d; want %q, %d", got, failed, tt.want, tt.wantFailed)
			}
		})
	}
}
