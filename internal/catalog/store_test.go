package catalog_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/chart"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/catalog"
	"github.com/kubeext/kubectl-ext/internal/chartsource"
)

// source is a chart source with fixed versions, counting its reads.
type source struct {
	versions []chartsource.ChartVersion
	err      error
	reads    int
}

func (s *source) Versions(context.Context) ([]chartsource.ChartVersion, error) {
	s.reads++
	return s.versions, s.err
}

func (s *source) Load(context.Context, string) (*chart.Chart, error) {
	return nil, errors.New("not used by the catalog")
}

var syncTime = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

func newScheme(t *testing.T) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	return s
}

func podinfoType() *v1alpha1.ExtensionType {
	return &v1alpha1.ExtensionType{
		ObjectMeta: metav1.ObjectMeta{Name: "example.podinfo"},
		Spec: v1alpha1.ExtensionTypeSpec{
			Chart: v1alpha1.ChartSource{Repository: "https://charts.example.org", Name: "podinfo"},
		},
	}
}

func newCatalog(t *testing.T, src *source, funcs interceptor.Funcs, objs ...client.Object) (*catalog.Catalog, client.Client, *bytes.Buffer) {
	t.Helper()
	c := fake.NewClientBuilder().WithScheme(newScheme(t)).
		WithStatusSubresource(&v1alpha1.ExtensionType{}).
		WithObjects(objs...).WithInterceptorFuncs(funcs).Build()
	var progress bytes.Buffer
	return &catalog.Catalog{
		Client:   c,
		Charts:   func(v1alpha1.ChartSource) (chartsource.Source, error) { return src, nil },
		Progress: &progress,
		Now:      func() time.Time { return syncTime },
	}, c, &progress
}

func TestGet(t *testing.T) {
	agent, zeta := podinfoType(), podinfoType()
	agent.Name, zeta.Name = "example.agent", "example.zeta"
	tests := []struct {
		name    string
		objs    []client.Object
		funcs   interceptor.Funcs
		want    string
		wantErr string
		// notFound: the error is a *TypeNotFoundError.
		notFound bool
	}{
		{name: "an existing type is returned", objs: []client.Object{podinfoType()}, want: "example.podinfo"},
		{name: "a missing type names the known ones, sorted", objs: []client.Object{zeta, agent}, wantErr: `extension type "example.podinfo" does not exist (known types: example.agent, example.zeta)`, notFound: true},
		{name: "a missing type in an empty catalog says how to add one", wantErr: "(known types: none; add one with `kubectl ext type add` or `kubectl ext init`)", notFound: true},
		{
			name: "a missing type whose neighbours cannot be listed says only that it does not exist",
			funcs: interceptor.Funcs{List: func(context.Context, client.WithWatch, client.ObjectList, ...client.ListOption) error {
				return errors.New("list refused")
			}},
			wantErr:  `extension type "example.podinfo" does not exist`,
			notFound: true,
		},
		{
			name: "another API error goes through Explain",
			funcs: interceptor.Funcs{Get: func(context.Context, client.WithWatch, client.ObjectKey, client.Object, ...client.GetOption) error {
				return apierrors.NewForbidden(schema.GroupResource{Group: "kubeext.dev", Resource: "extensiontypes"}, "example.podinfo", errors.New("no"))
			}},
			wantErr: "explained get extensiontypes.kubeext.dev",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cat, _, _ := newCatalog(t, &source{}, tt.funcs, tt.objs...)
			cat.Explain = func(err error, verb, resource string) error {
				return errors.New("explained " + verb + " " + resource + ": " + err.Error())
			}
			got, err := cat.Get(context.Background(), "example.podinfo")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				if catalog.IsTypeNotFound(err) != tt.notFound {
					t.Errorf("IsTypeNotFound(%v) = %v", err, catalog.IsTypeNotFound(err))
				}
				return
			}
			if err != nil || got.Name != tt.want {
				t.Fatalf("Get = %v, %v; want %s", got, err, tt.want)
			}
		})
	}
}

func TestSync(t *testing.T) {
	versions := []chartsource.ChartVersion{{Version: "1.5.0-rc.1", Prerelease: true}, {Version: "1.4.0", KubeVersion: ">=1.25.0-0"}}
	tests := []struct {
		name string
		src  *source
		// conflicts is how many status writes another writer beats (it labels the type
		// first, so the stored resourceVersion really moves).
		conflicts   int
		wantErr     string
		wantSynced  metav1.ConditionStatus
		wantLabel   bool
		wantVersion []string
	}{
		{name: "the source's versions are written with their trains and the time", src: &source{versions: versions},
			wantSynced: metav1.ConditionTrue, wantVersion: []string{"1.5.0-rc.1", "1.4.0"}},
		{name: "a write that loses to another writer is retried on the type read again", src: &source{versions: versions}, conflicts: 1,
			wantSynced: metav1.ConditionTrue, wantLabel: true, wantVersion: []string{"1.5.0-rc.1", "1.4.0"}},
		{name: "an unreadable source is recorded as Synced=False and returned", src: &source{err: errors.New("index.yaml: 404")},
			wantErr: "reading the versions of extension type example.podinfo from https://charts.example.org: index.yaml: 404", wantSynced: metav1.ConditionFalse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			left := tt.conflicts
			funcs := interceptor.Funcs{SubResourceUpdate: func(ctx context.Context, c client.Client, sub string, obj client.Object, opts ...client.SubResourceUpdateOption) error {
				if left > 0 {
					left--
					fresh := &v1alpha1.ExtensionType{}
					if err := c.Get(ctx, client.ObjectKeyFromObject(obj), fresh); err != nil {
						return err
					}
					fresh.Labels = map[string]string{"edited": "meanwhile"}
					if err := c.Update(ctx, fresh); err != nil {
						return err
					}
				}
				return c.SubResource(sub).Update(ctx, obj, opts...)
			}}
			cat, c, _ := newCatalog(t, tt.src, funcs, podinfoType())
			typ, err := cat.Get(context.Background(), "example.podinfo")
			if err != nil {
				t.Fatal(err)
			}
			err = cat.Sync(context.Background(), typ)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if tt.src.reads != 1 {
				t.Errorf("the source was read %d times, want once whatever the retries", tt.src.reads)
			}
			stored := &v1alpha1.ExtensionType{}
			if err := c.Get(context.Background(), client.ObjectKeyFromObject(typ), stored); err != nil {
				t.Fatal(err)
			}
			if got := catalog.Names(stored.Status.Versions); strings.Join(got, ",") != strings.Join(tt.wantVersion, ",") {
				t.Errorf("stored versions = %v, want %v", got, tt.wantVersion)
			}
			if cond := meta.FindStatusCondition(stored.Status.Conditions, "Synced"); cond == nil || cond.Status != tt.wantSynced {
				t.Errorf("Synced condition = %+v, want status %s", cond, tt.wantSynced)
			}
			if tt.wantSynced == metav1.ConditionTrue && (stored.Status.SyncedAt == nil || !stored.Status.SyncedAt.Time.Equal(syncTime)) {
				t.Errorf("syncedAt = %v, want %v", stored.Status.SyncedAt, syncTime)
			}
			if (stored.Labels["edited"] == "meanwhile") != tt.wantLabel || (typ.Labels["edited"] == "meanwhile") != tt.wantLabel {
				t.Errorf("labels stored %v, returned %v; the other writer's label kept: %v", stored.Labels, typ.Labels, tt.wantLabel)
			}
			if tt.wantVersion != nil && len(typ.Status.Versions) == 0 {
				t.Error("the caller's type was not updated with the versions")
			}
		})
	}
}

func TestEnsureSynced(t *testing.T) {
	synced := metav1.NewTime(syncTime.Add(-time.Hour))
	tests := []struct {
		name      string
		status    v1alpha1.ExtensionTypeStatus
		wantReads int
	}{
		{name: "a type never read is synced, saying so", wantReads: 1},
		{name: "a type with versions is left as last read", status: v1alpha1.ExtensionTypeStatus{Versions: []v1alpha1.TypeVersion{{Version: "1.0.0"}}}},
		{name: "a type whose last sync found no versions is not read again", status: v1alpha1.ExtensionTypeStatus{SyncedAt: &synced}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			typ := podinfoType()
			typ.Status = tt.status
			src := &source{versions: []chartsource.ChartVersion{{Version: "1.4.0"}}}
			cat, _, progress := newCatalog(t, src, interceptor.Funcs{}, typ)
			if err := cat.EnsureSynced(context.Background(), typ); err != nil {
				t.Fatal(err)
			}
			if src.reads != tt.wantReads {
				t.Errorf("source read %d times, want %d", src.reads, tt.wantReads)
			}
			said := strings.Contains(progress.String(), "Reading the versions of extension type example.podinfo from https://charts.example.org")
			if said != (tt.wantReads > 0) {
				t.Errorf("progress %q: announced a read = %v, want %v", progress.String(), said, tt.wantReads > 0)
			}
		})
	}
}
