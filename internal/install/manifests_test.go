package install

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/kubeext/kubectl-ext/manifests"
)

const (
	testImage        = "registry.example.com/team/kubeext-webhook:v9.9.9"
	testManagerImage = "registry.example.com/team/kubeext-extension-manager:v9.9.9"
)

func kinds(objs []*unstructured.Unstructured) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o.GetKind())
	}
	return out
}

func catalogSize(t *testing.T) int {
	t.Helper()
	files, err := fs.Glob(manifests.Catalog, manifests.CatalogDir+"/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no catalog embedded (%v)", err)
	}
	return len(files)
}

// TestBuild: the selection decides what is installed, and the order is the one init
// applies in: the CRDs, the namespaces, then the catalog, the manager, and the webhook
// with its ValidatingWebhookConfiguration last. The manager alone still gets the
// namespace kubeext-system, which the webhook's files make.
func TestBuild(t *testing.T) {
	nCatalog := catalogSize(t)
	tests := []struct {
		name          string
		sel           Selection
		wantNS        []string
		wantRest      int // -1: more than the catalog, the webhook's objects
		wantLastKind  string
		wantNamespace bool // some object of Rest is namespaced
		wantManager   bool // the manager's Deployment is among the rest
	}{
		{name: "CRDs only", sel: Selection{}, wantRest: 0},
		{name: "the catalog", sel: Selection{Catalog: true}, wantRest: nCatalog, wantLastKind: "ExtensionType"},
		{name: "the webhook", sel: Selection{Webhook: true, Image: testImage}, wantNS: []string{"kubeext-system"}, wantRest: -1, wantLastKind: "ValidatingWebhookConfiguration", wantNamespace: true},
		{name: "both", sel: Selection{Catalog: true, Webhook: true, Image: testImage}, wantNS: []string{"kubeext-system"}, wantRest: -1, wantLastKind: "ValidatingWebhookConfiguration", wantNamespace: true},
		{name: "the manager alone", sel: Selection{Manager: true, ManagerImage: testManagerImage}, wantNS: []string{"kubeext-system"}, wantRest: -1,
			wantLastKind: "Deployment", wantNamespace: true, wantManager: true},
		{name: "everything", sel: Selection{Catalog: true, Webhook: true, Image: testImage, Manager: true, ManagerImage: testManagerImage},
			wantNS: []string{"kubeext-system"}, wantRest: -1, wantLastKind: "ValidatingWebhookConfiguration", wantNamespace: true, wantManager: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Build(tt.sel)
			if err != nil {
				t.Fatal(err)
			}
			if got := kinds(m.CRDs); !reflect.DeepEqual(got, []string{"CustomResourceDefinition", "CustomResourceDefinition"}) {
				t.Errorf("CRDs = %v, want the two CRDs", got)
			}
			var ns []string
			for _, n := range m.Namespaces {
				ns = append(ns, n.GetName())
			}
			if !reflect.DeepEqual(ns, tt.wantNS) {
				t.Errorf("namespaces = %v, want %v", ns, tt.wantNS)
			}
			switch {
			case tt.wantRest >= 0 && len(m.Rest) != tt.wantRest:
				t.Errorf("%d other objects (%v), want %d", len(m.Rest), kinds(m.Rest), tt.wantRest)
			case tt.wantRest < 0 && len(m.Rest) <= nCatalog:
				t.Errorf("%d other objects (%v), want the webhook's too", len(m.Rest), kinds(m.Rest))
			}
			if tt.wantLastKind != "" && m.Rest[len(m.Rest)-1].GetKind() != tt.wantLastKind {
				t.Errorf("the last object is a %s, want a %s", m.Rest[len(m.Rest)-1].GetKind(), tt.wantLastKind)
			}
			namespaced, manager := false, false
			for _, o := range m.Rest {
				namespaced = namespaced || o.GetNamespace() != ""
				manager = manager || o.GetKind() == "Deployment" && o.GetName() == "kubeext-extension-manager"
				if o.GetKind() == "Namespace" {
					t.Errorf("namespace %s is among the rest, not applied before it", o.GetName())
				}
			}
			if namespaced != tt.wantNamespace {
				t.Errorf("namespaced objects: %v, want %v", namespaced, tt.wantNamespace)
			}
			if manager != tt.wantManager {
				t.Errorf("the manager's Deployment is there: %v, want %v", manager, tt.wantManager)
			}
			all := m.All()
			if len(all) != len(m.CRDs)+len(m.Namespaces)+len(m.Rest) || all[0] != m.CRDs[0] {
				t.Errorf("All() = %v, want the CRDs, the namespaces, then the rest", kinds(all))
			}
		})
	}
}

// TestBuildSetsTheImage: each Deployment runs the image asked for, never the
// manifests' kubeext-webhook:latest or kubeext-extension-manager:latest.
func TestBuildSetsTheImage(t *testing.T) {
	tests := []struct {
		name string
		sel  Selection
		want map[string]string // Deployment -> image
	}{
		{"the webhook", Selection{Webhook: true, Image: testImage}, map[string]string{"kubeext-webhook": testImage}},
		{"the manager", Selection{Manager: true, ManagerImage: testManagerImage}, map[string]string{"kubeext-extension-manager": testManagerImage}},
		{"both", Selection{Webhook: true, Image: testImage, Manager: true, ManagerImage: testManagerImage},
			map[string]string{"kubeext-webhook": testImage, "kubeext-extension-manager": testManagerImage}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Build(tt.sel)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, o := range m.Rest {
				if o.GetKind() != "Deployment" {
					continue
				}
				cs, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
				for _, c := range cs {
					got[o.GetName()] = c.(map[string]any)["image"].(string)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("the Deployments' images = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestManagerDeployment: the shipped Deployment is what docs/manager.md promises: two
// replicas under leader election, probes on the health port, HTTPS metrics, the pod's
// namespace from the downward API, and a locked-down container.
func TestManagerDeployment(t *testing.T) {
	m, err := Build(Selection{Manager: true, ManagerImage: testManagerImage})
	if err != nil {
		t.Fatal(err)
	}
	var d *unstructured.Unstructured
	kinds := map[string]bool{}
	for _, o := range m.Rest {
		kinds[o.GetKind()+"/"+o.GetName()] = true
		if o.GetKind() == "Deployment" {
			d = o
		}
	}
	for _, want := range []string{"ServiceAccount/kubeext-extension-manager", "ClusterRole/kubeext-extension-manager",
		"ClusterRoleBinding/kubeext-extension-manager", "Service/kubeext-extension-manager-metrics", "ServiceAccount/kubeext-installer"} {
		if !kinds[want] {
			t.Errorf("the manager's manifests lack %s", want)
		}
	}
	if kinds["ClusterRoleBinding/kubeext-extension-manager-all-namespaces"] {
		t.Error("the optional all-namespaces binding is installed by default")
	}
	if d == nil {
		t.Fatal("no Deployment")
	}
	str := func(fields ...string) string {
		v, _, _ := unstructured.NestedFieldNoCopy(d.Object, fields...)
		return fmt.Sprint(v)
	}
	c, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	if len(c) != 1 {
		t.Fatalf("%d containers, want 1", len(c))
	}
	container := &unstructured.Unstructured{Object: c[0].(map[string]any)}
	cstr := func(fields ...string) string {
		v, _, _ := unstructured.NestedFieldNoCopy(container.Object, fields...)
		return fmt.Sprint(v)
	}
	args, _, _ := unstructured.NestedStringSlice(container.Object, "args")
	env, _, _ := unstructured.NestedSlice(container.Object, "env")
	podNamespace := false
	for _, e := range env {
		em := e.(map[string]any)
		if em["name"] == "POD_NAMESPACE" && fmt.Sprint(em["valueFrom"]) == "map[fieldRef:map[fieldPath:metadata.namespace]]" {
			podNamespace = true
		}
	}
	for _, tc := range []struct{ what, got, want string }{
		{"namespace", d.GetNamespace(), "kubeext-system"},
		{"replicas", str("spec", "replicas"), "2"},
		{"serviceAccountName", str("spec", "template", "spec", "serviceAccountName"), "kubeext-extension-manager"},
		{"runAsNonRoot", str("spec", "template", "spec", "securityContext", "runAsNonRoot"), "true"},
		{"args", strings.Join(args, " "), "--leader-elect --metrics-bind-address=:8443 --health-probe-bind-address=:8081"},
		{"liveness", cstr("livenessProbe", "httpGet", "path") + " " + cstr("livenessProbe", "httpGet", "port"), "/healthz health"},
		{"readiness", cstr("readinessProbe", "httpGet", "path") + " " + cstr("readinessProbe", "httpGet", "port"), "/readyz health"},
		{"readOnlyRootFilesystem", cstr("securityContext", "readOnlyRootFilesystem"), "true"},
		{"allowPrivilegeEscalation", cstr("securityContext", "allowPrivilegeEscalation"), "false"},
		{"capabilities", cstr("securityContext", "capabilities", "drop"), "[ALL]"},
		{"requests", cstr("resources", "requests", "cpu") + " " + cstr("resources", "requests", "memory"), "50m 192Mi"},
		{"POD_NAMESPACE from the downward API", fmt.Sprint(podNamespace), "true"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %q, want %q", tc.what, tc.got, tc.want)
		}
	}
}

func deployment(images ...string) *unstructured.Unstructured {
	var cs []any
	for _, im := range images {
		cs = append(cs, map[string]any{"name": "c", "image": im})
	}
	d := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "d"}}}
	_ = unstructured.SetNestedSlice(d.Object, cs, "spec", "template", "spec", "containers")
	return d
}

// TestSetImage: like kustomize's images transformer, only the kubeext-webhook
// containers change, whatever their tag or digest.
func TestSetImage(t *testing.T) {
	tests := []struct {
		name    string
		images  []string
		want    []string
		wantErr string
	}{
		{"a tag", []string{"kubeext-webhook:latest"}, []string{testImage}, ""},
		{"no tag", []string{"kubeext-webhook"}, []string{testImage}, ""},
		{"a digest", []string{"kubeext-webhook@sha256:" + strings.Repeat("a", 64)}, []string{testImage}, ""},
		{"a sidecar is left alone", []string{"kubeext-webhook:latest", "envoy:1.30"}, []string{testImage, "envoy:1.30"}, ""},
		{"a lookalike is left alone", []string{"other/kubeext-webhook-proxy:1"}, nil, "no kubeext-webhook container"},
		{"no container", nil, nil, "no kubeext-webhook container"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := deployment(tt.images...)
			err := setImage([]*unstructured.Unstructured{d}, manifests.WebhookImageName, testImage)
			checkErr(t, err, tt.wantErr)
			if tt.wantErr != "" {
				return
			}
			cs, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
			var got []string
			for _, c := range cs {
				got = append(got, c.(map[string]any)["image"].(string))
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("images = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestImageName(t *testing.T) {
	for ref, want := range map[string]string{
		"kubeext-webhook":                          "kubeext-webhook",
		"kubeext-webhook:v1":                       "kubeext-webhook",
		"localhost:5000/kubeext-webhook":           "localhost:5000/kubeext-webhook",
		"localhost:5000/kubeext-webhook:v1":        "localhost:5000/kubeext-webhook",
		"ghcr.io/kubeext/kubeext-webhook@sha256:x": "ghcr.io/kubeext/kubeext-webhook",
	} {
		if got := imageName(ref); got != want {
			t.Errorf("imageName(%q) = %q, want %q", ref, got, want)
		}
	}
}

func TestValidateImage(t *testing.T) {
	tests := []struct{ ref, want string }{
		{"ghcr.io/kubeext/kubeext-webhook:v0.1.0", ""},
		{"localhost:5000/w@sha256:" + strings.Repeat("b", 64), ""},
		{"kubeext-webhook", ""},
		{"", "must name an image"},
		{"ghcr.io/w :1", "contains whitespace"},
		{"https://ghcr.io/w:1", "is a URL"},
		{"-w", "is not an image reference"},
		{"ghcr.io/w:", "is not an image reference"},
		{"ghcr.io/w@", "is not an image reference"},
		{"ghcr.io/", "is not an image reference"},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) { checkErr(t, ValidateImage(tt.ref), tt.want) })
	}
}

// TestDefaultWebhookImage: the default is the image manifests/kustomization.yaml sets,
// so `kubectl apply -k manifests/` and init deploy the same webhook.
func TestDefaultWebhookImage(t *testing.T) {
	got, err := DefaultWebhookImage()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got, "ghcr.io/kubeext/kubeext-webhook:") || strings.HasSuffix(got, ":latest") {
		t.Errorf("DefaultWebhookImage() = %q, want the kustomization's ghcr.io/kubeext/kubeext-webhook:TAG", got)
	}
	if err := ValidateImage(got); err != nil {
		t.Errorf("the default image is refused: %v", err)
	}
}

// TestDefaultManagerImage: the default is the image
// manifests/extension-manager/kustomization.yaml sets, and the overlay
// manifests/with-manager/ sets the same one.
func TestDefaultManagerImage(t *testing.T) {
	got, err := DefaultManagerImage()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got, "ghcr.io/kubeext/kubeext-extension-manager:") || strings.HasSuffix(got, ":latest") {
		t.Errorf("DefaultManagerImage() = %q, want the kustomization's ghcr.io/kubeext/kubeext-extension-manager:TAG", got)
	}
	overlay, err := os.ReadFile(filepath.Join("..", "..", "manifests", "with-manager", "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if o, err := kustomizationImage(overlay, "with-manager", manifests.ManagerImageName); err != nil || o != got {
		t.Errorf("manifests/with-manager sets %s to %q (%v), want %q like manifests/extension-manager", manifests.ManagerImageName, o, err, got)
	}
	webhook, err := DefaultWebhookImage()
	if err != nil {
		t.Fatal(err)
	}
	if o, err := kustomizationImage(overlay, "with-manager", manifests.WebhookImageName); err != nil || o != webhook {
		t.Errorf("manifests/with-manager sets %s to %q (%v), want %q like manifests/", manifests.WebhookImageName, o, err, webhook)
	}
}

// TestWriteYAML: --print writes one stream that decodes back to the same objects, in
// the same order.
func TestWriteYAML(t *testing.T) {
	m, err := Build(Selection{Catalog: true, Webhook: true, Image: testImage})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := WriteYAML(&b, m.All()); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.String(), "---\n") {
		t.Errorf("the stream does not start with a document marker:\n%.200s", b.String())
	}
	d := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(b.String()), 4096)
	var got []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		if err := d.Decode(&u.Object); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			t.Fatal(err)
		}
		if len(u.Object) > 0 {
			got = append(got, u)
		}
	}
	want := m.All()
	if len(got) != len(want) {
		t.Fatalf("%d objects decoded, want %d", len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i].Object, want[i].Object) {
			t.Errorf("object %d (%s) changed on the way through YAML", i, ObjectName(want[i]))
		}
	}
}

func TestObjectName(t *testing.T) {
	obj := func(apiVersion, kind, name string) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{"apiVersion": apiVersion, "kind": kind, "metadata": map[string]any{"name": name}}}
	}
	tests := []struct {
		o    *unstructured.Unstructured
		want string
	}{
		{obj("apiextensions.k8s.io/v1", "CustomResourceDefinition", "extensions.kubeext.dev"), "customresourcedefinition.apiextensions.k8s.io/extensions.kubeext.dev"},
		{obj("v1", "ConfigMap", "kubeext-policy"), "configmap/kubeext-policy"},
		{obj("kubeext.dev/v1alpha1", "ExtensionType", "a.b"), "extensiontype.kubeext.dev/a.b"},
	}
	for _, tt := range tests {
		if got := ObjectName(tt.o); got != tt.want {
			t.Errorf("ObjectName = %q, want %q", got, tt.want)
		}
	}
}

// TestKeepsExisting: only the policy ConfigMap is left as the operators edited it.
func TestKeepsExisting(t *testing.T) {
	cm := func(ns, name string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap"}}
		u.SetNamespace(ns)
		u.SetName(name)
		return u
	}
	m, err := Build(Selection{Webhook: true, Image: testImage})
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, o := range m.All() {
		if keepsExisting(o) {
			kept = append(kept, ObjectName(o))
		}
	}
	if !reflect.DeepEqual(kept, []string{"configmap/" + PolicyConfigMap.Name}) {
		t.Errorf("kept = %v, want only the policy ConfigMap", kept)
	}
	if keepsExisting(cm("default", PolicyConfigMap.Name)) || keepsExisting(cm(PolicyConfigMap.Namespace, "other")) {
		t.Errorf("a ConfigMap other than %s is kept", PolicyConfigMap)
	}
}

func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case want != "" && err == nil:
		t.Fatalf("no error, want one containing %q", want)
	case want != "" && !strings.Contains(err.Error(), want):
		t.Fatalf("error %q does not contain %q", err, want)
	}
}
