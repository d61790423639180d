package catalog_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/catalog"
	"github.com/kubeext/kubectl-ext/internal/chartsource"
)

// typeAt is a type whose chart lives at repository.
func typeAt(name, repository string) *v1alpha1.ExtensionType {
	return &v1alpha1.ExtensionType{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       v1alpha1.ExtensionTypeSpec{Chart: v1alpha1.ChartSource{Repository: repository, Name: "chart"}},
	}
}

// TestSyncAll covers syncing named types or all of them: one line per type in order,
// a failure not stopping the others, names synced once, and the summary error.
func TestSyncAll(t *testing.T) {
	good := &source{versions: []chartsource.ChartVersion{{Version: "1.0.0"}}}
	objs := func() []client.Object {
		return []client.Object{typeAt("b.good", "https://good"), typeAt("a.bad", "https://bad"), typeAt("c.good", "https://good")}
	}
	tests := []struct {
		name     string
		objs     []client.Object
		names    []string
		all      bool
		listErr  error
		want     []string // each result's line
		wantErr  string
		wantNone bool
	}{
		{name: "all types, sorted, one failing",
			objs: objs(), all: true,
			want: []string{
				"a.bad: failed: reading the versions of extension type a.bad from https://bad: unreachable",
				"b.good: 1 versions of chart chart (newest 1.0.0) from https://good",
				"c.good: 1 versions of chart chart (newest 1.0.0) from https://good",
			},
			wantErr: "1 of 3 extension types could not be synced"},
		{name: "named types, once each, an unknown one reported first",
			objs: objs(), names: []string{"c.good", "nope", "c.good"},
			want: []string{
				`nope: failed: extension type "nope" does not exist (known types: a.bad, b.good, c.good)`,
				"c.good: 1 versions of chart chart (newest 1.0.0) from https://good",
			},
			wantErr: "1 of 2 extension types could not be synced"},
		{name: "every named type synced", objs: objs(), names: []string{"b.good"},
			want: []string{"b.good: 1 versions of chart chart (newest 1.0.0) from https://good"}},
		{name: "all of an empty catalog: no results, no error", all: true, wantNone: true},
		{name: "a listing that fails: no results, its error", all: true, listErr: errors.New("connection refused"),
			wantNone: true, wantErr: "connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			funcs := interceptor.Funcs{List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
				if tt.listErr != nil {
					return tt.listErr
				}
				return c.List(ctx, list, opts...)
			}}
			cat, _, _ := newCatalog(t, good, funcs, tt.objs...)
			cat.Charts = func(s v1alpha1.ChartSource) (chartsource.Source, error) {
				if s.Repository == "https://bad" {
					return &source{err: errors.New("unreachable")}, nil
				}
				return good, nil
			}
			results, err := cat.SyncAll(context.Background(), tt.names, tt.all)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("got error %v, want %q", err, tt.wantErr)
			}
			if tt.wantNone != (len(results) == 0) {
				t.Fatalf("results %v", results)
			}
			var lines []string
			for _, r := range results {
				lines = append(lines, fmt.Sprint(r))
				if (r.Err == nil) != (r.Type != nil && len(r.Type.Status.Versions) == 1) {
					t.Errorf("%s: error %v but type %+v", r.Name, r.Err, r.Type)
				}
			}
			if strings.Join(lines, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("lines\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// TestListVersions covers the selection of `type versions`: a wrong type or train
// fails before the cluster is asked, a type never synced is synced, and the rows are
// those of SelectVersions for the cluster's version.
func TestListVersions(t *testing.T) {
	src := &source{versions: []chartsource.ChartVersion{
		{Version: "1.0.0", KubeVersion: ">=1.20.0-0"}, {Version: "1.1.0", KubeVersion: ">=1.40.0-0"}, {Version: "1.2.0-rc.1", Prerelease: true},
	}}
	tests := []struct {
		name      string
		req       catalog.VersionsRequest
		kubeErr   error
		want      []string
		wantTrain string
		wantErr   string
		wantAsked bool
	}{
		{name: "Stable by default, the versions the cluster can run",
			req: catalog.VersionsRequest{Type: "example.podinfo", Major: -1}, wantTrain: "Stable", want: []string{"1.0.0"}, wantAsked: true},
		{name: "all on Preview, with the excluded ones",
			req:       catalog.VersionsRequest{Type: "example.podinfo", Train: "preview", Major: -1, All: true},
			wantTrain: "Preview", want: []string{"1.2.0-rc.1", "1.1.0 (chart requires Kubernetes >=1.40.0-0)", "1.0.0"}, wantAsked: true},
		{name: "an unknown type fails before the cluster is asked",
			req: catalog.VersionsRequest{Type: "nope", Major: -1}, wantErr: `extension type "nope" does not exist`},
		{name: "an unknown train fails before the cluster is asked",
			req: catalog.VersionsRequest{Type: "example.podinfo", Train: "Fast", Major: -1}, wantErr: `has no release train "Fast"`},
		{name: "the cluster's version that cannot be read",
			req: catalog.VersionsRequest{Type: "example.podinfo", Major: -1}, kubeErr: errors.New("forbidden"), wantErr: "forbidden", wantAsked: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cat, _, _ := newCatalog(t, src, interceptor.Funcs{}, podinfoType())
			asked := false
			tt.req.KubeVersion = func(context.Context) (string, error) {
				asked = true
				return "1.35.0", tt.kubeErr
			}
			res, err := cat.ListVersions(context.Background(), tt.req)
			if asked != tt.wantAsked {
				t.Errorf("cluster asked %v, want %v", asked, tt.wantAsked)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range res.Rows {
				s := r.Version
				if r.Excluded {
					s += " (" + r.Reason + ")"
				}
				got = append(got, s)
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") || res.Train != tt.wantTrain || res.KubeVersion != "1.35.0" {
				t.Errorf("rows %v train %s kube %s, want %v on %s", got, res.Train, res.KubeVersion, tt.want, tt.wantTrain)
			}
			if catalog.NeverSynced(res.Type) {
				t.Error("the type was not synced")
			}
		})
	}
}
