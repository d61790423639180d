package cli

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
)

// completeExtensions completes extension names from the cluster (for NAME arguments).
func completeExtensions(f *factory, max int) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if max > 0 && len(args) >= max {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		c, err := f.client()
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		list := &v1alpha1.ExtensionList{}
		if err := c.List(ctx, list); err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		var out []cobra.Completion
		for _, e := range list.Items {
			if strings.HasPrefix(e.Name, toComplete) && !slices.Contains(args, e.Name) {
				out = append(out, cobra.CompletionWithDesc(e.Name, e.Spec.ExtensionType+" "+e.Status.CurrentVersion))
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeTypes completes extension type names from the catalog.
func completeTypes(f *factory) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		c, err := f.client()
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		list := &v1alpha1.ExtensionTypeList{}
		if err := c.List(ctx, list); err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		var out []cobra.Completion
		for _, t := range list.Items {
			if strings.HasPrefix(t.Name, toComplete) {
				out = append(out, cobra.CompletionWithDesc(t.Name, t.Spec.Description))
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// fixedCompletions completes a flag from a fixed list.
func fixedCompletions(values ...string) cobra.CompletionFunc {
	return cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp)
}
