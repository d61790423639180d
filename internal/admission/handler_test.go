package admission

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/policy"
	"github.com/kubeext/kubectl-ext/internal/policyinput"
)

// staticInputs completes requests with a fixed cluster.
type staticInputs struct{}

func (staticInputs) Input(_ context.Context, req policy.Request) (policy.Input, error) {
	return policy.Input{Request: req, Cluster: policy.ClusterInfo{KubernetesVersion: "1.36.0", Minor: "1.36"}}, nil
}

// staticTypes has one type, which the engine's inventory holds too; the API server
// agrees with it.
type staticTypes struct{ typ *v1alpha1.ExtensionType }

func (s staticTypes) Get(_ context.Context, name string) (*v1alpha1.ExtensionType, error) {
	if name == s.typ.Name {
		return s.typ, nil
	}
	return nil, nil
}

func (s staticTypes) Fresh(ctx context.Context, name string) (*v1alpha1.ExtensionType, error) {
	return s.Get(ctx, name)
}

var (
	engineOnce sync.Once
	engine     *policy.Engine
	engineErr  error
)

func testHandler(t testing.TB) *Handler {
	t.Helper()
	engineOnce.Do(func() { engine, engineErr = policy.New(context.Background(), policy.Options{}) })
	if engineErr != nil {
		t.Fatal(engineErr)
	}
	typ := &v1alpha1.ExtensionType{
		ObjectMeta: metav1.ObjectMeta{Name: "example.podinfo"},
		Spec: v1alpha1.ExtensionTypeSpec{
			Chart:         v1alpha1.ChartSource{Repository: "https://charts.example.org", Name: "podinfo"},
			Scopes:        v1alpha1.Scopes{Default: v1alpha1.ScopeCluster, Cluster: &v1alpha1.ClusterScopeOptions{}},
			ReleaseTrains: []v1alpha1.ReleaseTrain{{Name: "Stable"}, {Name: "Preview", IncludePrerelease: true}},
		},
		Status: v1alpha1.ExtensionTypeStatus{Versions: []v1alpha1.TypeVersion{
			{Version: "1.5.0", ReleaseTrains: []string{"Stable", "Preview"}},
			{Version: "1.4.0", ReleaseTrains: []string{"Stable", "Preview"}},
		}},
	}
	if err := engine.SetExtensionType(typ); err != nil {
		t.Fatal(err)
	}
	return NewHandler(&Validator{Engine: engine, Inputs: staticInputs{}, Types: staticTypes{typ: typ}},
		NewMetrics(prometheus.NewRegistry()), logr.Discard(), 4)
}

func raw(t testing.TB, v any) runtime.RawExtension {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return runtime.RawExtension{Raw: b}
}

func ext(name string, mutate ...func(*v1alpha1.Extension)) *v1alpha1.Extension {
	e := &v1alpha1.Extension{
		TypeMeta:   metav1.TypeMeta{APIVersion: "kubeext.dev/v1alpha1", Kind: "Extension"},
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1alpha1.ExtensionSpec{
			ExtensionType: "example.podinfo",
			Scope:         v1alpha1.Scope{Cluster: &v1alpha1.ClusterScope{ReleaseNamespace: "podinfo"}},
			ReleaseTrain:  "Stable",
		},
	}
	for _, m := range mutate {
		m(e)
	}
	return e
}

func request(op admissionv1.Operation, sub string, obj, old runtime.RawExtension) admission.Request {
	return admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		UID:         "uid-1",
		Resource:    metav1.GroupVersionResource{Group: "kubeext.dev", Version: "v1alpha1", Resource: "extensions"},
		SubResource: sub,
		Name:        "podinfo",
		Operation:   op,
		UserInfo:    authenticationv1.UserInfo{Username: "alice"},
		Object:      obj,
		OldObject:   old,
	}}
}

func TestHandleBadInput(t *testing.T) {
	h := testHandler(t)
	huge := map[string]string{}
	for i := range 20000 {
		huge[fmt.Sprintf("key%d.sub[%d]", i, i%7)] = strings.Repeat("v", 40)
	}
	tests := []struct {
		name        string
		req         admission.Request
		wantAllowed bool
		wantCode    int32  // for errors
		wantMsg     string // in the denial or error
	}{
		{
			name:     "an object that is not JSON is a bad request, not a panic",
			req:      request(admissionv1.Create, "", runtime.RawExtension{Raw: []byte("{not json")}, runtime.RawExtension{}),
			wantCode: 400,
			wantMsg:  "decoding object as an Extension",
		},
		{
			name:     "an object of another kind is a bad request",
			req:      request(admissionv1.Create, "", runtime.RawExtension{Raw: []byte(`{"kind":"Pod","metadata":{"name":"x"}}`)}, runtime.RawExtension{}),
			wantCode: 400,
			wantMsg:  "is a Pod, not an Extension",
		},
		{
			name:     "an update without its old object is a bad request",
			req:      request(admissionv1.Update, "", raw(t, ext("podinfo")), runtime.RawExtension{}),
			wantCode: 400,
			wantMsg:  "carries no oldObject",
		},
		{
			name:     "a create without an object is a bad request",
			req:      request(admissionv1.Create, "", runtime.RawExtension{}, runtime.RawExtension{}),
			wantCode: 400,
			wantMsg:  "carries no object",
		},
		{
			name:    "an empty name is denied as no Helm release name",
			req:     request(admissionv1.Create, "", raw(t, ext("")), runtime.RawExtension{}),
			wantMsg: "[EXT-NAME-001]",
		},
		{
			name: "a version that is not semver is denied with the rule id",
			req: request(admissionv1.Create, "", raw(t, ext("podinfo", func(e *v1alpha1.Extension) {
				e.Spec.AutoUpgradeMinorVersion = new(bool)
				e.Spec.Version = "latest"
			})), runtime.RawExtension{}),
			wantMsg: "[EXT-VERSION-004]",
		},
		{
			name: "an unknown extension type is denied",
			req: request(admissionv1.Create, "", raw(t, ext("podinfo", func(e *v1alpha1.Extension) {
				e.Spec.ExtensionType = "nope"
			})), runtime.RawExtension{}),
			wantMsg: "[EXT-TYPE-001]",
		},
		{
			name: "twenty thousand settings are judged within the timeout",
			req: request(admissionv1.Create, "", raw(t, ext("podinfo", func(e *v1alpha1.Extension) {
				e.Spec.ConfigurationSettings = huge
			})), runtime.RawExtension{}),
			wantAllowed: true,
		},
		{
			name:     "a DELETE without the stored object is a bad request",
			req:      request(admissionv1.Delete, "", runtime.RawExtension{}, runtime.RawExtension{}),
			wantCode: 400,
			wantMsg:  "a DELETE carries no oldObject",
		},
		{
			name:        "a DELETE of the status is not judged",
			req:         request(admissionv1.Delete, "status", runtime.RawExtension{}, runtime.RawExtension{}),
			wantAllowed: true,
		},
		{
			name:        "another subresource is not judged",
			req:         request(admissionv1.Update, "scale", runtime.RawExtension{Raw: []byte("garbage")}, runtime.RawExtension{}),
			wantAllowed: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			resp := h.Handle(ctx, tt.req)
			if resp.Allowed != tt.wantAllowed {
				t.Fatalf("allowed=%v, want %v: %+v", resp.Allowed, tt.wantAllowed, resp.Result)
			}
			if tt.wantCode != 0 && resp.Result.Code != tt.wantCode {
				t.Errorf("code %d, want %d (%s)", resp.Result.Code, tt.wantCode, resp.Result.Message)
			}
			if tt.wantMsg != "" && !strings.Contains(resp.Result.Message, tt.wantMsg) {
				t.Errorf("message %q lacks %q", resp.Result.Message, tt.wantMsg)
			}
		})
	}
}

func TestHandleFormatsEveryDenialOnItsOwnLine(t *testing.T) {
	h := testHandler(t)
	obj := ext("podinfo", func(e *v1alpha1.Extension) {
		e.Spec.Version = "1.4.0" // with auto-upgrade on: EXT-VERSION-001
		e.Spec.Scope.Cluster.ReleaseNamespace = "kube-system"
	})
	resp := h.Handle(context.Background(), request(admissionv1.Create, "", raw(t, obj), runtime.RawExtension{}))
	if resp.Allowed {
		t.Fatal("want denied")
	}
	lines := strings.Split(resp.Result.Message, "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "[EXT-SCOPE-007] ") || !strings.HasPrefix(lines[1], "[EXT-VERSION-001] ") {
		t.Errorf("want one sorted [RULE-ID] line per denial, got %q", resp.Result.Message)
	}
}

// FuzzHandle feeds arbitrary objects to the input builder and the handler with the
// real policies: any input gets an answer, never a panic or a hang.
func FuzzHandle(f *testing.F) {
	good, _ := json.Marshal(ext("podinfo"))
	pinnedExt, _ := json.Marshal(ext("podinfo", func(e *v1alpha1.Extension) {
		e.Spec.AutoUpgradeMinorVersion = new(bool)
		e.Spec.Version = "1.4.0"
		e.Status.TargetVersion = "1.5.0"
		e.Status.CurrentVersion = "1.4.0"
	}))
	f.Add(good, []byte(nil), uint8(0), false)
	f.Add(pinnedExt, good, uint8(1), true)
	f.Add([]byte(`{"spec":{"scope":{"cluster":{},"namespace":{}}}}`), good, uint8(1), false)
	f.Add([]byte(`{"metadata":{"name":"x","annotations":{"kubeext.dev/upgrade-exception":""}},"spec":{"version":"1.0.0-"}}`), []byte(`{}`), uint8(1), true)
	h := testHandler(f)
	ops := []admissionv1.Operation{admissionv1.Create, admissionv1.Update, admissionv1.Delete, admissionv1.Connect}
	f.Fuzz(func(t *testing.T, obj, old []byte, op uint8, status bool) {
		sub := ""
		if status {
			sub = "status"
		}
		req := request(ops[int(op)%len(ops)], sub, runtime.RawExtension{Raw: obj}, runtime.RawExtension{Raw: old})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		resp := h.Handle(ctx, req)
		if !resp.Allowed && resp.Result == nil {
			t.Fatalf("a refusal without a reason")
		}
		if resp.Result != nil && resp.Result.Code == 500 {
			t.Fatalf("an internal error for input %q / %q: %s", obj, old, resp.Result.Message)
		}
	})
}

// TestMetricsSharedBetweenServers: a second webhook server in one process (a restart
// in a test, or two servers in one binary) shares the series instead of panicking on a
// duplicate registration, and both servers' reviews are counted.
func TestMetricsSharedBetweenServers(t *testing.T) {
	reg := prometheus.NewRegistry()
	first, second := testHandler(t), testHandler(t)
	first.Metrics, second.Metrics = NewMetrics(reg), NewMetrics(reg)
	for _, h := range []*Handler{first, second} {
		if resp := h.Handle(context.Background(), request(admissionv1.Create, "", raw(t, ext("podinfo")), runtime.RawExtension{})); !resp.Allowed {
			t.Fatalf("review denied: %v", resp.Result)
		}
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var reviews float64
	for _, mf := range mfs {
		if mf.GetName() == "kubeext_admission_reviews_total" {
			for _, m := range mf.GetMetric() {
				reviews += m.GetCounter().GetValue()
			}
		}
	}
	if reviews != 2 {
		t.Errorf("kubeext_admission_reviews_total = %v over both servers, want 2", reviews)
	}
}

// typeRequest is an admission request of an ExtensionType (sub "" or "status").
func typeRequest(op admissionv1.Operation, sub string, obj, old runtime.RawExtension) admission.Request {
	r := request(op, sub, obj, old)
	r.Resource.Resource = v1alpha1.ExtensionTypeResource
	return r
}

func extType(mutate ...func(*v1alpha1.ExtensionType)) *v1alpha1.ExtensionType {
	t := &v1alpha1.ExtensionType{
		TypeMeta:   metav1.TypeMeta{APIVersion: "kubeext.dev/v1alpha1", Kind: "ExtensionType"},
		ObjectMeta: metav1.ObjectMeta{Name: "example.podinfo"},
		Spec:       v1alpha1.ExtensionTypeSpec{Chart: v1alpha1.ChartSource{Repository: "https://charts.example.org", Name: "podinfo"}},
		Status:     v1alpha1.ExtensionTypeStatus{Versions: []v1alpha1.TypeVersion{{Version: "1.4.0", ReleaseTrains: []string{"Stable"}}}},
	}
	for _, m := range mutate {
		m(t)
	}
	return t
}

// TestHandleRoutesExtensionTypes: writes of extensiontypes go to the type rules, with
// the type decoded as a type (not an Extension), spec and status alike.
func TestHandleRoutesExtensionTypes(t *testing.T) {
	h := testHandler(t)
	httpRepo := func(et *v1alpha1.ExtensionType) { et.Spec.Chart.Repository = "http://charts.example.org" }
	tests := []struct {
		name        string
		req         admission.Request
		wantAllowed bool
		wantCode    int32
		wantMsg     string
	}{
		{name: "a valid type is allowed", req: typeRequest(admissionv1.Create, "", raw(t, extType()), runtime.RawExtension{}), wantAllowed: true},
		{
			name:    "an http repository is denied with the type rule's id",
			req:     typeRequest(admissionv1.Create, "", raw(t, extType(httpRepo)), runtime.RawExtension{}),
			wantMsg: "[EXT-TYPEDEF-001]",
		},
		{
			name: "the default trains are spelled out: a catalog naming Preview on a type that names no train is allowed",
			req: typeRequest(admissionv1.Update, "status", raw(t, extType(func(et *v1alpha1.ExtensionType) {
				et.Status.Versions[0].ReleaseTrains = []string{"Preview"}
			})), raw(t, extType())),
			wantAllowed: true,
		},
		{
			name: "a status write naming an unknown train is denied",
			req: typeRequest(admissionv1.Update, "status", raw(t, extType(func(et *v1alpha1.ExtensionType) {
				et.Status.Versions[0].ReleaseTrains = []string{"Nightly"}
			})), raw(t, extType())),
			wantMsg: "[EXT-TYPEDEF-003]",
		},
		{
			name:     "an Extension sent as a type is a bad request",
			req:      typeRequest(admissionv1.Create, "", raw(t, ext("podinfo")), runtime.RawExtension{}),
			wantCode: 400,
			wantMsg:  "is a Extension, not an ExtensionType",
		},
		{
			name:     "a type update without its old object is a bad request",
			req:      typeRequest(admissionv1.Update, "", raw(t, extType()), runtime.RawExtension{}),
			wantCode: 400,
			wantMsg:  "carries no oldObject",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := h.Handle(context.Background(), tt.req)
			if resp.Allowed != tt.wantAllowed {
				t.Fatalf("allowed=%v, want %v: %+v", resp.Allowed, tt.wantAllowed, resp.Result)
			}
			if tt.wantCode != 0 && resp.Result.Code != tt.wantCode {
				t.Errorf("code %d, want %d (%s)", resp.Result.Code, tt.wantCode, resp.Result.Message)
			}
			if tt.wantMsg != "" && !strings.Contains(resp.Result.Message, tt.wantMsg) {
				t.Errorf("message %q lacks %q", resp.Result.Message, tt.wantMsg)
			}
		})
	}
}

// TestValidatorJudgesARefusalAgainstTheAPIServersType: a refusal judged with the
// inventory's copy of the type (missing, or stale) is judged again with the API
// server's; an allowed write reads nothing more. The inventory keeps what its feeder
// (the informers) gave it: a copy read for one review never replaces it.
func TestValidatorJudgesARefusalAgainstTheAPIServersType(t *testing.T) {
	typ := func() *v1alpha1.ExtensionType {
		return &v1alpha1.ExtensionType{
			ObjectMeta: metav1.ObjectMeta{Name: "example.podinfo"},
			Spec: v1alpha1.ExtensionTypeSpec{
				Chart:  v1alpha1.ChartSource{Repository: "https://charts.example.org", Name: "podinfo"},
				Scopes: v1alpha1.Scopes{Default: v1alpha1.ScopeCluster, Cluster: &v1alpha1.ClusterScopeOptions{}},
			},
			Status: v1alpha1.ExtensionTypeStatus{Versions: []v1alpha1.TypeVersion{{Version: "1.4.0"}, {Version: "1.5.0"}}},
		}
	}
	tests := []struct {
		name string
		// cached and api are the type as the informers and the API server have it
		// (nil: none); version is the extension's pinned version.
		cached, api *v1alpha1.ExtensionType
		version     string
		wantDeny    string // a rule id, "" for allowed
		wantReads   int    // reads of the API server
	}{
		{name: "a type the informers have not seen yet", api: typ(), version: "1.5.0", wantReads: 1},
		{name: "a version synced after the informers' copy", cached: func() *v1alpha1.ExtensionType {
			t := typ()
			t.Status.Versions = t.Status.Versions[:1]
			t.ResourceVersion = "7"
			return t
		}(), api: func() *v1alpha1.ExtensionType {
			t := typ()
			t.ResourceVersion = "8"
			return t
		}(), version: "1.5.0", wantReads: 1},
		{name: "a type that exists nowhere is refused", version: "1.5.0", wantDeny: "EXT-TYPE-001", wantReads: 1},
		{name: "a version missing everywhere is refused", cached: typ(), api: typ(), version: "9.9.9", wantDeny: "EXT-VERSION-005", wantReads: 1},
		{name: "an allowed write reads nothing more", cached: typ(), api: typ(), version: "1.4.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := policy.New(context.Background(), policy.Options{})
			if err != nil {
				t.Fatal(err)
			}
			s := runtime.NewScheme()
			if err := v1alpha1.AddToScheme(s); err != nil {
				t.Fatal(err)
			}
			build := func(t *v1alpha1.ExtensionType) client.Client {
				b := fake.NewClientBuilder().WithScheme(s)
				if t != nil {
					b = b.WithObjects(t)
				}
				return b.Build()
			}
			cache := build(tt.cached)
			if tt.cached != nil {
				if err := e.SetExtensionType(tt.cached); err != nil {
					t.Fatal(err)
				}
			}
			reads := 0
			api := interceptor.NewClient(build(tt.api).(client.WithWatch), interceptor.Funcs{
				Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
					reads++
					return c.Get(ctx, key, obj, opts...)
				},
			})
			v := &Validator{Engine: e, Inputs: staticInputs{}, Types: policyinput.Types{Cache: cache, API: api}}
			before, err := e.DataDocument(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			obj := ext("podinfo", func(x *v1alpha1.Extension) {
				x.Spec.AutoUpgradeMinorVersion = ptr.To(false)
				x.Spec.Version = tt.version
			})
			d, err := v.Validate(context.Background(), request(admissionv1.Create, "", raw(t, obj), runtime.RawExtension{}).AdmissionRequest)
			if err != nil {
				t.Fatal(err)
			}
			var denied []string
			for _, r := range d.Deny {
				denied = append(denied, r.ID)
			}
			if got := strings.Join(denied, ","); got != tt.wantDeny || reads != tt.wantReads {
				t.Fatalf("denied by %q after %d API reads, want %q after %d (%v)", got, reads, tt.wantDeny, tt.wantReads, d.Deny)
			}
			if after, err := e.DataDocument(context.Background()); err != nil || string(after) != string(before) {
				t.Errorf("the review changed the inventory (%v):\nbefore %s\nafter  %s", err, before, after)
			}
		})
	}
}
