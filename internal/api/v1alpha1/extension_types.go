package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Annotations a user may set on an Extension; each takes a reason as its value and is
// echoed back as an admission warning.
const (
	// AnnotationUpgradeException allows a major or minor change within one Kubernetes
	// minor version (a CVE fix, a critical bug).
	AnnotationUpgradeException = "kubeext.dev/upgrade-exception"
	// AnnotationAllowDowngrade allows a version lower than status.currentVersion.
	AnnotationAllowDowngrade = "kubeext.dev/allow-downgrade"
	// AnnotationAllowInsecureRepository, on an ExtensionType, allows a plain http://
	// chart repository (EXT-TYPEDEF-001).
	AnnotationAllowInsecureRepository = "kubeext.dev/allow-insecure-repository"
	// AnnotationProtectedSettingsDigest, on an Extension, names the digest
	// (sha256:...) of protected settings its writer accepts: the extension manager feeds
	// a protected settings Secret changed outside kubectl ext into the release only when
	// its digest is the one named here.
	AnnotationProtectedSettingsDigest = "kubeext.dev/protected-settings-digest"
)

// FinalizerUninstall is the finalizer the extension manager puts on the Extensions it
// manages: deleting one uninstalls its release first. Without the manager no finalizer
// is added.
const FinalizerUninstall = "kubeext.dev/uninstall"

// The condition types of an Extension (kstatus-compatible: each carries the
// generation it was computed for).
const (
	// ConditionReady is True when the release of the current spec is deployed.
	ConditionReady = "Ready"
	// ConditionProgressing is True while an operation is under way.
	ConditionProgressing = "Progressing"
	// ConditionDrifted is True when the release or its objects differ from what was
	// applied; its message names what differs.
	ConditionDrifted = "Drifted"
	// ConditionUpgradeAvailable is True when a newer version is allowed and not yet
	// applied (waiting for a maintenance window, or a backoff after a failure).
	ConditionUpgradeAvailable = "UpgradeAvailable"
	// ConditionReconciling and ConditionStalled are kstatus's "abnormal-true"
	// conditions, which Flux's health checks and kstatus read (Ready they do not):
	// Reconciling is True while an operation is under way, Stalled while the last one
	// failed; each is absent otherwise.
	ConditionReconciling = "Reconciling"
	ConditionStalled     = "Stalled"
)

// DriftPolicy says what the extension manager does about drift.
// +kubebuilder:validation:Enum=Correct;Report
type DriftPolicy string

// The drift policies.
const (
	// DriftCorrect reports drift and restores the applied release.
	DriftCorrect DriftPolicy = "Correct"
	// DriftReport only reports it (condition Drifted and an Event).
	DriftReport DriftPolicy = "Report"
)

// ClusterScope installs the chart once for the cluster, into ReleaseNamespace.
type ClusterScope struct {
	// ReleaseNamespace is where the Helm release and the protected-settings Secret live.
	// +kubebuilder:validation:MaxLength=63
	ReleaseNamespace string `json:"releaseNamespace,omitempty"`

	// TargetNamespace is not allowed with cluster scope; it is kept in the schema so the
	// policies can name the mistake instead of the API server dropping the field.
	// +optional
	TargetNamespace string `json:"targetNamespace,omitempty"`
}

// NamespaceScope installs the chart into TargetNamespace, which is also the release namespace.
type NamespaceScope struct {
	// TargetNamespace is where the chart's resources, the Helm release and the
	// protected-settings Secret live.
	// +kubebuilder:validation:MaxLength=63
	TargetNamespace string `json:"targetNamespace,omitempty"`

	// ReleaseNamespace is not allowed with namespace scope; see ClusterScope.TargetNamespace.
	// +optional
	ReleaseNamespace string `json:"releaseNamespace,omitempty"`
}

// Scope holds exactly one of Cluster and Namespace (a policy enforces it).
type Scope struct {
	// +optional
	Cluster *ClusterScope `json:"cluster,omitempty"`
	// +optional
	Namespace *NamespaceScope `json:"namespace,omitempty"`
}

// ProtectedSettingsRef names the Secret that holds an extension's protected settings.
type ProtectedSettingsRef struct {
	// SecretName is a Secret in the release namespace; its values never appear in the Extension.
	// +kubebuilder:validation:MaxLength=253
	SecretName string `json:"secretName"`
}

// ExtensionSpec is what the user asked for.
type ExtensionSpec struct {
	// ExtensionType names the ExtensionType to install. Immutable.
	// +kubebuilder:validation:MaxLength=253
	ExtensionType string `json:"extensionType"`

	// Scope says where the chart is installed. Immutable.
	Scope Scope `json:"scope"`

	// AutoUpgradeMinorVersion keeps the extension on the newest version its release train,
	// the cluster and the policies allow. When false, Version is required.
	// +optional
	// +kubebuilder:default=true
	AutoUpgradeMinorVersion *bool `json:"autoUpgradeMinorVersion,omitempty"`

	// ReleaseTrain is the train versions are taken from.
	// +optional
	// +kubebuilder:default=Stable
	// +kubebuilder:validation:MaxLength=63
	ReleaseTrain string `json:"releaseTrain,omitempty"`

	// Version pins the chart version; required if and only if AutoUpgradeMinorVersion is false.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	Version string `json:"version,omitempty"`

	// ConfigurationSettings are Helm values; each key is a Helm --set path.
	// +optional
	ConfigurationSettings map[string]string `json:"configurationSettings,omitempty"`

	// ConfigurationProtectedSettings names the Secret that holds the protected settings.
	// +optional
	ConfigurationProtectedSettings *ProtectedSettingsRef `json:"configurationProtectedSettings,omitempty"`

	// ServiceAccountName is a ServiceAccount in the release namespace that Helm acts as
	// (by impersonation) for this extension, instead of the type's
	// spec.install.serviceAccount or, with namespace scope, the ServiceAccount the plugin
	// makes for the extension. Whoever runs an operation needs the `impersonate` verb on it.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	ServiceAccountName string `json:"serviceAccountName,omitempty"`

	// DriftPolicy is what the extension manager does when the release, or an object of
	// it, no longer matches what was applied (a `helm upgrade` or `helm rollback` by hand,
	// an edited or deleted object): Correct restores it, Report only sets the Drifted
	// condition and records an Event. Empty means Correct.
	// +optional
	DriftPolicy DriftPolicy `json:"driftPolicy,omitempty"`
}

// ProvisioningState is where an extension is in its lifecycle.
// +kubebuilder:validation:Enum=Creating;Updating;Succeeded;Failed;Deleting
type ProvisioningState string

// The provisioning states.
const (
	ProvisioningCreating  ProvisioningState = "Creating"
	ProvisioningUpdating  ProvisioningState = "Updating"
	ProvisioningSucceeded ProvisioningState = "Succeeded"
	ProvisioningFailed    ProvisioningState = "Failed"
	ProvisioningDeleting  ProvisioningState = "Deleting"
)

// StatusLevel is the severity of a status entry.
// +kubebuilder:validation:Enum=Information;Warning;Error
type StatusLevel string

// The status levels.
const (
	LevelInformation StatusLevel = "Information"
	LevelWarning     StatusLevel = "Warning"
	LevelError       StatusLevel = "Error"
)

// ReleaseRef names the Helm release of an extension.
type ReleaseRef struct {
	// +optional
	Name string `json:"name,omitempty"`
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// +optional
	Revision int `json:"revision,omitempty"`
	// ManifestDigest is the sha256 of the manifest and hooks of the revision kubectl ext
	// last applied; ValuesDigest the sha256 of its values. Helm's records live in the
	// release namespace, where its admins can write them; before an upgrade, recovery
	// or uninstall the stored revision is checked against these.
	// +optional
	// +kubebuilder:validation:MaxLength=71
	ManifestDigest string `json:"manifestDigest,omitempty"`
	// +optional
	// +kubebuilder:validation:MaxLength=71
	ValuesDigest string `json:"valuesDigest,omitempty"`
}

// StatusEntry is one line of an extension's status, as az k8s-extension shows them.
type StatusEntry struct {
	// +optional
	Code string `json:"code,omitempty"`
	// +optional
	DisplayStatus string `json:"displayStatus,omitempty"`
	// +optional
	Level StatusLevel `json:"level,omitempty"`
	// Message is redacted (no protected value) and truncated to this length.
	// +optional
	// +kubebuilder:validation:MaxLength=32768
	Message string `json:"message,omitempty"`
	// +optional
	Time *metav1.Time `json:"time,omitempty"`
}

// ErrorInfo describes the last failure.
type ErrorInfo struct {
	// +optional
	Code string `json:"code,omitempty"`
	// Message is redacted (no protected value) and truncated to this length.
	// +optional
	// +kubebuilder:validation:MaxLength=32768
	Message string `json:"message,omitempty"`
}

// ExtensionStatus is what the extension manager observed and did.
type ExtensionStatus struct {
	// +optional
	ProvisioningState ProvisioningState `json:"provisioningState,omitempty"`

	// Scope is the scope in force, for printer columns.
	// +optional
	Scope ScopeName `json:"scope,omitempty"`

	// CurrentVersion is the chart version of the installed release.
	// +optional
	CurrentVersion string `json:"currentVersion,omitempty"`

	// TargetVersion is written, and admission-reviewed, before any Helm change of version.
	// +optional
	TargetVersion string `json:"targetVersion,omitempty"`

	// KubernetesVersion is the cluster's minor version (e.g. "1.36") when CurrentVersion's
	// major.minor was adopted.
	// +optional
	// +kubebuilder:validation:Pattern=`^$|^[0-9]+\.[0-9]+$`
	KubernetesVersion string `json:"kubernetesVersion,omitempty"`

	// +optional
	Release ReleaseRef `json:"release,omitempty"`

	// +optional
	// +kubebuilder:validation:MaxItems=32
	Statuses []StatusEntry `json:"statuses,omitempty"`

	// +optional
	ErrorInfo *ErrorInfo `json:"errorInfo,omitempty"`

	// ProtectedSettingsDigest is the sha256 of the protected settings kubectl ext last
	// wrote to their Secret. The Secret lives in the release namespace, where its admins
	// can write it; kubectl ext refuses to feed a Secret that no longer matches into
	// Helm.
	// +optional
	// +kubebuilder:validation:MaxLength=71
	ProtectedSettingsDigest string `json:"protectedSettingsDigest,omitempty"`

	// Conditions: Ready, Progressing, Drifted and UpgradeAvailable.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
}

// Extension is one installed extension instance; its name is the Helm release name.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=ext,categories=kubeext
// +kubebuilder:printcolumn:name="Type",type=string,JSONPath=`.spec.extensionType`
// +kubebuilder:printcolumn:name="Scope",type=string,JSONPath=`.status.scope`
// +kubebuilder:printcolumn:name="Namespace",type=string,JSONPath=`.status.release.namespace`
// +kubebuilder:printcolumn:name="Version",type=string,JSONPath=`.status.currentVersion`
// +kubebuilder:printcolumn:name="State",type=string,JSONPath=`.status.provisioningState`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`,priority=1
// +kubebuilder:printcolumn:name="Drifted",type=string,JSONPath=`.status.conditions[?(@.type=="Drifted")].status`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Extension struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ExtensionSpec   `json:"spec"`
	Status ExtensionStatus `json:"status,omitempty"`
}

// ExtensionList is a list of Extensions.
//
// +kubebuilder:object:root=true
type ExtensionList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Extension `json:"items"`
}
