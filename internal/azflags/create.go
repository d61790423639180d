package azflags

import (
	"fmt"
	"regexp"

	"github.com/spf13/pflag"
	"k8s.io/utils/ptr"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/lifecycle"
)

// Create is the flags of `az k8s-extension create`, and the plugin's --dry-run, as
// given.
type Create struct {
	ExtensionType                     ExtensionType
	Scope, ReleaseNamespace, TargetNS string
	AutoUpgrade                       string
	Version, ReleaseTrain             string
	DryRun                            string
	Settings                          Settings
	Wait                              Wait
	Marketplace                       Marketplace
}

// AddFlags registers create's flags on fs. Completion of their values is the
// command's: it needs a cluster.
func (c *Create) AddFlags(fs *pflag.FlagSet) {
	AddExtensionTypeFlag(fs, &c.ExtensionType, "Extension type to install (see: kubectl ext type list). Required. (az's -t is --cluster-type; here it is --extension-type.)")
	fs.StringVar(&c.Scope, "scope", "", "cluster or namespace (any case, as in az); defaults to the type's default, or to cluster when --release-namespace is given.")
	fs.StringVar(&c.ReleaseNamespace, "release-namespace", "", "Namespace of the release with cluster scope (created if missing).")
	fs.StringVar(&c.TargetNS, "target-namespace", "", "Namespace to install into with namespace scope (created if missing).")
	fs.StringVar(&c.AutoUpgrade, "auto-upgrade-minor-version", "", "true (default) keeps the extension current within its train; false pins --version.")
	fs.StringVar(&c.AutoUpgrade, "auto-upgrade", "", "Alias of --auto-upgrade-minor-version.")
	fs.StringVar(&c.Version, "version", "", "Version to pin; requires --auto-upgrade-minor-version false.")
	fs.StringVar(&c.ReleaseTrain, "release-train", "", "Release train to take versions from (default Stable); only with auto-upgrade.")
	fs.StringVar(&c.DryRun, "dry-run", "none", `"none", "client" (local policy checks only) or "server" (the API server and webhook judge, nothing is kept).`)
	fs.Lookup("dry-run").NoOptDefVal = "client"
	c.Settings.AddFlags(fs)
	c.Wait.AddFlags(fs)
	c.Marketplace.AddFlags(fs)
}

// errTrainPinned is az's rule: a release train is where auto-upgrade takes versions
// from, so it is refused with a pinned version (the API server cannot tell: the CRD
// defaults the train).
var errTrainPinned = fmt.Errorf("--release-train can only be set if auto-upgrade is true: a pinned extension takes no versions from a train. Drop --release-train, or give --auto-upgrade-minor-version true without --version")

var dns1123Label = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// ValidateName checks an extension's NAME: it becomes the Helm release name, which is
// a DNS-1123 label of at most 53 characters (Helm keeps the rest for its Secrets).
func ValidateName(name string) error {
	if !dns1123Label.MatchString(name) || len(name) > 53 {
		return fmt.Errorf("NAME %q must be at most 53 lowercase letters, digits and '-', starting and ending with a letter or digit (it becomes the Helm release name)", name)
	}
	return nil
}

// Request checks the flags, before anything is read from or written to the cluster,
// and turns them into the request to create the extension name. changed tells which
// flags were given on the command line.
func (c *Create) Request(name string, changed func(string) bool) (lifecycle.CreateRequest, error) {
	var req lifecycle.CreateRequest
	if err := ValidateName(name); err != nil {
		return req, err
	}
	typ, err := c.ExtensionType.Value()
	if err != nil {
		return req, err
	}
	if typ == "" {
		return req, fmt.Errorf("--extension-type is required (see `kubectl ext type list`)")
	}
	if err := c.Marketplace.Validate(changed); err != nil {
		return req, err
	}
	scope, err := ParseScope(c.Scope)
	if err != nil {
		return req, err
	}
	switch {
	case scope == v1alpha1.ScopeCluster && c.TargetNS != "":
		return req, fmt.Errorf("--target-namespace goes with --scope namespace; with cluster scope use --release-namespace")
	case scope == v1alpha1.ScopeNamespace && c.ReleaseNamespace != "":
		return req, fmt.Errorf("--release-namespace goes with --scope cluster; with namespace scope the release lives in --target-namespace")
	case scope == v1alpha1.ScopeNamespace && c.TargetNS == "":
		return req, fmt.Errorf("--scope namespace needs --target-namespace")
	case scope == "" && c.ReleaseNamespace != "" && c.TargetNS != "":
		return req, fmt.Errorf("--release-namespace (cluster scope) and --target-namespace (namespace scope) cannot both be given")
	}
	auto := true
	if c.AutoUpgrade != "" {
		if auto, err = ParseBool("auto-upgrade-minor-version", c.AutoUpgrade); err != nil {
			return req, err
		}
	}
	switch {
	case auto && c.Version != "":
		return req, fmt.Errorf("--version pins the extension, so it needs --auto-upgrade-minor-version false")
	case !auto && c.Version == "":
		return req, fmt.Errorf("--auto-upgrade-minor-version false needs --version: name the version to pin")
	case !auto && changed("release-train"):
		return req, errTrainPinned
	}
	dry, err := ParseDryRun(c.DryRun)
	if err != nil {
		return req, err
	}
	if err := c.Wait.Validate(); err != nil {
		return req, err
	}
	s, err := c.Settings.Parse(true, ProtectedGiven(changed))
	if err != nil {
		return req, err
	}
	return lifecycle.CreateRequest{
		Name: name, ExtensionType: typ, Scope: scope,
		ReleaseNamespace: c.ReleaseNamespace, TargetNamespace: c.TargetNS,
		AutoUpgrade: ptr.To(auto), Version: c.Version, ReleaseTrain: c.ReleaseTrain,
		Settings: s.Settings, Protected: s.Protected,
		Wait: !c.Wait.NoWait, Timeout: c.Wait.Timeout, DryRun: dry,
	}, nil
}
