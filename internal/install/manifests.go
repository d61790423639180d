package install

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/kubeext/kubectl-ext/manifests"
)

// Manifests are the objects `kubectl ext init` applies, in the order it applies
// them: the CRDs (then it waits for them to be Established), the namespaces, then the
// rest (the catalog, then the webhook in its kustomization's order, so that the
// ValidatingWebhookConfiguration comes last).
type Manifests struct {
	CRDs       []*unstructured.Unstructured
	Namespaces []*unstructured.Unstructured
	Rest       []*unstructured.Unstructured
}

func (m Manifests) All() []*unstructured.Unstructured {
	out := append([]*unstructured.Unstructured{}, m.CRDs...)
	out = append(out, m.Namespaces...)
	return append(out, m.Rest...)
}

// Selection says which embedded manifests to install.
type Selection struct {
	Catalog, Webhook bool
	// Image replaces the webhook Deployment's kubeext-webhook image (with Webhook).
	Image string
}

// Build reads the embedded manifests the selection names.
func Build(sel Selection) (Manifests, error) {
	var m Manifests
	crds, err := decodeDir(manifests.CRDs, manifests.CRDDir)
	if err != nil {
		return m, err
	}
	m.CRDs = crds
	if sel.Catalog {
		types, err := decodeDir(manifests.Catalog, manifests.CatalogDir)
		if err != nil {
			return m, err
		}
		m.Rest = append(m.Rest, types...)
	}
	if sel.Webhook {
		objs, err := webhookObjects()
		if err != nil {
			return m, err
		}
		if err := setWebhookImage(objs, sel.Image); err != nil {
			return m, err
		}
		for _, o := range objs {
			if o.GetAPIVersion() == "v1" && o.GetKind() == "Namespace" {
				m.Namespaces = append(m.Namespaces, o)
			} else {
				m.Rest = append(m.Rest, o)
			}
		}
	}
	return m, nil
}

// decodeDir decodes every *.yaml file of dir in fsys, in file name order.
func decodeDir(fsys fs.FS, dir string) ([]*unstructured.Unstructured, error) {
	files, err := fs.Glob(fsys, dir+"/*.yaml")
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var out []*unstructured.Unstructured
	for _, f := range files {
		objs, err := decodeFile(fsys, f)
		if err != nil {
			return nil, err
		}
		out = append(out, objs...)
	}
	return out, nil
}

// webhookObjects decodes the webhook's files in the order its kustomization lists them.
func webhookObjects() ([]*unstructured.Unstructured, error) {
	b, err := fs.ReadFile(manifests.Webhook, manifests.WebhookKustomizationFile)
	if err != nil {
		return nil, err
	}
	var k struct {
		Resources []string `json:"resources"`
	}
	if err := yaml.Unmarshal(b, &k); err != nil {
		return nil, fmt.Errorf("embedded %s: %w", manifests.WebhookKustomizationFile, err)
	}
	if len(k.Resources) == 0 {
		return nil, fmt.Errorf("embedded %s lists no resources", manifests.WebhookKustomizationFile)
	}
	var out []*unstructured.Unstructured
	for _, r := range k.Resources {
		objs, err := decodeFile(manifests.Webhook, path.Join(path.Dir(manifests.WebhookKustomizationFile), r))
		if err != nil {
			return nil, err
		}
		out = append(out, objs...)
	}
	return out, nil
}

// decodeFile decodes the objects of one YAML stream; empty documents are skipped.
func decodeFile(fsys fs.FS, name string) ([]*unstructured.Unstructured, error) {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, err
	}
	d := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
	var out []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		if err := d.Decode(&u.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, fmt.Errorf("embedded %s: %w", name, err)
		}
		if len(u.Object) == 0 {
			continue
		}
		if u.GetAPIVersion() == "" || u.GetKind() == "" || u.GetName() == "" {
			return nil, fmt.Errorf("embedded %s: an object without apiVersion, kind or metadata.name", name)
		}
		out = append(out, u)
	}
}

// DefaultWebhookImage is the image manifests/kustomization.yaml sets for kubeext-webhook.
func DefaultWebhookImage() (string, error) {
	var k struct {
		Images []struct {
			Name    string `json:"name"`
			NewName string `json:"newName"`
			NewTag  string `json:"newTag"`
			Digest  string `json:"digest"`
		} `json:"images"`
	}
	if err := yaml.Unmarshal(manifests.Kustomization, &k); err != nil {
		return "", fmt.Errorf("embedded kustomization.yaml: %w", err)
	}
	for _, im := range k.Images {
		if im.Name != manifests.WebhookImageName {
			continue
		}
		ref := im.NewName
		if ref == "" {
			ref = im.Name
		}
		switch {
		case im.Digest != "":
			ref += "@" + im.Digest
		case im.NewTag != "":
			ref += ":" + im.NewTag
		}
		return ref, nil
	}
	return "", fmt.Errorf("embedded kustomization.yaml sets no image for %s", manifests.WebhookImageName)
}

// ValidateImage refuses what no container runtime could pull: the API server itself
// only checks that an image is not blank.
func ValidateImage(ref string) error {
	switch {
	case ref == "":
		return fmt.Errorf("--image must name an image, e.g. ghcr.io/kubeext/kubeext-webhook:v0.1.0")
	case strings.ContainsAny(ref, " \t\r\n"):
		return fmt.Errorf("--image %q contains whitespace", ref)
	case strings.Contains(ref, "://"):
		return fmt.Errorf("--image %q is a URL: give an image reference without a scheme, e.g. ghcr.io/kubeext/kubeext-webhook:v0.1.0", ref)
	case strings.HasPrefix(ref, "-") || strings.HasSuffix(ref, ":") || strings.HasSuffix(ref, "@") || strings.HasSuffix(ref, "/"):
		return fmt.Errorf("--image %q is not an image reference (REGISTRY/REPOSITORY[:TAG|@DIGEST])", ref)
	}
	return nil
}

// setWebhookImage points every container of the webhook's workloads whose image is
// kubeext-webhook (any tag) at image, as kustomize's images transformer does.
func setWebhookImage(objs []*unstructured.Unstructured, image string) error {
	n := 0
	for _, o := range objs {
		if o.GetKind() != "Deployment" {
			continue
		}
		for _, field := range []string{"containers", "initContainers"} {
			cs, found, err := unstructured.NestedSlice(o.Object, "spec", "template", "spec", field)
			if err != nil || !found {
				continue
			}
			for i, c := range cs {
				cm, ok := c.(map[string]any)
				if !ok {
					continue
				}
				if img, _ := cm["image"].(string); imageName(img) == manifests.WebhookImageName {
					cm["image"] = image
					cs[i] = cm
					n++
				}
			}
			if err := unstructured.SetNestedSlice(o.Object, cs, "spec", "template", "spec", field); err != nil {
				return err
			}
		}
	}
	if n == 0 {
		return fmt.Errorf("the embedded webhook Deployment has no %s container to set the image of", manifests.WebhookImageName)
	}
	return nil
}

// imageName drops an image reference's tag and digest.
func imageName(ref string) string {
	if i := strings.Index(ref, "@"); i >= 0 {
		ref = ref[:i]
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref = ref[:i]
	}
	return ref
}

// WriteYAML writes objs as one YAML stream that `kubectl apply -f -` takes.
func WriteYAML(w io.Writer, objs []*unstructured.Unstructured) error {
	for _, o := range objs {
		b, err := yaml.Marshal(o.Object)
		if err != nil {
			return fmt.Errorf("%s: %w", ObjectName(o), err)
		}
		if _, err := fmt.Fprintf(w, "---\n%s", b); err != nil {
			return err
		}
	}
	return nil
}

// ObjectName names an object the way kubectl prints it:
// customresourcedefinition.apiextensions.k8s.io/extensions.kubeext.dev, configmap/x.
func ObjectName(o *unstructured.Unstructured) string {
	gvk := o.GroupVersionKind()
	kind := strings.ToLower(gvk.Kind)
	if gvk.Group != "" {
		kind += "." + gvk.Group
	}
	return kind + "/" + o.GetName()
}

// keepsExisting reports whether init creates obj only when it is missing and never
// overwrites it: the policy configuration belongs to the cluster's operators once it
// exists (docs/operations.md tells them to edit it).
func keepsExisting(o *unstructured.Unstructured) bool {
	return o.GetAPIVersion() == "v1" && o.GetKind() == "ConfigMap" &&
		o.GetNamespace() == PolicyConfigMap.Namespace && o.GetName() == PolicyConfigMap.Name
}
