package policy

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
)

// Input is what the plugin and the webhook both hand the engine for one write of an
// Extension. Its JSON form is the policies' `input`; the engine adds `config`. The
// cluster's types and other extensions are not in it: they are the engine's inventory
// (data.inventory), kept current apart from the reviews.
type Input struct {
	Request Request     `json:"request"`
	Cluster ClusterInfo `json:"cluster"`
	// Writer is what the API server said the writer may do (the webhook asks it); nil
	// when nobody asked (the plugin's own check before it writes), and the rules that
	// read it are not judged then.
	Writer *Writer `json:"writer,omitempty"`
}

// Writer is what the writer of an Extension may do, as the webhook asked the API
// server with a SubjectAccessReview.
type Writer struct {
	// InstallIdentity is who Helm will act as for the written Extension:
	// "ServiceAccount NAMESPACE/NAME", or "the caller".
	InstallIdentity string `json:"installIdentity"`
	// MayActAsInstallIdentity: the writer may impersonate that ServiceAccount or, when
	// Helm acts as the caller, may do everything (verb * on every resource).
	MayActAsInstallIdentity bool `json:"mayActAsInstallIdentity"`
}

// Operation is the kind of write under review.
type Operation string

// The operations the policies judge; any other operation is allowed untouched.
const (
	OperationCreate Operation = "CREATE"
	OperationUpdate Operation = "UPDATE"
)

// SubResourceStatus is Request.SubResource for a write through the status subresource.
const SubResourceStatus = "status"

// Request is the part of the admission request the policies read.
type Request struct {
	Operation Operation `json:"operation"`
	// SubResource is "" for the Extension itself and "status" for its status.
	SubResource string   `json:"subResource"`
	UserInfo    UserInfo `json:"userInfo"`
	// Object is the Extension as it would be stored.
	Object *v1alpha1.Extension `json:"object"`
	// OldObject is the stored Extension an UPDATE replaces; nil on CREATE.
	OldObject *v1alpha1.Extension `json:"oldObject"`
}

// TypeInput is what the webhook hands the engine for one write of an ExtensionType.
// Its JSON form is the type rules' `input`; the engine adds `config`.
type TypeInput struct {
	Request TypeRequest `json:"request"`
}

// TypeRequest is the part of an admission request of an ExtensionType the rules read.
type TypeRequest struct {
	Operation Operation `json:"operation"`
	// SubResource is "" for the ExtensionType itself and "status" for its catalog.
	SubResource string   `json:"subResource"`
	UserInfo    UserInfo `json:"userInfo"`
	// Object is the ExtensionType as it would be stored.
	Object *v1alpha1.ExtensionType `json:"object"`
	// OldObject is the stored ExtensionType an UPDATE replaces; nil on CREATE.
	OldObject *v1alpha1.ExtensionType `json:"oldObject"`
}

// UserInfo names who makes the write.
type UserInfo struct {
	Username string   `json:"username"`
	Groups   []string `json:"groups"`
}

// ClusterInfo is the cluster's effective Kubernetes version.
type ClusterInfo struct {
	// KubernetesVersion is the effective semver, without a leading "v": "1.36.0".
	KubernetesVersion string `json:"kubernetesVersion"`
	// Minor is MAJOR.MINOR of KubernetesVersion: "1.36".
	Minor string `json:"minor"`
	// Prerelease is true when the cluster runs an alpha, beta or rc of Kubernetes.
	Prerelease bool `json:"prerelease"`
}

// ClusterFromVersion derives the cluster's effective version from the API server's
// /version: gitVersion ("v1.37.1", "v1.37.0-alpha.1+abc"), and emulationMajor and
// emulationMinor when the server emulates an older version (empty otherwise).
//
// An emulated major.minor different from the binary's replaces it, as "M.m.0" and not
// a prerelease. Kubernetes prereleases are alpha, beta and rc; other suffixes that
// vendors add ("v1.30.2-eks-1552ad0", "v1.30.3-gke.1639000") and build metadata are
// dropped, so "1.30.2" satisfies ">=1.30.0" as it should.
func ClusterFromVersion(gitVersion, emulationMajor, emulationMinor string) (ClusterInfo, error) {
	raw := strings.TrimSpace(gitVersion)
	if raw == "" {
		return ClusterInfo{}, fmt.Errorf("cluster version is empty")
	}
	v, err := semver.NewVersion(strings.TrimPrefix(raw, "v"))
	if err != nil {
		return ClusterInfo{}, fmt.Errorf("cluster version %q is not a Kubernetes version: %w", gitVersion, err)
	}
	major, minor := v.Major(), v.Minor()
	pre := kubernetesPrerelease(v.Prerelease())

	if emulationMajor != "" || emulationMinor != "" {
		em, err := versionNumber("emulationMajor", emulationMajor)
		if err != nil {
			return ClusterInfo{}, err
		}
		en, err := versionNumber("emulationMinor", emulationMinor)
		if err != nil {
			return ClusterInfo{}, err
		}
		if em != major || en != minor {
			return ClusterInfo{
				KubernetesVersion: fmt.Sprintf("%d.%d.0", em, en),
				Minor:             fmt.Sprintf("%d.%d", em, en),
			}, nil
		}
	}

	info := ClusterInfo{
		KubernetesVersion: fmt.Sprintf("%d.%d.%d", major, minor, v.Patch()),
		Minor:             fmt.Sprintf("%d.%d", major, minor),
	}
	if pre != "" {
		info.KubernetesVersion += "-" + pre
		info.Prerelease = true
	}
	return info, nil
}

// kubernetesPrerelease keeps a prerelease only when it is one of Kubernetes' own
// (alpha, beta, rc); vendor suffixes are not prereleases.
func kubernetesPrerelease(pre string) string {
	first, _, _ := strings.Cut(pre, ".")
	switch {
	case strings.HasPrefix(first, "alpha"), strings.HasPrefix(first, "beta"), strings.HasPrefix(first, "rc"):
		return pre
	default:
		return ""
	}
}

// versionNumber reads a /version major or minor field; some providers append "+" ("37+").
func versionNumber(field, s string) (uint64, error) {
	n, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(s), "+"), 10, 32)
	if err != nil {
		return 0, fmt.Errorf("cluster %s %q is not a number", field, s)
	}
	return n, nil
}
