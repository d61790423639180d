package azflags

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/pflag"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
)

// clusterTypes are the values of az's --cluster-type, whose short form in az is -t.
var clusterTypes = []string{"managedClusters", "connectedClusters", "appliances", "provisionedClusters"}

// IsClusterType tells whether v is a value of az's --cluster-type, in any case.
func IsClusterType(v string) bool {
	return slices.ContainsFunc(clusterTypes, func(t string) bool { return strings.EqualFold(t, v) })
}

// ParseScope reads --scope: cluster or namespace, in any case, as az's enum values
// are (az takes --scope Cluster); "" when not given.
func ParseScope(v string) (v1alpha1.ScopeName, error) {
	switch s := v1alpha1.ScopeName(strings.ToLower(v)); s {
	case "", v1alpha1.ScopeCluster, v1alpha1.ScopeNamespace:
		return s, nil
	}
	return "", fmt.Errorf("--scope must be cluster or namespace, not %q", v)
}

// ExtensionType is --extension-type (-t). Every value given is kept: az's -t is its
// --cluster-type, and a pasted az line often has both -t managedClusters and
// --extension-type T, in either order; keeping only the last would silently take or
// silently drop the cluster type.
type ExtensionType struct {
	values []string
}

// String returns the last value given, as pflag shows a default.
func (t *ExtensionType) String() string {
	if len(t.values) == 0 {
		return ""
	}
	return t.values[len(t.values)-1]
}

// Set records one value given on the command line.
func (t *ExtensionType) Set(v string) error {
	t.values = append(t.values, v)
	return nil
}

// Type is the value's type in the help.
func (t *ExtensionType) Type() string { return "string" }

// Value returns the extension type given, "" when none was. An az cluster type, or
// two different types, is refused with what to give instead.
func (t *ExtensionType) Value() (string, error) {
	for _, v := range t.values {
		if IsClusterType(v) {
			return "", clusterTypeError(v, true)
		}
	}
	if len(t.values) > 1 && slices.ContainsFunc(t.values, func(v string) bool { return v != t.values[0] }) {
		return "", fmt.Errorf("--extension-type (-t) is given more than once, as %s: give it once", strings.Join(t.values, " and "))
	}
	return t.String(), nil
}

// clusterTypeError explains -t v, v an az cluster type. takesType tells whether the
// command takes an extension type, which the az user may still have to give.
func clusterTypeError(v string, takesType bool) error {
	msg := fmt.Sprintf("-t %s: in kubectl ext, -t is --extension-type, not az's --cluster-type; "+
		"the cluster is your kubeconfig's context (--context, or --cluster-name with a context's name): drop -t %s", v, v)
	if takesType {
		msg += " and give the extension type with --extension-type (see `kubectl ext type list`)"
	}
	return fmt.Errorf("%s", msg)
}

// shortTFlag is the hidden flag that holds -t on a command without --extension-type.
const shortTFlag = "az-short-t"

// AddShortT registers a hidden -t on fs, the flags of a command that has no -t of its
// own: az's -t is --cluster-type on every k8s-extension command, so a pasted az line
// has it everywhere, and it deserves CheckShortT's explanation rather than pflag's
// "unknown shorthand flag". A command with its own -t keeps it.
func AddShortT(fs *pflag.FlagSet) {
	if fs.ShorthandLookup("t") != nil {
		return
	}
	fs.VarP(&ExtensionType{}, shortTFlag, "t", "az's -t (--cluster-type): refused with what to give instead.")
	_ = fs.MarkHidden(shortTFlag)
}

// CheckShortT refuses the hidden -t of AddShortT when it was given on cmd (the
// command's path, for the message), with fs its flags: an az cluster type gets the
// hint create and update give; anything else is said to be no flag of cmd.
func CheckShortT(cmd string, fs *pflag.FlagSet) error {
	f := fs.Lookup(shortTFlag)
	if f == nil || !f.Changed {
		return nil
	}
	values := f.Value.(*ExtensionType).values
	for _, v := range values {
		if IsClusterType(v) {
			return clusterTypeError(v, false)
		}
	}
	return fmt.Errorf("-t %s: %s takes no -t; in kubectl ext, -t is --extension-type, of create and update only", values[0], cmd)
}

// AddExtensionTypeFlag registers --extension-type (-t) on fs with usage.
func AddExtensionTypeFlag(fs *pflag.FlagSet, t *ExtensionType, usage string) {
	fs.VarP(t, "extension-type", "t", usage)
}

// AddNameFlag registers az's --name, the extension's name, which kubectl ext also
// takes as its NAME argument. It has no -n: that is kubectl's --namespace.
func AddNameFlag(fs *pflag.FlagSet, name *string) {
	fs.StringVar(name, "name", "", "The extension's name, as az's --name; the same as the NAME argument.")
}

// Name returns the extension's name from the NAME arguments and az's --name
// (flag, given when set on the command line). cmd names the command in errors.
func Name(cmd string, args []string, flag string, given bool) (string, error) {
	switch {
	case len(args) > 1:
		return "", fmt.Errorf("%s takes exactly one NAME, got %d arguments (%s); see '%s --help'", cmd, len(args), strings.Join(args, " "), cmd)
	case given && flag == "":
		return "", fmt.Errorf("--name needs a value: the extension's name")
	case given && len(args) == 1 && args[0] != flag:
		return "", fmt.Errorf("NAME %q and --name %q differ: give the extension's name once, as NAME or as --name", args[0], flag)
	case given:
		return flag, nil
	case len(args) == 1:
		return args[0], nil
	}
	return "", fmt.Errorf("%s takes exactly one NAME (or --name NAME), got none; see '%s --help'", cmd, cmd)
}

// NamespaceError explains -n/--namespace to a command where it has no meaning:
// extensions are cluster-scoped, and in az -n is --name. takesName tells whether cmd
// takes an extension's name, which an az user meant.
func NamespaceError(cmd, namespace string, takesName bool) error {
	msg := fmt.Sprintf("-n/--namespace %q has no meaning for %s: extensions and extension types are cluster-scoped. "+
		"In kubectl, -n is --namespace; in az k8s-extension, -n is --name. ", namespace, cmd)
	if takesName {
		msg += fmt.Sprintf("For the extension's name give NAME or --name %s; for where its release goes, --release-namespace (cluster scope) or --target-namespace (namespace scope). ", namespace)
	}
	return fmt.Errorf("%sOnly `kubectl ext list` takes -n: it lists the extensions whose release is in that namespace", msg)
}

// Cluster is az's flags that name the cluster. The cluster of kubectl ext is a
// kubeconfig context: --cluster-name selects the context of that name; the others have
// no meaning here and are accepted so that a pasted az command line runs.
type Cluster struct {
	Name             string
	ResourceGroup    string
	Type             string
	ResourceProvider string
}

// ignoredFlags are the Cluster flags that have no meaning here, in the note's order.
var ignoredFlags = []string{"resource-group", "cluster-type", "cluster-resource-provider"}

// AddFlags registers the flags on fs (the root command's persistent flags: every az
// command takes them).
func (c *Cluster) AddFlags(fs *pflag.FlagSet) {
	fs.StringVarP(&c.Name, "cluster-name", "c", "", "az's cluster name: the kubeconfig context of that name (as --context).")
	fs.StringVarP(&c.ResourceGroup, "resource-group", "g", "", "az's resource group: accepted so that az command lines run; it has no meaning here.")
	fs.StringVar(&c.Type, "cluster-type", "", "az's cluster type (managedClusters, connectedClusters, ...): accepted so that az command lines run; it has no meaning here.")
	fs.StringVar(&c.ResourceProvider, "cluster-resource-provider", "", "az's cluster resource provider: accepted so that az command lines run; it has no meaning here.")
	fs.StringVar(&c.ResourceProvider, "cluster-rp", "", "Alias of --cluster-resource-provider.")
}

// Note returns the line to print on stderr when flags without meaning were given,
// or "". changed tells which flags were given.
func (c *Cluster) Note(changed func(string) bool) string {
	var given []string
	for _, n := range ignoredFlags {
		if changed(n) || (n == "cluster-resource-provider" && changed("cluster-rp")) {
			given = append(given, "--"+n)
		}
	}
	if len(given) == 0 {
		return ""
	}
	verbs := "has no meaning for kubectl ext and is ignored"
	if len(given) > 1 {
		verbs = "have no meaning for kubectl ext and are ignored"
	}
	return fmt.Sprintf("Note: %s %s: the cluster is your kubeconfig's context (--context, or --cluster-name with a context's name).", joinAnd(given), verbs)
}

// ResolveContext returns the kubeconfig context --cluster-name selects. clusterName
// is --cluster-name, context is --context ("" when not given), and contexts maps each
// context of the kubeconfig to the name of its cluster.
func ResolveContext(clusterName, context string, contexts map[string]string) (string, error) {
	if clusterName == "" {
		return context, nil
	}
	if context != "" && context != clusterName {
		return "", fmt.Errorf("--cluster-name %s and --context %s name different contexts: give one of them", clusterName, context)
	}
	if _, ok := contexts[clusterName]; ok {
		return clusterName, nil
	}
	names := make([]string, 0, len(contexts))
	var byCluster []string
	for n, cluster := range contexts {
		names = append(names, n)
		if cluster == clusterName {
			byCluster = append(byCluster, n)
		}
	}
	sort.Strings(names)
	sort.Strings(byCluster)
	msg := fmt.Sprintf("--cluster-name %s: the kubeconfig has no context of that name; kubectl ext reaches a cluster through a kubeconfig context", clusterName)
	if len(byCluster) > 0 {
		msg += fmt.Sprintf(". The cluster %s is used by the context %s: give --cluster-name or --context with it", clusterName, joinAnd(byCluster))
	} else {
		msg += " (for AKS, `az aks get-credentials --resource-group RG --name " + clusterName + "` adds one)"
	}
	if len(names) > 0 {
		msg += ". Contexts: " + strings.Join(names, ", ")
	}
	return "", fmt.Errorf("%s", msg)
}

// Marketplace is az's --plan-name, --plan-product and --plan-publisher, which buy an
// Azure Marketplace offer. They are registered, hidden, to be refused with what to do
// rather than as unknown flags.
type Marketplace struct {
	Name, Product, Publisher string
}

// AddFlags registers the hidden flags on fs.
func (m *Marketplace) AddFlags(fs *pflag.FlagSet) {
	for _, f := range []struct {
		name string
		v    *string
	}{{"plan-name", &m.Name}, {"plan-product", &m.Product}, {"plan-publisher", &m.Publisher}} {
		fs.StringVar(f.v, f.name, "", "az's Azure Marketplace plan: refused, kubectl ext buys nothing.")
		_ = fs.MarkHidden(f.name)
	}
}

// Validate refuses the flags when any was given.
func (m *Marketplace) Validate(changed func(string) bool) error {
	var given []string
	for _, n := range []string{"plan-name", "plan-product", "plan-publisher"} {
		if changed(n) {
			given = append(given, "--"+n)
		}
	}
	if len(given) == 0 {
		return nil
	}
	return fmt.Errorf("%s (az's Azure Marketplace plan): kubectl ext buys no offer, it installs the extension type's chart from the cluster's catalog. Drop %s (see `kubectl ext type list` for the types you can install)",
		joinAnd(given), joinAnd(given))
}

// joinAnd joins words as "a", "a and b", "a, b and c".
func joinAnd(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
}
