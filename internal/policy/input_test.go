package policy

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestClusterFromVersion(t *testing.T) {
	tests := []struct {
		name                         string
		gitVersion, emMajor, emMinor string
		want                         ClusterInfo
		wantErr                      string
	}{
		{name: "a release keeps its patch and drops the leading v", gitVersion: "v1.37.1", want: ClusterInfo{KubernetesVersion: "1.37.1", Minor: "1.37"}},
		{name: "an alpha is a prerelease and loses its build metadata", gitVersion: "v1.37.0-alpha.1+abc", want: ClusterInfo{KubernetesVersion: "1.37.0-alpha.1", Minor: "1.37", Prerelease: true}},
		{name: "a development build between releases is a prerelease", gitVersion: "v1.37.0-alpha.1.51+2a7f9a2c4e1f8b-dirty", want: ClusterInfo{KubernetesVersion: "1.37.0-alpha.1.51", Minor: "1.37", Prerelease: true}},
		{name: "a release candidate is a prerelease", gitVersion: "v1.37.0-rc.0", want: ClusterInfo{KubernetesVersion: "1.37.0-rc.0", Minor: "1.37", Prerelease: true}},
		{name: "a beta is a prerelease", gitVersion: "v1.37.0-beta.2", want: ClusterInfo{KubernetesVersion: "1.37.0-beta.2", Minor: "1.37", Prerelease: true}},
		{name: "an EKS suffix is not a prerelease", gitVersion: "v1.30.2-eks-1552ad0", want: ClusterInfo{KubernetesVersion: "1.30.2", Minor: "1.30"}},
		{name: "a GKE suffix is not a prerelease", gitVersion: "v1.30.3-gke.1639000", want: ClusterInfo{KubernetesVersion: "1.30.3", Minor: "1.30"}},
		{name: "a version without v is read too", gitVersion: "1.36.4", want: ClusterInfo{KubernetesVersion: "1.36.4", Minor: "1.36"}},
		{name: "an emulated older minor replaces the binary's version", gitVersion: "v1.37.1", emMajor: "1", emMinor: "36", want: ClusterInfo{KubernetesVersion: "1.36.0", Minor: "1.36"}},
		{name: "an emulated older minor of a prerelease binary is no prerelease", gitVersion: "v1.37.0-alpha.1+abc", emMajor: "1", emMinor: "36", want: ClusterInfo{KubernetesVersion: "1.36.0", Minor: "1.36"}},
		{name: "an emulation equal to the binary keeps the binary's patch", gitVersion: "v1.37.1", emMajor: "1", emMinor: "37", want: ClusterInfo{KubernetesVersion: "1.37.1", Minor: "1.37"}},
		{name: "a provider's plus suffix on the emulated minor is read", gitVersion: "v1.37.1", emMajor: "1", emMinor: "36+", want: ClusterInfo{KubernetesVersion: "1.36.0", Minor: "1.36"}},
		{name: "an empty version is an error", gitVersion: "", wantErr: "empty"},
		{name: "garbage is an error", gitVersion: "vNext", wantErr: "not a Kubernetes version"},
		{name: "a non-numeric emulated minor is an error", gitVersion: "v1.37.1", emMajor: "1", emMinor: "x", wantErr: "emulationMinor"},
		{name: "an emulated minor without major is an error", gitVersion: "v1.37.1", emMinor: "36", wantErr: "emulationMajor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ClusterFromVersion(tt.gitVersion, tt.emMajor, tt.emMinor)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestInputJSONShape(t *testing.T) {
	in := createInput(newExtension())
	in.ExtensionType = nil
	data, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	req := doc["request"].(map[string]any)
	for _, key := range []string{"operation", "subResource", "userInfo", "object", "oldObject"} {
		if _, ok := req[key]; !ok {
			t.Errorf("request.%s missing from %s", key, data)
		}
	}
	if doc["extensionType"] != nil || req["oldObject"] != nil {
		t.Errorf("absent type and old object must be null: %s", data)
	}
	cluster := doc["cluster"].(map[string]any)
	if cluster["kubernetesVersion"] != "1.36.2" || cluster["minor"] != "1.36" || cluster["prerelease"] != false {
		t.Errorf("cluster = %v", cluster)
	}
}
