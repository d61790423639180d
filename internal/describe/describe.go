// Package describe renders Extensions, ExtensionTypes, catalog versions and upgrade
// plans for people: the default tables of list commands and the descriptions of show
// commands. It has no cobra and no client in it, so every command, and later the
// extension manager and troubleshooting, print one object the same way; the machine
// formats (-o json|yaml|name|jsonpath) stay cli-runtime's printers.
package describe

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/utils/ptr"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/catalog"
	"github.com/kubeext/kubectl-ext/internal/lifecycle"
)

// ExtensionTable writes the list table: NAME TYPE SCOPE NAMESPACE VERSION AUTO-UPGRADE
// TRAIN STATE AGE, with wide TARGET, REVISION and ERROR too, and a CONTEXT column first
// when contexts is set (one per item, for fleet listings).
func ExtensionTable(out io.Writer, items []v1alpha1.Extension, contexts []string, wide bool, now time.Time) error {
	w := printers.GetNewTabWriter(out)
	header := "NAME\tTYPE\tSCOPE\tNAMESPACE\tVERSION\tAUTO-UPGRADE\tTRAIN\tSTATE\tAGE"
	if contexts != nil {
		header = "CONTEXT\t" + header
	}
	if wide {
		header += "\tTARGET\tREVISION\tERROR"
	}
	fmt.Fprintln(w, header)
	for i := range items {
		e := &items[i]
		if contexts != nil {
			fmt.Fprintf(w, "%s\t", contexts[i])
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%t\t%s\t%s\t%s",
			e.Name, e.Spec.ExtensionType, lifecycle.ScopeOf(e), lifecycle.ReleaseNamespace(e),
			dash(e.Status.CurrentVersion), ptr.Deref(e.Spec.AutoUpgradeMinorVersion, true), dash(e.Spec.ReleaseTrain),
			dash(string(e.Status.ProvisioningState)), age(e.CreationTimestamp.Time, now))
		if wide {
			errMsg := "-"
			if e.Status.ErrorInfo != nil && e.Status.ErrorInfo.Code != "" {
				errMsg = e.Status.ErrorInfo.Code
			}
			rev := "-"
			if e.Status.Release.Revision > 0 {
				rev = fmt.Sprint(e.Status.Release.Revision)
			}
			fmt.Fprintf(w, "\t%s\t%s\t%s", dash(e.Status.TargetVersion), rev, errMsg)
		}
		fmt.Fprintln(w)
	}
	return w.Flush()
}

// Extension writes the human view of an extension: everything but protected values.
func Extension(out io.Writer, e *v1alpha1.Extension, protectedKeys []string, now time.Time) error {
	w := printers.GetNewTabWriter(out)
	row := func(k, v string) { fmt.Fprintf(w, "%s:\t%s\n", k, v) }
	row("Name", e.Name)
	row("Extension type", e.Spec.ExtensionType)
	row("Scope", string(lifecycle.ScopeOf(e)))
	if lifecycle.ScopeOf(e) == v1alpha1.ScopeCluster {
		row("Release namespace", lifecycle.ReleaseNamespace(e))
	} else {
		row("Target namespace", lifecycle.ReleaseNamespace(e))
	}
	row("Auto-upgrade minor version", fmt.Sprint(ptr.Deref(e.Spec.AutoUpgradeMinorVersion, true)))
	row("Release train", dash(e.Spec.ReleaseTrain))
	row("Pinned version", dash(e.Spec.Version))
	row("Provisioning state", dash(string(e.Status.ProvisioningState)))
	row("Current version", dash(e.Status.CurrentVersion))
	if e.Status.TargetVersion != "" {
		row("Target version", e.Status.TargetVersion)
	}
	row("Kubernetes version", dash(e.Status.KubernetesVersion))
	if e.Status.Release.Name != "" {
		row("Release", fmt.Sprintf("%s/%s revision %d", e.Status.Release.Namespace, e.Status.Release.Name, e.Status.Release.Revision))
	}
	row("Age", age(e.CreationTimestamp.Time, now))
	if len(e.Spec.ConfigurationSettings) == 0 {
		row("Configuration settings", "<none>")
	} else {
		fmt.Fprintln(w, "Configuration settings:")
		keys := make([]string, 0, len(e.Spec.ConfigurationSettings))
		for k := range e.Spec.ConfigurationSettings {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "  %s:\t%s\n", k, e.Spec.ConfigurationSettings[k])
		}
	}
	if len(protectedKeys) == 0 {
		row("Protected settings", "<none>")
	} else {
		row("Protected settings", strings.Join(protectedKeys, ", ")+" (values are never shown)")
	}
	if e.Status.ErrorInfo != nil && e.Status.ErrorInfo.Message != "" {
		row("Error", fmt.Sprintf("%s: %s", e.Status.ErrorInfo.Code, e.Status.ErrorInfo.Message))
	}
	if len(e.Status.Statuses) > 0 {
		fmt.Fprintln(w, "Statuses:")
		for _, s := range e.Status.Statuses {
			when := ""
			if s.Time != nil {
				when = age(s.Time.Time, now) + " ago"
			}
			fmt.Fprintf(w, "  %s\t%s\t%s\t%s\n", s.Level, s.DisplayStatus, when, s.Message)
		}
	}
	return w.Flush()
}

// TypeTable writes the type list: NAME CHART REPOSITORY SCOPE POLICY VERSIONS
// LATEST SYNCED, and with wide TRAINS and DESCRIPTION too. SCOPE lists the supported
// scopes, the default first; LATEST is the newest version on the type's first train.
func TypeTable(out io.Writer, items []v1alpha1.ExtensionType, wide bool, now time.Time) error {
	w := printers.GetNewTabWriter(out)
	header := "NAME\tCHART\tREPOSITORY\tSCOPE\tPOLICY\tVERSIONS\tLATEST\tSYNCED"
	if wide {
		header += "\tTRAINS\tDESCRIPTION"
	}
	fmt.Fprintln(w, header)
	for i := range items {
		t := &items[i]
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s",
			t.Name, t.Spec.Chart.Name, t.Spec.Chart.Repository, typeScopes(t),
			catalog.UpgradePolicy(t), len(t.Status.Versions), dash(catalog.Latest(t)), typeSynced(t, now))
		if wide {
			fmt.Fprintf(w, "\t%s\t%s", strings.Join(catalog.TrainNames(t), ","), dash(t.Spec.Description))
		}
		fmt.Fprintln(w)
	}
	return w.Flush()
}

// typeScopes lists the supported scopes, the default first, or "-".
func typeScopes(t *v1alpha1.ExtensionType) string {
	names := catalog.ScopeNames(t)
	if len(names) == 0 {
		return "-"
	}
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = string(n)
	}
	return strings.Join(out, ",")
}

// typeSynced says when the versions were last read, or that the last read failed.
func typeSynced(t *v1alpha1.ExtensionType, now time.Time) string {
	if c := meta.FindStatusCondition(t.Status.Conditions, "Synced"); c != nil && c.Status != "True" {
		return "failed"
	}
	if t.Status.SyncedAt == nil {
		return "never"
	}
	return age(t.Status.SyncedAt.Time, now) + " ago"
}

// Type writes the human view of an extension type.
func Type(out io.Writer, t *v1alpha1.ExtensionType, now time.Time) error {
	w := printers.GetNewTabWriter(out)
	row := func(k, v string) { fmt.Fprintf(w, "%s:\t%s\n", k, v) }
	row("Name", t.Name)
	row("Description", dash(t.Spec.Description))
	row("Chart", t.Spec.Chart.Name)
	row("Repository", t.Spec.Chart.Repository)
	def := t.Spec.Scopes.Default
	if def == "" {
		def = v1alpha1.ScopeCluster
	}
	row("Default scope", string(def))
	if cs := t.Spec.Scopes.Cluster; cs != nil {
		v := "supported"
		if cs.DefaultReleaseNamespace != "" {
			v += ", default release namespace " + cs.DefaultReleaseNamespace
		}
		if cs.AllowMultipleInstances {
			v += ", multiple instances allowed"
		} else {
			v += ", one instance per cluster"
		}
		row("Cluster scope", v)
	} else {
		row("Cluster scope", "not supported")
	}
	if t.Spec.Scopes.Namespace != nil {
		row("Namespace scope", "supported")
	} else {
		row("Namespace scope", "not supported")
	}
	trains := make([]string, 0, len(catalog.Trains(t)))
	for _, tr := range catalog.Trains(t) {
		if tr.IncludePrerelease {
			trains = append(trains, tr.Name+" (with prereleases)")
		} else {
			trains = append(trains, tr.Name)
		}
	}
	row("Release trains", strings.Join(trains, ", "))
	row("Upgrade policy", string(catalog.UpgradePolicy(t)))
	if t.Status.SyncedAt == nil {
		row("Synced", "never (read the versions with: kubectl ext type sync "+t.Name+")")
	} else {
		row("Synced", fmt.Sprintf("%s ago, %d versions", age(t.Status.SyncedAt.Time, now), len(t.Status.Versions)))
	}
	if c := meta.FindStatusCondition(t.Status.Conditions, "Synced"); c != nil && c.Status != "True" {
		row("Sync error", c.Message)
	}
	if !t.CreationTimestamp.IsZero() {
		row("Age", age(t.CreationTimestamp.Time, now))
	}
	if len(t.Status.Versions) == 0 {
		row("Versions", "<none>")
		return w.Flush()
	}
	fmt.Fprintln(w, "Versions:")
	if err := w.Flush(); err != nil {
		return err
	}
	vs := append([]v1alpha1.TypeVersion(nil), t.Status.Versions...)
	catalog.SortNewestFirst(vs)
	w = printers.GetNewTabWriter(out)
	fmt.Fprintln(w, "  VERSION\tKUBE-VERSION\tAPP-VERSION\tTRAINS")
	for _, v := range vs {
		fmt.Fprintf(w, "  %s\t%s\t%s\t%s\n", v.Version, dash(v.KubeVersion), dash(v.AppVersion), dash(strings.Join(v.ReleaseTrains, ",")))
	}
	return w.Flush()
}

// TypeVersions writes the table VERSION KUBE-VERSION TRAINS, and REASON with
// withReason.
func TypeVersions(out io.Writer, rows []catalog.VersionRow, withReason bool) error {
	w := printers.GetNewTabWriter(out)
	header := "VERSION\tKUBE-VERSION\tTRAINS"
	if withReason {
		header += "\tREASON"
	}
	fmt.Fprintln(w, header)
	for _, r := range rows {
		fmt.Fprintf(w, "%s\t%s\t%s", r.Version, dash(r.KubeVersion), dash(strings.Join(r.ReleaseTrains, ",")))
		if withReason {
			fmt.Fprintf(w, "\t%s", dash(r.Reason))
		}
		fmt.Fprintln(w)
	}
	return w.Flush()
}

// Plans writes upgrade plans as json, yaml, or the table NAME CURRENT TARGET ACTION REASON.
func Plans(out io.Writer, plans []lifecycle.Plan, format string) error {
	if plans == nil {
		plans = []lifecycle.Plan{}
	}
	if format == "json" || format == "yaml" {
		return Data(out, plans, format)
	}
	w := printers.GetNewTabWriter(out)
	fmt.Fprintln(w, "NAME\tCURRENT\tTARGET\tACTION\tREASON")
	for _, p := range plans {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", p.Name, dash(p.Current), dash(p.Target), p.Action, p.Reason)
	}
	return w.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func age(t, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t))
}
