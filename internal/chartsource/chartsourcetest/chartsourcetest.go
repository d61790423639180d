// Package chartsourcetest builds small Helm charts and serves them from Helm's
// own test servers on loopback (helm.sh/helm/v3/pkg/repo/repotest), for the
// tests of chartsource and of the commands that install charts.
//
// A typical test:
//
//	dir := chartsourcetest.Charts(t, chartsourcetest.Podinfo())
//	httpURL := chartsourcetest.ServeHTTP(t, dir)        // https-style chart repository
//	ociRepo, regConfig := chartsourcetest.ServeOCI(t, dir) // oci://localhost:port/charts
//	fileURL := "file://" + dir                            // a directory of archives
//
// Every chart renders a ConfigMap and a Deployment named after the release,
// from these values: replicaCount (1), message ("hello from <chart>"), image
// (registry.k8s.io/pause:3.10) and fail (false). The ConfigMap holds message,
// the chart version and all values as JSON under "values.json", so a test can
// see which settings reached the release. With fail true, rendering stops with
// an error, which makes an install or upgrade fail.
//
// Two more values, absent from the defaults, serve the tests on a cluster whose
// pods become Ready (testenv.Options.Ready):
//   - nodeSelector: the Deployment's pods' nodeSelector (a mapping; a null entry
//     is left out); one no node matches keeps the pods Pending, so the Deployment
//     never becomes ready.
//   - hook: Helm hook events (e.g. "pre-install,pre-upgrade"); the chart then has a
//     hook Job named <release>-hook (in templates/deployment.yaml). With hookFails
//     true its pod carries FailingPodLabel, which the Ready cluster's kwok fails:
//     the hook fails.
package chartsourcetest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/registry"
	"helm.sh/helm/v3/pkg/repo"
	"helm.sh/helm/v3/pkg/repo/repotest"
	"sigs.k8s.io/yaml"
)

// Spec describes one chart version to build.
type Spec struct {
	// Name of the chart; empty means "podinfo".
	Name string
	// Version is the chart version (semver).
	Version string
	// AppVersion and KubeVersion go to Chart.yaml when set.
	AppVersion  string
	KubeVersion string
	// Values override the chart's default values (see the package documentation).
	Values map[string]interface{}
	// Schema, when set, is the chart's values.schema.json (see PodinfoSchema).
	Schema string
}

// KubeVersionUnsatisfiable is the kubeVersion of Podinfo's 1.6.0: no cluster of
// these tests satisfies it.
const KubeVersionUnsatisfiable = ">=1.99.0-0"

// Podinfo returns the standard versions of the podinfo test chart: 1.4.0, 1.4.1,
// 1.5.0-rc.1, 1.5.0, 1.6.0 (whose kubeVersion no test cluster satisfies) and 2.0.0.
func Podinfo() []Spec {
	return []Spec{
		{Version: "1.4.0", AppVersion: "6.4.0", KubeVersion: ">=1.25.0-0"},
		{Version: "1.4.1", AppVersion: "6.4.1", KubeVersion: ">=1.25.0-0"},
		{Version: "1.5.0-rc.1", AppVersion: "6.5.0-rc.1", KubeVersion: ">=1.25.0-0"},
		{Version: "1.5.0", AppVersion: "6.5.0", KubeVersion: ">=1.25.0-0"},
		{Version: "1.6.0", AppVersion: "6.6.0", KubeVersion: KubeVersionUnsatisfiable},
		{Version: "2.0.0", AppVersion: "7.0.0"},
	}
}

const configMapTemplate = `{{- if .Values.fail }}
{{- fail (printf "chart %s %s was told to fail: values.fail is true" .Chart.Name .Chart.Version) }}
{{- end }}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}
  labels:
    app.kubernetes.io/name: {{ .Chart.Name }}
    app.kubernetes.io/instance: {{ .Release.Name }}
    app.kubernetes.io/version: {{ .Chart.Version | quote }}
data:
  message: {{ .Values.message | quote }}
  chartVersion: {{ .Chart.Version | quote }}
  values.json: {{ toJson .Values | quote }}
`

const deploymentTemplate = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
  labels:
    app.kubernetes.io/name: {{ .Chart.Name }}
    app.kubernetes.io/instance: {{ .Release.Name }}
    app.kubernetes.io/version: {{ .Chart.Version | quote }}
spec:
  replicas: {{ .Values.replicaCount }}
  selector:
    matchLabels:
      app.kubernetes.io/instance: {{ .Release.Name }}
  template:
    metadata:
      labels:
        app.kubernetes.io/instance: {{ .Release.Name }}
    spec:
      {{- with .Values.nodeSelector }}
      nodeSelector:
        {{- range $k, $v := . }}
        {{- if not (kindIs "invalid" $v) }}
        {{ $k }}: {{ $v | toString | quote }}
        {{- end }}
        {{- end }}
      {{- end }}
      containers:
      - name: {{ .Chart.Name }}
        image: {{ .Values.image | quote }}
        env:
        - name: MESSAGE
          valueFrom:
            configMapKeyRef:
              name: {{ .Release.Name }}
              key: message
`

// FailingPodLabel is testenv.PodFailsLabel (not imported: this package stays free of
// the control plane's dependencies): a Ready cluster's kwok fails a pod that has it.
const FailingPodLabel = "testenv.kubeext.dev/fail"

// hookTemplate is the hook Job of the hook value. It is deleted before the next one
// is created (Helm's default), so a failed hook stays to be looked at until then. It
// is a second document of templates/deployment.yaml (Helm tells hooks from the
// release's objects document by document), so the chart keeps the two templates the
// tests of chart sources count; without hook it renders nothing, not even a newline,
// so the Deployment's document stays as it was.
const hookTemplate = `{{- if .Values.hook }}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ .Release.Name }}-hook
  labels:
    app.kubernetes.io/instance: {{ .Release.Name }}
  annotations:
    helm.sh/hook: {{ .Values.hook | quote }}
    helm.sh/hook-delete-policy: before-hook-creation
spec:
  backoffLimit: 0
  template:
    metadata:
      labels:
        app.kubernetes.io/component: hook
        {{- if .Values.hookFails }}
        ` + FailingPodLabel + `: "true"
        {{- end }}
    spec:
      restartPolicy: Never
      containers:
      - name: hook
        image: {{ .Values.image | quote }}
{{- end }}
`

// Chart builds the chart of spec in memory.
func Chart(spec Spec) (*chart.Chart, error) {
	name := spec.Name
	if name == "" {
		name = "podinfo"
	}
	values := map[string]interface{}{
		"replicaCount": 1,
		"message":      "hello from " + name,
		"image":        "registry.k8s.io/pause:3.10",
		"fail":         false,
	}
	for k, v := range spec.Values {
		values[k] = v
	}
	raw, err := yaml.Marshal(values)
	if err != nil {
		return nil, err
	}
	// Read the values back so that they have the types Helm's loader gives.
	loaded, err := chartutil.ReadValues(raw)
	if err != nil {
		return nil, err
	}
	return &chart.Chart{
		Metadata: &chart.Metadata{
			APIVersion:  chart.APIVersionV2,
			Name:        name,
			Version:     spec.Version,
			AppVersion:  spec.AppVersion,
			KubeVersion: spec.KubeVersion,
			Description: "A test chart of kubectl-ext",
			Type:        "application",
		},
		Templates: []*chart.File{
			{Name: "templates/configmap.yaml", Data: []byte(configMapTemplate)},
			{Name: "templates/deployment.yaml", Data: []byte(deploymentTemplate + hookTemplate)},
		},
		Values: loaded,
		Raw:    []*chart.File{{Name: chartutil.ValuesfileName, Data: raw}},
		Schema: schemaBytes(spec.Schema),
	}, nil
}

// Charts packages the charts of specs into a new temporary directory, as
// <name>-<version>.tgz, and returns the directory.
func Charts(t testing.TB, specs []Spec) string {
	t.Helper()
	dir := t.TempDir()
	for _, spec := range specs {
		ch, err := Chart(spec)
		if err != nil {
			t.Fatalf("building chart %s %s: %v", spec.Name, spec.Version, err)
		}
		if _, err := chartutil.Save(ch, dir); err != nil {
			t.Fatalf("packaging chart %s %s: %v", ch.Name(), spec.Version, err)
		}
	}
	return dir
}

// WriteIndex writes dir's index.yaml for its chart archives, each downloaded from
// baseURL: for a test's own repository server, which serves dir its own way.
func WriteIndex(t testing.TB, dir, baseURL string) {
	t.Helper()
	idx, err := repo.IndexDirectory(dir, baseURL)
	if err != nil {
		t.Fatal(err)
	}
	if err := idx.WriteFile(filepath.Join(dir, "index.yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Archives returns the chart archives (*.tgz) of dir.
func Archives(t testing.TB, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.tgz"))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// ServeHTTP serves the chart archives of dir as a Helm chart repository (with
// an index.yaml) on loopback until the test ends, and returns its URL.
func ServeHTTP(t *testing.T, dir string) string {
	t.Helper()
	srv, err := repotest.NewTempServerWithCleanup(t, filepath.Join(dir, "*.tgz"))
	if err != nil {
		t.Fatalf("starting the chart repository: %v", err)
	}
	t.Cleanup(srv.Stop)
	return srv.URL()
}

// ServeOCI pushes the chart archives of dir to a new OCI registry (Helm's test
// registry, with basic auth, on loopback) that lives until the test ends. It
// returns the repository to use as spec.chart.repository, oci://localhost:<port>/charts,
// where each chart is at .../charts/<name>, and a registry config file (Docker
// config.json format) holding the registry's credentials. Clients must use
// plain HTTP.
func ServeOCI(t *testing.T, dir string) (repository, registryConfig string) {
	t.Helper()
	srvDir := t.TempDir()
	quietRegistry()
	srv, err := repotest.NewOCIServer(t, srvDir)
	if err != nil {
		t.Fatalf("creating the OCI registry: %v", err)
	}
	go func() { _ = srv.ListenAndServe() }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	waitForListener(t, srv.RegistryURL)

	registryConfig = filepath.Join(srvDir, "registry-config.json")
	auth := base64.StdEncoding.EncodeToString([]byte(srv.TestUsername + ":" + srv.TestPassword))
	cfg, err := json.Marshal(map[string]interface{}{
		"auths": map[string]interface{}{srv.RegistryURL: map[string]string{"auth": auth}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(registryConfig, cfg, 0o600); err != nil {
		t.Fatal(err)
	}

	client, err := registry.NewClient(
		registry.ClientOptWriter(io.Discard),
		registry.ClientOptEnableCache(true),
		registry.ClientOptCredentialsFile(registryConfig),
		registry.ClientOptBasicAuth(srv.TestUsername, srv.TestPassword),
		registry.ClientOptPlainHTTP(),
	)
	if err != nil {
		t.Fatalf("creating a registry client: %v", err)
	}
	repository = srv.RegistryURL + "/charts"
	// Push a few at a time: the registry checks a bcrypt password per request.
	archives := Archives(t, dir)
	errs := make([]error, len(archives))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i, archive := range archives {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = push(client, repository, archive)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return "oci://" + repository, registryConfig
}

// push pushes one chart archive to repository/<name>:<version>.
func push(client *registry.Client, repository, archive string) error {
	data, err := os.ReadFile(archive)
	if err != nil {
		return err
	}
	ch, err := loader.LoadArchive(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("loading %s: %w", archive, err)
	}
	ref := fmt.Sprintf("%s/%s:%s", repository, ch.Name(), strings.ReplaceAll(ch.Metadata.Version, "+", "_"))
	if _, err := client.Push(data, ref); err != nil {
		return fmt.Errorf("pushing %s to %s: %w", archive, ref, err)
	}
	return nil
}

// quietRegistry silences what the registry (github.com/distribution/distribution)
// writes besides its access log: its logrus logging, and OpenTelemetry traces
// it would send to localhost:4318 unless OTEL_TRACES_EXPORTER says otherwise.
// Both are process-wide, which suits a test binary.
func quietRegistry() {
	logrus.SetOutput(io.Discard)
	if os.Getenv("OTEL_TRACES_EXPORTER") == "" {
		_ = os.Setenv("OTEL_TRACES_EXPORTER", "none")
	}
}

// waitForListener waits until addr accepts connections.
func waitForListener(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the OCI registry at %s did not start: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
