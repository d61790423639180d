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
// rest (the catalog, the extension manager, then the webhook in its kustomization's
// order, so that the ValidatingWebhookConfiguration comes last).
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
	Catalog, Webhook, Manager bool
	// Image replaces the webhook Deployment's kubeext-webhook image (with Webhook).
	Image string
	// ManagerImage replaces the manager Deployment's kubeext-extension-manager image
	// (with Manager).
	ManagerImage string
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
	// The webhook's files make the namespace kubeext-system, which the manager lives
	// in too: with the manager alone, that Namespace is taken from them.
	var webhook []*unstructured.Unstructured
	if sel.Webhook || sel.Manager {
		if webhook, err = kustomizationObjects(manifests.Webhook, manifests.WebhookKustomizationFile); err != nil {
			return m, err
		}
	}
	for _, o := range webhook {
		if isNamespace(o) {
			m.Namespaces = append(m.Namespaces, o)
		}
	}
	if sel.Manager {
		objs, err := kustomizationObjects(manifests.ExtensionManager, manifests.ManagerKustomizationFile)
		if err != nil {
			return m, err
		}
		if err := setImage(objs, manifests.ManagerImageName, sel.ManagerImage); err != nil {
			return m, err
		}
		for _, o := range objs {
			if isNamespace(o) {
				m.Namespaces = append(m.Namespaces, o)
			} else {
				m.Rest = append(m.Rest, o)
			}
		}
	}
	if sel.Webhook {
		if err := setImage(webhook, manifests.WebhookImageName, sel.Image); err != nil {
			return m, err
		}
		for _, o := range webhook {
			if !isNamespace(o) {
				m.Rest = append(m.Rest, o)
			}
		}
	}
	return m, nil
}

func isNamespace(o *unstructured.Unstructured) bool {
	return o.GetAPIVersion() == "v1" && o.GetKind() == "Namespace"
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

// kustomizationObjects decodes the files of the kustomization file kfile in fsys, in
// the order its resources list them.
func kustomizationObjects(fsys fs.FS, kfile string) ([]*unstructured.Unstructured, error) {
	b, err := fs.ReadFile(fsys, kfile)
	if err != nil {
		return nil, err
	}
	var k struct {
		Resources []string `json:"resources"`
	}
	if err := yaml.Unmarshal(b, &k); err != nil {
		return nil, fmt.Errorf("embedded %s: %w", kfile, err)
	}
	if len(k.Resources) == 0 {
		return nil, fmt.Errorf("embedded %s lists no resources", kfile)
	}
	var out []*unstructured.Unstructured
	for _, r := range k.Resources {
		objs, err := decodeFile(fsys, path.Join(path.Dir(kfile), r))
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
	return kustomizationImage(manifests.Kustomization, "kustomization.yaml", manifests.WebhookImageName)
}

// DefaultManagerImage is the image manifests/extension-manager/kustomization.yaml sets
// for kubeext-extension-manager.
func DefaultManagerImage() (string, error) {
	b, err := fs.ReadFile(manifests.ExtensionManager, manifests.ManagerKustomizationFile)
	if err != nil {
		return "", err
	}
	return kustomizationImage(b, manifests.ManagerKustomizationFile, manifests.ManagerImageName)
}

// kustomizationImage reads the reference a kustomization's images entry gives name.
func kustomizationImage(kustomization []byte, file, name string) (string, error) {
	var k struct {
		Images []struct {
			Name    string `json:"name"`
			NewName string `json:"newName"`
			NewTag  string `json:"newTag"`
			Digest  string `json:"digest"`
		} `json:"images"`
	}
	if err := yaml.Unmarshal(kustomization, &k); err != nil {
		return "", fmt.Errorf("embedded %s: %w", file, err)
	}
	for _, im := range k.Images {
		if im.Name != name {
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
	return "", fmt.Errorf("embedded %s sets no image for %s", file, name)
}

// Examples of image references, for the messages of ValidateImage.
const (
	manifestsWebhookExample = "ghcr.io/kubeext/kubeext-webhook:v0.1.0"
	manifestsManagerExample = "ghcr.io/kubeext/kubeext-extension-manager:v0.1.0"
)

// ValidateImage refuses what no container runtime could pull: the API server itself
// only checks that an image is not blank.
func ValidateImage(ref string) error {
	return validateImage("--image", ref, manifestsWebhookExample)
}

// validateImage is ValidateImage for the flag named flag, with example in its hints.
func validateImage(flag, ref, example string) error {
	switch {
	case ref == "":
		return fmt.Errorf("%s must name an image, e.g. %s", flag, example)
	case strings.ContainsAny(ref, " \t\r\n"):
		return fmt.Errorf("%s %q contains whitespace", flag, ref)
	case strings.Contains(ref, "://"):
		return fmt.Errorf("%s %q is a URL: give an image reference without a scheme, e.g. %s", flag, ref, example)
	case strings.HasPrefix(ref, "-") || strings.HasSuffix(ref, ":") || strings.HasSuffix(ref, "@") || strings.HasSuffix(ref, "/"):
		return fmt.Errorf("%s %q is not an image reference (REGISTRY/REPOSITORY[:TAG|@DIGEST])", flag, ref)
	}
	return nil
}

// setImage points every container of the Deployments among objs whose image is name
// (any tag) at image, as kustomize's images transformer does.
func setImage(objs []*unstructured.Unstructured, name, image string) error {
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
				if img, _ := cm["image"].(string); imageName(img) == name {
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
		return fmt.Errorf("the embedded Deployments have no %s container to set the image of", name)
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
