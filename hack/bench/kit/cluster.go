package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"helm.sh/helm/v3/pkg/chartutil"
	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/chartsource/chartsourcetest"
	"github.com/kubeext/kubectl-ext/internal/policy"
)

// typeName is the extension type of every fixture: examples/extensiontype-podinfo.yaml
// with multiple instances allowed, as bench.sh applies it.
const typeName = "example.podinfo"

// charts adds podinfo 1.4.2 to the demo's charts (1.4.0 ... 2.0.0), so that the
// reviewed write is the patch upgrade 1.4.1 -> 1.4.2 of the issue, to a version the
// catalog has.
func charts(args []string) error {
	if len(args) != 1 {
		return errors.New("usage: kit charts DIR")
	}
	ch, err := chartsourcetest.Chart(chartsourcetest.Spec{Version: "1.4.2", AppVersion: "6.4.2", KubeVersion: ">=1.25.0-0"})
	if err != nil {
		return err
	}
	_, err = chartutil.Save(ch, args[0])
	return err
}

func clients(kubeconfig string) (client.Client, *kubernetes.Clientset, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, nil, err
	}
	// Fixtures in bulk: client-go's default 5 QPS would make 2,000 writes take minutes.
	cfg.QPS, cfg.Burst = 1000, 2000
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{v1alpha1.AddToScheme, admissionregistrationv1.AddToScheme, corev1.AddToScheme} {
		if err := add(scheme); err != nil {
			return nil, nil, err
		}
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, nil, err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	return c, cs, err
}

// settings are n configuration settings of a typical size.
func settings(n int) map[string]string {
	s := make(map[string]string, n)
	for i := range n - 1 {
		s[fmt.Sprintf("podinfo.values.setting%02d", i)] = fmt.Sprintf("value-%02d-%s", i, strings.Repeat("x", 24))
	}
	s["replicaCount"] = "2"
	return s
}

// fixture is one cluster-scoped extension of the type, with its own release
// namespace, and the status of a release installed at installed.
func fixture(name string, auto bool, version, installed, kubeMinor string, nSettings int) (*v1alpha1.Extension, v1alpha1.ExtensionStatus) {
	e := &v1alpha1.Extension{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"team": "platform"}},
		Spec: v1alpha1.ExtensionSpec{
			ExtensionType:           typeName,
			Scope:                   v1alpha1.Scope{Cluster: &v1alpha1.ClusterScope{ReleaseNamespace: name}},
			AutoUpgradeMinorVersion: ptr.To(auto),
			Version:                 version,
			ConfigurationSettings:   settings(nSettings),
		},
	}
	st := v1alpha1.ExtensionStatus{
		ProvisioningState:  v1alpha1.ProvisioningSucceeded,
		Scope:              v1alpha1.ScopeCluster,
		CurrentVersion:     installed,
		TargetVersion:      installed,
		KubernetesVersion:  kubeMinor,
		Release:            v1alpha1.ReleaseRef{Name: name, Namespace: name, Revision: 1},
		ObservedGeneration: 1,
	}
	return e, st
}

func clusterInfo(cs *kubernetes.Clientset) (policy.ClusterInfo, error) {
	v, err := cs.Discovery().ServerVersion()
	if err != nil {
		return policy.ClusterInfo{}, err
	}
	return policy.ClusterFromVersion(v.GitVersion, v.EmulationMajor, v.EmulationMinor)
}

// populate creates extensions PREFIX-START ... PREFIX-(START+N-1), auto-upgrading and
// Succeeded at -installed, and with -pinned one more, pinned at -installed. The
// webhook's registration is taken away while it writes and put back after: the
// fixtures are not what is measured, and through the webhook each status would take
// two judged writes (the baseline rules move status.currentVersion only to a stored
// target).
func populate(args []string) error {
	fs := flag.NewFlagSet("populate", flag.ContinueOnError)
	kubeconfig := fs.String("kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig of the cluster")
	n := fs.Int("n", 0, "auto-upgrading extensions to create")
	prefix := fs.String("prefix", "bench", "name prefix")
	start := fs.Int("start", 1, "number of the first")
	installed := fs.String("installed", "1.4.1", "status.currentVersion of each")
	pinned := fs.String("pinned", "", "also create this extension, pinned at -installed")
	nSettings := fs.Int("settings", 10, "configuration settings of each")
	workers := fs.Int("workers", 8, "concurrent writers")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c, cs, err := clients(*kubeconfig)
	if err != nil {
		return err
	}
	ci, err := clusterInfo(cs)
	if err != nil {
		return err
	}
	ctx := context.Background()
	restore, err := unregisterWebhooks(ctx, c)
	if err != nil {
		return err
	}
	type job struct {
		ext *v1alpha1.Extension
		st  v1alpha1.ExtensionStatus
	}
	jobs := make(chan job)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for range *workers {
		wg.Go(func() {
			for j := range jobs {
				err := c.Create(ctx, j.ext)
				if err == nil {
					j.ext.Status = j.st
					err = c.Status().Update(ctx, j.ext)
				}
				if err != nil {
					mu.Lock()
					firstErr = errors.Join(firstErr, fmt.Errorf("%s: %w", j.ext.Name, err))
					mu.Unlock()
				}
			}
		})
	}
	if *pinned != "" {
		e, st := fixture(*pinned, false, *installed, *installed, ci.Minor, *nSettings)
		jobs <- job{e, st}
	}
	for i := *start; i < *start+*n; i++ {
		e, st := fixture(fmt.Sprintf("%s-%04d", *prefix, i), true, "", *installed, ci.Minor, *nSettings)
		jobs <- job{e, st}
	}
	close(jobs)
	wg.Wait()
	return errors.Join(firstErr, restore())
}

// unregisterWebhooks deletes the ValidatingWebhookConfigurations that judge kubeext.dev
// and returns the function that creates them again and waits until the API server
// calls the webhook again.
func unregisterWebhooks(ctx context.Context, c client.Client) (func() error, error) {
	var list admissionregistrationv1.ValidatingWebhookConfigurationList
	if err := c.List(ctx, &list); err != nil {
		return nil, err
	}
	var saved []admissionregistrationv1.ValidatingWebhookConfiguration
	for _, vwc := range list.Items {
		if !judgesKubeext(vwc) {
			continue
		}
		if err := c.Delete(ctx, &vwc); err != nil {
			return nil, err
		}
		saved = append(saved, vwc)
	}
	return func() error {
		for _, vwc := range saved {
			vwc.ObjectMeta = metav1.ObjectMeta{Name: vwc.Name, Labels: vwc.Labels, Annotations: vwc.Annotations}
			if err := c.Create(ctx, &vwc); err != nil {
				return err
			}
		}
		if len(saved) == 0 {
			return nil
		}
		return waitJudged(ctx, c)
	}, nil
}

func judgesKubeext(vwc admissionregistrationv1.ValidatingWebhookConfiguration) bool {
	for _, w := range vwc.Webhooks {
		for _, r := range w.Rules {
			for _, g := range r.APIGroups {
				if g == v1alpha1.Group {
					return true
				}
			}
		}
	}
	return false
}

// waitJudged waits until a dry-run create of an Extension of an unknown type is refused
// by the webhook: the API server has seen the registration again.
func waitJudged(ctx context.Context, c client.Client) error {
	probe := &v1alpha1.Extension{
		ObjectMeta: metav1.ObjectMeta{Name: "bench-probe"},
		Spec: v1alpha1.ExtensionSpec{
			ExtensionType: "bench.no-such-type",
			Scope:         v1alpha1.Scope{Cluster: &v1alpha1.ClusterScope{ReleaseNamespace: "bench-probe"}},
		},
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		err := c.Create(ctx, probe.DeepCopy(), client.DryRunAll)
		if err != nil && strings.Contains(err.Error(), "admission webhook") {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return errors.New("the webhook judged no write within 30 s of its registration")
}

// review writes the benchmark's request three ways: review.json, the AdmissionReview
// the API server would send for the UPDATE of -name from its stored version to -to;
// opa-input.json, {"input": ...} as the policy engine builds it for that review; and
// opa-data.json, the engine's data.inventory for the cluster as it is. It evaluates
// the input with the engine too and fails unless its verdict is -want (the issue's
// typical review is allowed; bench.sh also checks a denied one, so that the OPA
// server is seen to judge as the webhook does both ways).
func review(args []string) error {
	fs := flag.NewFlagSet("review", flag.ContinueOnError)
	kubeconfig := fs.String("kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig of the cluster")
	name := fs.String("name", "", "the extension updated")
	to := fs.String("to", "1.4.2", "the version it is updated to")
	config := fs.String("config", "", "the webhook's policy configuration file")
	out := fs.String("out", ".", "directory of the three files")
	want := fs.String("want", "allowed", "the engine's verdict the review must get: allowed or denied")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c, cs, err := clients(*kubeconfig)
	if err != nil {
		return err
	}
	ctx := context.Background()
	old := &v1alpha1.Extension{}
	if err := c.Get(ctx, types.NamespacedName{Name: *name}, old); err != nil {
		return err
	}
	old.APIVersion, old.Kind = v1alpha1.GroupVersion.String(), "Extension"
	obj := old.DeepCopy()
	obj.Spec.Version = *to
	obj.Generation++
	ssr, err := cs.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	user := ssr.Status.UserInfo
	rawObj, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	rawOld, err := json.Marshal(old)
	if err != nil {
		return err
	}
	rawOpts, err := json.Marshal(&metav1.UpdateOptions{TypeMeta: metav1.TypeMeta{APIVersion: "meta.k8s.io/v1", Kind: "UpdateOptions"}})
	if err != nil {
		return err
	}
	gvk := metav1.GroupVersionKind{Group: v1alpha1.Group, Version: v1alpha1.Version, Kind: "Extension"}
	gvr := metav1.GroupVersionResource{Group: v1alpha1.Group, Version: v1alpha1.Version, Resource: v1alpha1.ExtensionResource}
	ar := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID: "00000000-0000-0000-0000-00000000b13c", Kind: gvk, Resource: gvr,
			RequestKind: &gvk, RequestResource: &gvr,
			Name: obj.Name, Operation: admissionv1.Update, UserInfo: user,
			Object: runtime.RawExtension{Raw: rawObj}, OldObject: runtime.RawExtension{Raw: rawOld},
			DryRun: ptr.To(false), Options: runtime.RawExtension{Raw: rawOpts},
		},
	}

	cfg := policy.Config{}
	if *config != "" {
		if cfg, err = policy.LoadConfig(*config); err != nil {
			return err
		}
	}
	engine, err := policy.New(ctx, policy.Options{Config: cfg})
	if err != nil {
		return err
	}
	var exts v1alpha1.ExtensionList
	var typs v1alpha1.ExtensionTypeList
	if err := c.List(ctx, &exts); err != nil {
		return err
	}
	if err := c.List(ctx, &typs); err != nil {
		return err
	}
	if err := engine.ReplaceInventory(exts.Items, typs.Items); err != nil {
		return err
	}
	typ := &v1alpha1.ExtensionType{}
	if err := c.Get(ctx, types.NamespacedName{Name: obj.Spec.ExtensionType}, typ); err != nil {
		return err
	}
	ci, err := clusterInfo(cs)
	if err != nil {
		return err
	}
	in := policy.Input{
		Request: policy.Request{
			Operation: policy.OperationUpdate,
			UserInfo:  policy.UserInfo{Username: user.Username, Groups: user.Groups},
			Object:    obj, OldObject: old,
		},
		Cluster: ci,
		// The webhook asks the API server; the benchmark's user is a cluster admin,
		// who may act as any identity.
		Writer: &policy.Writer{InstallIdentity: v1alpha1.InstallIdentityOf(typ, obj).String(), MayActAsInstallIdentity: true},
	}
	d, err := engine.Evaluate(ctx, in)
	if err != nil {
		return err
	}
	if got := map[bool]string{true: "allowed", false: "denied"}[d.Allowed()]; got != *want {
		return fmt.Errorf("the engine's verdict on the review is %s, want %s (deny: %s)", got, *want, strings.Join(policy.Lines(d.Deny), "; "))
	}
	input, err := engine.InputDocument(in)
	if err != nil {
		return err
	}
	data, err := engine.DataDocument(ctx)
	if err != nil {
		return err
	}
	review, err := json.Marshal(ar)
	if err != nil {
		return err
	}
	files := map[string][]byte{
		"review.json":    review,
		"opa-input.json": append(append([]byte(`{"input":`), input...), '}'),
		"opa-data.json":  data,
	}
	for f, b := range files {
		if err := os.WriteFile(filepath.Join(*out, f), b, 0o600); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "kit review: AdmissionReview %d bytes, OPA input %d bytes, data %d bytes, %d extensions\n",
		len(review), len(input), len(data), len(exts.Items))
	return nil
}
