package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubeext/kubectl-ext/internal/azflags"
	"github.com/kubeext/kubectl-ext/internal/describe"
	"github.com/kubeext/kubectl-ext/internal/lifecycle"
)

var upgradeExample = templates.Examples(`
	# See what the extension manager would upgrade, without changing anything
	kubectl ext upgrade --all --dry-run

	# Upgrade every auto-upgrading extension within its train and policies
	kubectl ext upgrade --all

	# Upgrade two extensions, as JSON for a script
	kubectl ext upgrade podinfo flux -o json`)

// UpgradeOptions is `kubectl ext upgrade`, the extension manager's periodic job.
type UpgradeOptions struct {
	Names  []string
	All    bool
	DryRun bool
	Output string
	wait   azflags.Wait
	fleet  fleetFlags
	f      *factory
	genericiooptions.IOStreams
}

// NewUpgradeCommand returns `kubectl ext upgrade`.
func NewUpgradeCommand(f *factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &UpgradeOptions{f: f, IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "upgrade [NAME ...|--all]",
		Short: "Move auto-upgrading extensions to the newest version their train and policies allow",
		Long: templates.LongDesc(`
			Move each auto-upgrading extension to the newest version allowed by its release
			train, its type's catalog, the chart's kubeVersion, its type's upgrade policy and
			the admission policies; never to a new major version. Under the KubernetesMinor
			policy only patches are taken until the cluster's Kubernetes minor moves past the
			one the installed minor was adopted at. Pinned extensions are reported, not
			touched. Each upgrade goes through the same reviewed path as update:
			status.targetVersion first, then Helm.`),
		Example: upgradeExample,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Names = args
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd)
		},
	}
	cmd.Flags().BoolVar(&o.All, "all", false, "Upgrade every extension of the cluster.")
	cmd.Flags().BoolVar(&o.DryRun, "dry-run", false, "Only show the plan; change nothing.")
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "Output format. One of: (json, yaml).")
	o.wait.AddFlags(cmd.Flags())
	o.fleet.addFlags(cmd.Flags())
	cmd.ValidArgsFunction = completeExtensions(f, 0)
	return cmd
}

// Validate checks the arguments.
func (o *UpgradeOptions) Validate() error {
	switch {
	case o.All && len(o.Names) > 0:
		return fmt.Errorf("give extension names or --all, not both")
	case !o.All && len(o.Names) == 0:
		return fmt.Errorf("name the extensions to upgrade, or give --all")
	}
	if err := describe.CheckDataFormat(o.Output); err != nil {
		return err
	}
	if err := o.fleet.validate(); err != nil {
		return err
	}
	return o.wait.Validate()
}

// Run plans and applies the upgrades, on one cluster or on each of a fleet; it fails
// when any extension failed.
func (o *UpgradeOptions) Run(cmd *cobra.Command) error {
	op := func(ctx context.Context, f *factory, out, errOut io.Writer) (string, error) {
		m, err := f.manager(ctx, errOut)
		if err != nil {
			return "", err
		}
		plans, err := m.Upgrade(ctx, lifecycle.UpgradeRequest{Names: o.Names, DryRun: o.DryRun, Wait: !o.wait.NoWait, Timeout: o.wait.Timeout})
		if err != nil {
			return "", err
		}
		if err := describe.Plans(out, plans, o.Output); err != nil {
			return "", err
		}
		summary, n := describe.PlanSummary(plans)
		if n > 0 {
			return summary, fmt.Errorf("%d of %d extensions failed to upgrade", n, len(plans))
		}
		return summary, nil
	}
	return o.fleet.run(cmd.Context(), o.f, o.Out, o.ErrOut, op)
}
