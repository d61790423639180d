package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Scope names where an extension's chart is installed from.
// +kubebuilder:validation:Enum=cluster;namespace
type ScopeName string

// The two scopes.
const (
	ScopeCluster   ScopeName = "cluster"
	ScopeNamespace ScopeName = "namespace"
)

// UpgradePolicy says when an auto-upgrading extension may move to a new minor version.
// +kubebuilder:validation:Enum=KubernetesMinor;Minor
type UpgradePolicy string

const (
	// UpgradePolicyKubernetesMinor allows only patch upgrades while the cluster stays on one
	// Kubernetes minor version; a new major or minor version waits for the cluster's next minor.
	UpgradePolicyKubernetesMinor UpgradePolicy = "KubernetesMinor"
	// UpgradePolicyMinor allows minor upgrades at any time (never a major one automatically).
	UpgradePolicyMinor UpgradePolicy = "Minor"
)

// The release trains every type has unless it names its own.
const (
	ReleaseTrainStable  = "Stable"
	ReleaseTrainPreview = "Preview"
)

// ChartSource says where a type's Helm chart comes from.
type ChartSource struct {
	// Repository is an https:// (or http://) chart repository, an oci:// registry
	// reference, or a file:// chart directory, archive or directory of archives.
	// +kubebuilder:validation:Pattern=`^(https?|oci|file)://.+`
	// +kubebuilder:validation:MaxLength=2048
	Repository string `json:"repository"`

	// Name is the chart's name in the repository (for oci:// and file://, the last path
	// element when the repository does not already name it).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// ClusterScopeOptions describes how a type installs with cluster scope.
type ClusterScopeOptions struct {
	// DefaultReleaseNamespace is the release namespace when the user names none.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	DefaultReleaseNamespace string `json:"defaultReleaseNamespace,omitempty"`

	// AllowMultipleInstances lets several cluster-scoped extensions of this type exist.
	// +optional
	AllowMultipleInstances bool `json:"allowMultipleInstances,omitempty"`
}

// NamespaceScopeOptions describes how a type installs with namespace scope. Its presence
// says the type supports namespace scope.
type NamespaceScopeOptions struct{}

// Scopes lists the scopes a type supports and which one is the default.
type Scopes struct {
	// Default is the scope used when the user names none.
	// +kubebuilder:default=cluster
	// +optional
	Default ScopeName `json:"default,omitempty"`

	// Cluster, when present, says the type supports cluster scope.
	// +optional
	Cluster *ClusterScopeOptions `json:"cluster,omitempty"`

	// Namespace, when present, says the type supports namespace scope.
	// +optional
	Namespace *NamespaceScopeOptions `json:"namespace,omitempty"`
}

// ReleaseTrain is a named channel of versions.
type ReleaseTrain struct {
	// Name of the train, e.g. Stable or Preview.
	// +kubebuilder:validation:Pattern=`^[A-Za-z][A-Za-z0-9-]{0,62}$`
	Name string `json:"name"`

	// IncludePrerelease lets the train offer semver prerelease versions.
	// +optional
	IncludePrerelease bool `json:"includePrerelease,omitempty"`
}

// ServiceAccountReference names a ServiceAccount.
type ServiceAccountReference struct {
	// Name of the ServiceAccount.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// Namespace of the ServiceAccount.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Namespace string `json:"namespace"`
}

// InstallOptions says who installs a type's chart.
type InstallOptions struct {
	// ServiceAccount is who Helm acts as (by impersonation) when it installs, upgrades
	// or uninstalls a cluster-scoped extension of this type, unless the Extension names
	// its own in spec.serviceAccountName. Whoever runs the operation (a user of the
	// plugin, the extension manager) needs the `impersonate` verb on it. Without one,
	// Helm acts as whoever runs the operation. Namespace-scoped extensions do not use
	// it: each gets a ServiceAccount of its own, bound only in its target namespace.
	// +optional
	ServiceAccount *ServiceAccountReference `json:"serviceAccount,omitempty"`
}

// ExtensionTypeSpec describes an installable extension type.
type ExtensionTypeSpec struct {
	// Description is a one-line summary shown by `kubectl ext type list`.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Description string `json:"description,omitempty"`

	// Chart is where the type's Helm chart comes from.
	Chart ChartSource `json:"chart"`

	// Scopes lists the supported scopes.
	// +optional
	// +kubebuilder:default={default: cluster, cluster: {}}
	Scopes Scopes `json:"scopes,omitempty"`

	// ReleaseTrains lists the type's trains. Defaults to Stable (no prereleases) and
	// Preview (prereleases too).
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:default={{name: Stable, includePrerelease: false}, {name: Preview, includePrerelease: true}}
	ReleaseTrains []ReleaseTrain `json:"releaseTrains,omitempty"`

	// UpgradePolicy says when automatic minor upgrades may happen.
	// +optional
	// +kubebuilder:default=KubernetesMinor
	UpgradePolicy UpgradePolicy `json:"upgradePolicy,omitempty"`

	// Install says who installs the chart.
	// +optional
	Install InstallOptions `json:"install,omitempty"`
}

// TypeVersion is one version of a type's chart, as read from its source.
type TypeVersion struct {
	// Version is the chart version (semver).
	Version string `json:"version"`

	// KubeVersion is the chart's kubeVersion constraint, if any.
	// +optional
	KubeVersion string `json:"kubeVersion,omitempty"`

	// AppVersion is the chart's appVersion, if any.
	// +optional
	AppVersion string `json:"appVersion,omitempty"`

	// ReleaseTrains lists the trains that offer this version.
	// +optional
	ReleaseTrains []string `json:"releaseTrains,omitempty"`
}

// ExtensionTypeStatus is what `kubectl ext type sync` last read from the chart source.
type ExtensionTypeStatus struct {
	// Versions lists the chart's versions, newest first.
	// +optional
	Versions []TypeVersion `json:"versions,omitempty"`

	// SyncedAt is when the versions were last read.
	// +optional
	SyncedAt *metav1.Time `json:"syncedAt,omitempty"`

	// Conditions: Synced.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// ExtensionType is an entry of the extension catalog: one installable extension type.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=exttype,categories=kubeext
// +kubebuilder:printcolumn:name="Chart",type=string,JSONPath=`.spec.chart.name`
// +kubebuilder:printcolumn:name="Repository",type=string,JSONPath=`.spec.chart.repository`,priority=1
// +kubebuilder:printcolumn:name="Scope",type=string,JSONPath=`.spec.scopes.default`
// +kubebuilder:printcolumn:name="Policy",type=string,JSONPath=`.spec.upgradePolicy`
// +kubebuilder:printcolumn:name="Synced",type=date,JSONPath=`.status.syncedAt`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ExtensionType struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ExtensionTypeSpec   `json:"spec"`
	Status ExtensionTypeStatus `json:"status,omitempty"`
}

// ExtensionTypeList is a list of ExtensionTypes.
//
// +kubebuilder:object:root=true
type ExtensionTypeList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ExtensionType `json:"items"`
}
