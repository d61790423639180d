package lifecycle_test

import (
	"reflect"
	"testing"

	"k8s.io/utils/ptr"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/lifecycle"
)

func TestMergeSpec(t *testing.T) {
	auto := func() v1alpha1.ExtensionSpec {
		return v1alpha1.ExtensionSpec{
			ExtensionType: typeName, AutoUpgradeMinorVersion: ptr.To(true), ReleaseTrain: "Stable",
			ConfigurationSettings: map[string]string{"a": "1", "b": "2"},
		}
	}
	pinned := func() v1alpha1.ExtensionSpec {
		s := auto()
		s.AutoUpgradeMinorVersion, s.Version = ptr.To(false), "1.4.0"
		return s
	}
	with := func(s v1alpha1.ExtensionSpec, change func(*v1alpha1.ExtensionSpec)) v1alpha1.ExtensionSpec {
		change(&s)
		return s
	}
	tests := []struct {
		name    string
		spec    v1alpha1.ExtensionSpec
		req     lifecycle.UpdateRequest
		want    v1alpha1.ExtensionSpec
		wantErr string
	}{
		{name: "an empty request changes nothing", spec: auto(), want: auto()},
		{
			name: "settings merge key by key: new keys are added, given keys replaced, others kept",
			spec: auto(), req: lifecycle.UpdateRequest{Settings: map[string]string{"b": "20", "c": "3"}},
			want: with(auto(), func(s *v1alpha1.ExtensionSpec) {
				s.ConfigurationSettings = map[string]string{"a": "1", "b": "20", "c": "3"}
			}),
		},
		{
			name: "settings merge into an extension that had none",
			spec: with(auto(), func(s *v1alpha1.ExtensionSpec) { s.ConfigurationSettings = nil }),
			req:  lifecycle.UpdateRequest{Settings: map[string]string{"a": "1"}},
			want: with(auto(), func(s *v1alpha1.ExtensionSpec) { s.ConfigurationSettings = map[string]string{"a": "1"} }),
		},
		{
			name: "pinning sets auto-upgrade off and the version",
			spec: auto(), req: lifecycle.UpdateRequest{AutoUpgrade: ptr.To(false), Version: ptr.To("1.4.0")},
			want: pinned(),
		},
		{
			name: "a version alone moves a pinned extension and keeps it pinned",
			spec: pinned(), req: lifecycle.UpdateRequest{Version: ptr.To("1.4.1")},
			want: with(pinned(), func(s *v1alpha1.ExtensionSpec) { s.Version = "1.4.1" }),
		},
		{
			name: "turning auto-upgrade on without a version drops the pin",
			spec: pinned(), req: lifecycle.UpdateRequest{AutoUpgrade: ptr.To(true)},
			want: auto(),
		},
		{
			name: "a release train replaces the train",
			spec: auto(), req: lifecycle.UpdateRequest{ReleaseTrain: ptr.To("Preview")},
			want: with(auto(), func(s *v1alpha1.ExtensionSpec) { s.ReleaseTrain = "Preview" }),
		},
		{
			name: "the first protected settings give the extension its Secret",
			spec: auto(), req: lifecycle.UpdateRequest{Name: "podinfo", Protected: map[string]string{"k": "v"}},
			want: with(auto(), func(s *v1alpha1.ExtensionSpec) {
				s.ConfigurationProtectedSettings = &v1alpha1.ProtectedSettingsRef{SecretName: "podinfo-protected-settings"}
			}),
		},
		{
			name: "later protected settings keep the Secret the extension names",
			spec: with(auto(), func(s *v1alpha1.ExtensionSpec) {
				s.ConfigurationProtectedSettings = &v1alpha1.ProtectedSettingsRef{SecretName: "kept"}
			}),
			req: lifecycle.UpdateRequest{Name: "podinfo", Protected: map[string]string{}},
			want: with(auto(), func(s *v1alpha1.ExtensionSpec) {
				s.ConfigurationProtectedSettings = &v1alpha1.ProtectedSettingsRef{SecretName: "kept"}
			}),
		},
		{
			name: "the extension's own type, in another case, and scope change nothing",
			spec: auto(), req: lifecycle.UpdateRequest{ExtensionType: "Example.Podinfo", Scope: v1alpha1.ScopeCluster},
			want: auto(),
		},
		{
			name: "another type is refused: it is immutable",
			spec: auto(), req: lifecycle.UpdateRequest{Name: "podinfo", ExtensionType: "other.type", Settings: map[string]string{"a": "2"}},
			wantErr: "the extension type is immutable: podinfo is of type example.podinfo, not other.type (to change it, delete the extension and create it again)",
		},
		{
			name: "another scope is refused: it is immutable",
			spec: auto(), req: lifecycle.UpdateRequest{Name: "podinfo", Scope: v1alpha1.ScopeNamespace},
			wantErr: "the scope is immutable: podinfo has cluster scope, not namespace (to change it, delete the extension and create it again)",
		},
		{
			name: "a train alone on a pinned extension is refused: a train is only for auto-upgrade",
			spec: pinned(), req: lifecycle.UpdateRequest{Name: "podinfo", ReleaseTrain: ptr.To("Preview")},
			wantErr: "--release-train can only be set if auto-upgrade is true: podinfo is pinned to 1.4.0; give --auto-upgrade-minor-version true with it",
		},
		{
			name: "a train with auto-upgrade turned on unpins a pinned extension",
			spec: pinned(), req: lifecycle.UpdateRequest{AutoUpgrade: ptr.To(true), ReleaseTrain: ptr.To("Preview")},
			want: with(auto(), func(s *v1alpha1.ExtensionSpec) { s.ReleaseTrain = "Preview" }),
		},
		{
			name: "a version alone on an auto-upgrading extension is refused: it would pin it silently",
			spec: auto(), req: lifecycle.UpdateRequest{Name: "podinfo", Version: ptr.To("1.4.1")},
			wantErr: "--version pins the extension, so it needs --auto-upgrade-minor-version false: podinfo upgrades its minor version automatically",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := *tt.spec.DeepCopy()
			got, err := lifecycle.MergeSpec(tt.spec, tt.req)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("MergeSpec =\n%+v\nwant\n%+v", got, tt.want)
			}
			if !reflect.DeepEqual(tt.spec, before) {
				t.Errorf("MergeSpec changed its input: %+v, was %+v", tt.spec, before)
			}
		})
	}
}
