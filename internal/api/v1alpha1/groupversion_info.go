// Package v1alpha1 holds the kubeext.dev/v1alpha1 API: the Extension (one installed
// extension instance) and the ExtensionType (one entry of the catalog).
//
// +kubebuilder:object:generate=true
// +groupName=kubeext.dev
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

const (
	// Group is the API group of every kind in this package.
	Group = "kubeext.dev"
	// Version is the API version of every kind in this package.
	Version = "v1alpha1"
)

var (
	// GroupVersion is the group and version of this API.
	GroupVersion = schema.GroupVersion{Group: Group, Version: Version}

	// SchemeBuilder registers the kinds of this package with a runtime.Scheme.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds the kinds of this package to a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

// Resource names, as the API server serves them.
const (
	ExtensionResource     = "extensions"
	ExtensionTypeResource = "extensiontypes"
)

// ExtensionGVR and ExtensionTypeGVR name the two resources for dynamic clients.
var (
	ExtensionGVR     = GroupVersion.WithResource(ExtensionResource)
	ExtensionTypeGVR = GroupVersion.WithResource(ExtensionTypeResource)
)

func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion,
		&Extension{}, &ExtensionList{},
		&ExtensionType{}, &ExtensionTypeList{},
	)
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
