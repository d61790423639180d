package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/util/retry"
	"k8s.io/kubectl/pkg/util/templates"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/catalog"
	"github.com/kubeext/kubectl-ext/internal/chartsource"
	"github.com/kubeext/kubectl-ext/internal/lifecycle"
	"github.com/kubeext/kubectl-ext/internal/policy"
	"github.com/kubeext/kubectl-ext/internal/policyinput"
)

var typeLong = templates.LongDesc(`
	Manage the catalog of extension types.

	An extension type (an ExtensionType object) names a Helm chart and where it comes
	from (an https:// chart repository, an oci:// registry or a file:// directory), the
	scopes it installs with, its release trains and its upgrade policy. Its versions,
	and the Kubernetes versions each chart supports, are read from the chart source by
	'kubectl ext type sync' into the type's status; 'kubectl ext type versions' shows
	which of them this cluster can run.

	Extension types can also be written as YAML and applied with 'kubectl apply -f'.`)

var typeExample = templates.Examples(`
	# Add podinfo from its chart repository and read its versions at once
	kubectl ext type add example.podinfo --chart-repository https://stefanprodan.github.io/podinfo \
	  --chart podinfo --sync

	# List the catalog, show one type, refresh every type's versions
	kubectl ext type list
	kubectl ext type show example.podinfo
	kubectl ext type sync --all

	# The versions of podinfo this cluster can run on the Stable train, newest first
	kubectl ext type versions example.podinfo`)

// NewTypeCommand returns `kubectl ext type` (alias `types`) and its subcommands: add,
// list, show, sync and versions.
func NewTypeCommand(f *factory, streams genericiooptions.IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "type",
		Aliases: []string{"types"},
		Short:   "Manage the catalog of extension types (az k8s-extension extension-types)",
		Long:    typeLong,
		Example: typeExample,
		Args:    cobra.NoArgs, // an unknown subcommand is an error, not help
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		},
	}
	cmd.AddCommand(
		NewTypeAddCommand(f, streams),
		NewTypeListCommand(f, streams),
		NewTypeShowCommand(f, streams),
		NewTypeSyncCommand(f, streams),
		NewTypeVersionsCommand(f, streams),
	)
	return cmd
}

// typeChartOptions builds the chart source options from the chart flags, the way
// factory.manager does.
func typeChartOptions(c chartFlags, progress io.Writer) chartsource.Options {
	return chartsource.Options{
		Progress:              progress,
		CacheDir:              c.CacheDir,
		PlainHTTP:             c.PlainHTTP,
		InsecureSkipTLSVerify: c.InsecureSkipTLSVerify,
		CAFile:                c.CAFile,
		RegistryConfig:        c.RegistryConfig,
	}
}

// typeClusterInfo reads the cluster's effective Kubernetes version from /version.
func typeClusterInfo(ctx context.Context, f *factory) (policy.ClusterInfo, error) {
	cfg, err := f.flags.ToRESTConfig()
	if err != nil {
		return policy.ClusterInfo{}, fmt.Errorf("no cluster to talk to (check --kubeconfig and --context): %w", err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return policy.ClusterInfo{}, err
	}
	info, err := policyinput.Discovery{Client: dc}.ClusterInfo(ctx)
	return info, lifecycle.Explain(err, "read", "the cluster's version")
}

// typeGet reads an extension type; one that does not exist is an error naming the
// known types.
func typeGet(ctx context.Context, c client.Client, name string) (*v1alpha1.ExtensionType, error) {
	t := &v1alpha1.ExtensionType{}
	err := c.Get(ctx, types.NamespacedName{Name: name}, t)
	if apierrors.IsNotFound(err) && !lifecycle.IsCRDMissing(err) {
		known := "none; add one with `kubectl ext type add`"
		list := &v1alpha1.ExtensionTypeList{}
		if lerr := c.List(ctx, list); lerr == nil && len(list.Items) > 0 {
			names := make([]string, 0, len(list.Items))
			for _, it := range list.Items {
				names = append(names, it.Name)
			}
			sort.Strings(names)
			known = strings.Join(names, ", ")
		}
		return nil, fmt.Errorf("extension type %q does not exist (known types: %s)", name, known)
	}
	if err != nil {
		return nil, lifecycle.Explain(err, "get", "extensiontypes.kubeext.dev")
	}
	return t, nil
}

// typeSync reads the type's versions from its chart source into its status, reading
// the type again when someone else wrote it meanwhile.
func typeSync(ctx context.Context, c client.Client, t *v1alpha1.ExtensionType, opts chartsource.Options, now time.Time) error {
	src, err := chartsource.New(t.Spec.Chart, opts)
	if err != nil {
		return fmt.Errorf("extension type %s: %w", t.Name, err)
	}
	first := true
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if !first {
			fresh := &v1alpha1.ExtensionType{}
			if err := c.Get(ctx, types.NamespacedName{Name: t.Name}, fresh); err != nil {
				return lifecycle.Explain(err, "get", "extensiontypes.kubeext.dev")
			}
			*t = *fresh
		}
		first = false
		err := catalog.Sync(ctx, c, t, src, now)
		var status apierrors.APIStatus
		if errors.As(err, &status) { // writing the status failed, not reading the source
			return lifecycle.Explain(err, "update", "extensiontypes.kubeext.dev/status")
		}
		return err
	})
}

// typeSyncSummary is the one line that says what a sync read.
func typeSyncSummary(t *v1alpha1.ExtensionType) string {
	if len(t.Status.Versions) == 0 {
		return fmt.Sprintf("%s: no versions of chart %s found in %s", t.Name, t.Spec.Chart.Name, t.Spec.Chart.Repository)
	}
	vs := append([]v1alpha1.TypeVersion(nil), t.Status.Versions...)
	catalog.SortNewestFirst(vs)
	return fmt.Sprintf("%s: %d versions of chart %s (newest %s) from %s",
		t.Name, len(vs), t.Spec.Chart.Name, vs[0].Version, t.Spec.Chart.Repository)
}
