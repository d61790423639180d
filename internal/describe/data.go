package describe

import (
	"encoding/json"
	"fmt"
	"io"

	"sigs.k8s.io/yaml"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/lifecycle"
)

// CheckDataFormat refuses an -o that Data cannot write. "" is the command's own view.
// Commands call it before they read anything, so that a bad -o fails at once.
func CheckDataFormat(format string) error {
	switch format {
	case "", "json", "yaml":
		return nil
	}
	return fmt.Errorf("--output must be json or yaml, not %q", format)
}

// Data writes v as indented JSON or as YAML: the machine formats of the outputs that
// are no Kubernetes object (catalog versions, upgrade plans, the plugin's version),
// which cli-runtime's printers do not take.
func Data(out io.Writer, v any, format string) error {
	switch format {
	case "json":
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(out, string(b))
		return err
	case "yaml":
		b, err := yaml.Marshal(v)
		if err != nil {
			return err
		}
		_, err = out.Write(b)
		return err
	}
	return CheckDataFormat(format)
}

// Outcome sums up a created or updated extension in one line of a fleet's summary:
// its state ("dry run" when nothing was written, so it has none) and its version.
func Outcome(e *v1alpha1.Extension) string {
	state := string(e.Status.ProvisioningState)
	if state == "" {
		state = "dry run"
	}
	version := e.Status.CurrentVersion
	if version == "" {
		version = e.Status.TargetVersion
	}
	return fmt.Sprintf("%s at version %s", state, version)
}

// PlanSummary sums up an upgrade run in one line of a fleet's summary, and counts the
// plans that failed.
func PlanSummary(plans []lifecycle.Plan) (summary string, failed int) {
	count := map[string]int{}
	for _, p := range plans {
		count[p.Action]++
	}
	return fmt.Sprintf("%d upgraded, %d to upgrade, %d up to date, %d pinned, %d blocked, %d failed",
		count[lifecycle.ActionUpgraded], count[lifecycle.ActionUpgrade], count[lifecycle.ActionUpToDate],
		count[lifecycle.ActionPinned], count[lifecycle.ActionBlocked], count[lifecycle.ActionFailed]), count[lifecycle.ActionFailed]
}
