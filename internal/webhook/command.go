package webhook

import (
	"github.com/spf13/cobra"
)

// NewCommand returns the webhook's command line.
func NewCommand() *cobra.Command {
	o := NewOptions()
	cmd := &cobra.Command{
		Use:   "webhook",
		Short: "Validating admission webhook for kubeext.dev Extensions",
		Long: `The kubectl-ext admission webhook reviews every CREATE and UPDATE of
extensions.kubeext.dev (and of their status) against the embedded Rego policies:
version pinning, scope and namespace rules, and patch-only upgrades within a
Kubernetes minor version. Denials read "[RULE-ID] message".`,
		Example: `  # Serve with certificates mounted by cert-manager
  webhook --cert-dir /certs --config /etc/kubeext/policy.yaml

  # Serve with self-managed certificates, keeping the caBundle current
  webhook --self-managed-certs --service-namespace kubeext-system`,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			return Run(cmd.Context(), o)
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}
