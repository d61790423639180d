package catalog

import (
	"context"
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
)

// TypeOptions describe a new extension type, as `kubectl ext type add` reads them
// from its flags and the extension manager may from its configuration.
type TypeOptions struct {
	Name              string
	Repository, Chart string
	Description       string
	// DefaultScope is cluster, namespace or "" (cluster when the type supports it).
	DefaultScope string
	// ClusterScope and NamespaceScope say which scopes the type supports; namespace
	// scope is implied by DefaultScope namespace unless NamespaceScopeSet says it was
	// turned off on purpose.
	ClusterScope, NamespaceScope bool
	NamespaceScopeSet            bool
	DefaultReleaseNamespace      string
	AllowMultipleInstances       bool
	// ReleaseTrains are NAME or NAME:prerelease; none gives Stable and Preview.
	ReleaseTrains []string
	// UpgradePolicy is KubernetesMinor or Minor, case-insensitively.
	UpgradePolicy string
	// InsecureRepositoryReason, for an http:// repository, says why plain http is
	// acceptable; it becomes the annotation the webhook requires for one
	// (v1alpha1.AnnotationAllowInsecureRepository, EXT-TYPEDEF-001).
	InsecureRepositoryReason string
	// Option names an option in an error message: the CLI gives "--" and the flag
	// name. The keys are chart-repository, chart, default-scope, cluster-scope,
	// namespace-scope, default-release-namespace, allow-multiple-instances,
	// release-train, upgrade-policy and allow-insecure-repository. nil names each by
	// its key.
	Option func(key string) string
}

func (o TypeOptions) opt(key string) string {
	if o.Option != nil {
		return o.Option(key)
	}
	return key
}

// NewType validates the options and builds the ExtensionType they describe, before
// anything is sent to a cluster.
func NewType(o TypeOptions) (*v1alpha1.ExtensionType, error) {
	if errs := validation.IsDNS1123Subdomain(o.Name); len(errs) > 0 {
		return nil, fmt.Errorf("NAME %q is not a valid extension type name: %s (use lowercase letters, digits, '-' and '.', like example.podinfo)", o.Name, strings.Join(errs, "; "))
	}
	if o.Repository == "" {
		return nil, fmt.Errorf("%s is required: an https://, oci:// or file:// URL", o.opt("chart-repository"))
	}
	scheme, rest, ok := strings.Cut(o.Repository, "://")
	switch strings.ToLower(scheme) {
	case "https", "http", "oci", "file":
	default:
		ok = false
	}
	if !ok || rest == "" {
		return nil, fmt.Errorf("%s %q must be an https://, http://, oci:// or file:// URL", o.opt("chart-repository"), o.Repository)
	}
	if o.Chart == "" {
		return nil, fmt.Errorf("%s is required: the name of the chart in %s", o.opt("chart"), o.Repository)
	}
	var annotations map[string]string
	if o.InsecureRepositoryReason != "" {
		if !strings.EqualFold(scheme, "http") {
			return nil, fmt.Errorf("%s is for a plain http:// repository, not %s", o.opt("allow-insecure-repository"), o.Repository)
		}
		annotations = map[string]string{v1alpha1.AnnotationAllowInsecureRepository: o.InsecureRepositoryReason}
	}
	scopes, err := o.scopes()
	if err != nil {
		return nil, err
	}
	trains, err := o.releaseTrains()
	if err != nil {
		return nil, err
	}
	policy, err := o.upgradePolicy()
	if err != nil {
		return nil, err
	}
	return &v1alpha1.ExtensionType{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "ExtensionType"},
		ObjectMeta: metav1.ObjectMeta{Name: o.Name, Annotations: annotations},
		Spec: v1alpha1.ExtensionTypeSpec{
			Description:   o.Description,
			Chart:         v1alpha1.ChartSource{Repository: o.Repository, Name: o.Chart},
			Scopes:        scopes,
			ReleaseTrains: trains,
			UpgradePolicy: policy,
		},
	}, nil
}

// scopes reads the scope options: cluster scope unless turned off, namespace scope
// when asked for or when it is the default scope.
func (o TypeOptions) scopes() (v1alpha1.Scopes, error) {
	var s v1alpha1.Scopes
	def := v1alpha1.ScopeName(strings.ToLower(o.DefaultScope))
	switch def {
	case "", v1alpha1.ScopeCluster, v1alpha1.ScopeNamespace:
	default:
		return s, fmt.Errorf("%s must be cluster or namespace, not %q", o.opt("default-scope"), o.DefaultScope)
	}
	cluster, namespace := o.ClusterScope, o.NamespaceScope
	switch {
	case def == v1alpha1.ScopeNamespace && o.NamespaceScopeSet && !namespace:
		return s, fmt.Errorf("%s namespace needs namespace scope, but %s=false was given", o.opt("default-scope"), o.opt("namespace-scope"))
	case def == v1alpha1.ScopeNamespace:
		namespace = true
	case def == v1alpha1.ScopeCluster && !cluster:
		return s, fmt.Errorf("%s cluster needs cluster scope, but %s=false was given", o.opt("default-scope"), o.opt("cluster-scope"))
	}
	if !cluster && !namespace {
		return s, fmt.Errorf("the type must support a scope: with %s=false, give %s=true", o.opt("cluster-scope"), o.opt("namespace-scope"))
	}
	if !cluster {
		switch {
		case o.DefaultReleaseNamespace != "":
			return s, fmt.Errorf("%s is for cluster scope, which %s=false turns off", o.opt("default-release-namespace"), o.opt("cluster-scope"))
		case o.AllowMultipleInstances:
			return s, fmt.Errorf("%s is for cluster scope, which %s=false turns off", o.opt("allow-multiple-instances"), o.opt("cluster-scope"))
		}
	}
	if o.DefaultReleaseNamespace != "" {
		if errs := validation.IsDNS1123Label(o.DefaultReleaseNamespace); len(errs) > 0 {
			return s, fmt.Errorf("%s %q is not a namespace name: %s", o.opt("default-release-namespace"), o.DefaultReleaseNamespace, strings.Join(errs, "; "))
		}
	}
	if def == "" {
		def = v1alpha1.ScopeCluster
		if !cluster {
			def = v1alpha1.ScopeNamespace
		}
	}
	s.Default = def
	if cluster {
		s.Cluster = &v1alpha1.ClusterScopeOptions{
			DefaultReleaseNamespace: o.DefaultReleaseNamespace,
			AllowMultipleInstances:  o.AllowMultipleInstances,
		}
	}
	if namespace {
		s.Namespace = &v1alpha1.NamespaceScopeOptions{}
	}
	return s, nil
}

// releaseTrains reads the trains, NAME or NAME:prerelease; none gives the default
// trains Stable and Preview (with prereleases).
func (o TypeOptions) releaseTrains() ([]v1alpha1.ReleaseTrain, error) {
	if len(o.ReleaseTrains) == 0 {
		return []v1alpha1.ReleaseTrain{
			{Name: v1alpha1.ReleaseTrainStable},
			{Name: v1alpha1.ReleaseTrainPreview, IncludePrerelease: true},
		}, nil
	}
	out := make([]v1alpha1.ReleaseTrain, 0, len(o.ReleaseTrains))
	seen := map[string]bool{}
	for _, v := range o.ReleaseTrains {
		name, suffix, hasSuffix := strings.Cut(strings.TrimSpace(v), ":")
		if name == "" {
			return nil, fmt.Errorf("%s %q names no train: use NAME or NAME:prerelease", o.opt("release-train"), v)
		}
		if hasSuffix && !strings.EqualFold(suffix, "prerelease") {
			return nil, fmt.Errorf("%s %q: the only option after ':' is prerelease (the train offers prereleases too)", o.opt("release-train"), v)
		}
		if seen[strings.ToLower(name)] {
			return nil, fmt.Errorf("%s %s is given twice", o.opt("release-train"), name)
		}
		seen[strings.ToLower(name)] = true
		out = append(out, v1alpha1.ReleaseTrain{Name: name, IncludePrerelease: hasSuffix})
	}
	return out, nil
}

// upgradePolicy reads the upgrade policy, case-insensitively.
func (o TypeOptions) upgradePolicy() (v1alpha1.UpgradePolicy, error) {
	for _, p := range []v1alpha1.UpgradePolicy{v1alpha1.UpgradePolicyKubernetesMinor, v1alpha1.UpgradePolicyMinor} {
		if strings.EqualFold(o.UpgradePolicy, string(p)) {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s must be KubernetesMinor or Minor, not %q", o.opt("upgrade-policy"), o.UpgradePolicy)
}

// AddOptions say how Add writes a new type.
type AddOptions struct {
	// ServerDryRun has the API server validate the type without keeping it.
	ServerDryRun bool
	// Sync reads the type's versions right after it is created.
	Sync bool
}

// NotSyncedError says a type was added but its versions could not be read.
type NotSyncedError struct {
	Name string
	Err  error
}

func (e *NotSyncedError) Error() string {
	return fmt.Sprintf("extension type %s was added, but its versions could not be read; run `kubectl ext type sync %s` once the chart source is reachable: %v", e.Name, e.Name, e.Err)
}

func (e *NotSyncedError) Unwrap() error { return e.Err }

// IsNotSynced reports whether err says a type was added but not synced.
func IsNotSynced(err error) bool {
	var ns *NotSyncedError
	return errors.As(err, &ns)
}

// Add creates the type t (as NewType built it) and, with opts.Sync, reads its
// versions, with a line on Progress before and after. An existing type is not
// changed: that is an error saying how to change it instead. t ends up as the API
// server returned it; a failed sync after a successful create is a *NotSyncedError,
// so the caller can still show the type that was added.
func (c *Catalog) Add(ctx context.Context, t *v1alpha1.ExtensionType, opts AddOptions) error {
	var co []client.CreateOption
	if opts.ServerDryRun {
		co = append(co, client.DryRunAll)
	}
	if err := c.Client.Create(ctx, t, co...); err != nil {
		if apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("extension type %s already exists; `type add` does not change it: edit it with `kubectl get exttype %s -o yaml > type.yaml` and `kubectl apply -f type.yaml`, or delete it first with `kubectl delete exttype %s`", t.Name, t.Name, t.Name)
		}
		return c.explain(err, "create", resourceTypes)
	}
	if !opts.Sync {
		return nil
	}
	c.progress("Reading the versions of extension type %s from %s", t.Name, t.Spec.Chart.Repository)
	if err := c.Sync(ctx, t); err != nil {
		return &NotSyncedError{Name: t.Name, Err: err}
	}
	c.progress("%s", SyncSummary(t))
	return nil
}

func (c *Catalog) progress(format string, args ...any) {
	if c.Progress != nil {
		fmt.Fprintf(c.Progress, format+"\n", args...)
	}
}

// SyncSummary is the one line that says what a sync of t read.
func SyncSummary(t *v1alpha1.ExtensionType) string {
	if len(t.Status.Versions) == 0 {
		return fmt.Sprintf("%s: no versions of chart %s found in %s", t.Name, t.Spec.Chart.Name, t.Spec.Chart.Repository)
	}
	vs := append([]v1alpha1.TypeVersion(nil), t.Status.Versions...)
	SortNewestFirst(vs)
	return fmt.Sprintf("%s: %d versions of chart %s (newest %s) from %s",
		t.Name, len(vs), t.Spec.Chart.Name, vs[0].Version, t.Spec.Chart.Repository)
}
