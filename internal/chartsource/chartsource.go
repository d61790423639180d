// Package chartsource reads the versions and charts of an ExtensionType's
// spec.chart from wherever it lives: a Helm chart repository (https:// or
// http://, with an index.yaml), an OCI registry (oci://) or the local disk
// (file://). It uses Helm's own packages (pkg/repo, pkg/getter, pkg/registry,
// pkg/chart/loader) for all of them.
//
// Repository forms:
//
//   - https://host/path, http://host/path: a chart repository; the index is
//     read from <url>/index.yaml (a trailing /index.yaml is accepted too).
//   - oci://host[:port]/path: a registry repository; the chart lives at
//     host/path/<name>, or at host/path itself when its last element is the
//     chart's name. Versions are the repository's semver tags ('_' standing
//     for '+'); each tag's kubeVersion and appVersion are read from the OCI
//     config blob (the chart's Chart.yaml) without pulling the chart layer.
//   - file://<path>: the rest of the URL is a local path (file:///abs/dir is
//     absolute, file://rel/dir relative to the working directory). It may be a
//     chart archive, a chart directory, a directory holding index.yaml with
//     its archives, a directory holding a chart directory named like the
//     chart, or a directory of chart archives.
//
// Sources report progress, one line per long step, to Options.Progress, and
// keep downloaded archives and OCI metadata in Options.CacheDir, keyed by URL
// and digest.
package chartsource

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
	"helm.sh/helm/v3/pkg/chart"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
)

// ChartVersion is one version of a chart as its source describes it.
type ChartVersion struct {
	Version     string
	KubeVersion string
	AppVersion  string
	Prerelease  bool
}

// Source reads the versions and charts of one chart. Implementations are safe
// for concurrent use.
type Source interface {
	// Versions lists the chart's versions, newest first by semver. Versions
	// that are not strict semver are skipped, except that a leading "v" is
	// dropped: cert-manager's v1.16.0 is listed as 1.16.0.
	Versions(ctx context.Context) ([]ChartVersion, error)
	// Load returns the chart of one version, given as Versions lists it (or
	// with the chart's own leading "v"). The chart keeps its own version.
	Load(ctx context.Context, version string) (*chart.Chart, error)
}

// Options tune how a source reaches its repository.
type Options struct {
	// Progress receives one line per long step (reading an index, pulling a
	// chart). Nil discards them.
	Progress io.Writer
	// CacheDir keeps downloaded chart archives and OCI metadata between
	// sources, keyed by URL and digest. Empty means no cache on disk.
	CacheDir string
	// PlainHTTP talks to an OCI registry over http:// (a registry on loopback).
	PlainHTTP bool
	// InsecureSkipTLSVerify skips verifying the repository's certificate.
	InsecureSkipTLSVerify bool
	// CAFile is a PEM bundle of the certificate authorities to trust for the
	// repository instead of the system's.
	CAFile string
	// RegistryConfig is the OCI credentials file (Helm's registry config,
	// Docker's config.json format). Empty uses Helm's default location.
	RegistryConfig string
	// HTTPTimeout bounds each HTTP request; zero means two minutes.
	HTTPTimeout time.Duration
}

const defaultHTTPTimeout = 2 * time.Minute

func (o Options) withDefaults() Options {
	if o.HTTPTimeout <= 0 {
		o.HTTPTimeout = defaultHTTPTimeout
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	return o
}

// Errors a caller can test with errors.Is. The messages of the returned
// errors say what the user can do.
var (
	// ErrUnsupportedScheme: the repository is not https://, http://, oci:// or file://.
	ErrUnsupportedScheme = errors.New("unsupported chart repository scheme")
	// ErrUnreachable: the repository could not be read (network, TLS, missing index).
	ErrUnreachable = errors.New("chart repository unreachable")
	// ErrAccessDenied: the registry refused the credentials, or there were none.
	ErrAccessDenied = errors.New("access to chart repository denied")
	// ErrChartNotFound: the repository has no chart of that name.
	ErrChartNotFound = errors.New("chart not found")
	// ErrVersionNotFound: the chart has no such version.
	ErrVersionNotFound = errors.New("chart version not found")
)

// sourceError carries one of the errors above as its kind, a message for the
// user and the underlying cause.
type sourceError struct {
	kind  error
	msg   string
	cause error
}

func (e *sourceError) Error() string {
	if e.cause != nil {
		return e.msg + ": " + e.cause.Error()
	}
	return e.msg
}

func (e *sourceError) Is(target error) bool { return target == e.kind }

func (e *sourceError) Unwrap() error { return e.cause }

func newError(kind error, cause error, format string, args ...interface{}) error {
	return &sourceError{kind: kind, msg: fmt.Sprintf(format, args...), cause: cause}
}

// New returns the source of spec.
func New(spec v1alpha1.ChartSource, opts Options) (Source, error) {
	if spec.Name == "" {
		return nil, fmt.Errorf("chart source %s names no chart", spec.Repository)
	}
	opts = opts.withDefaults()
	repo := strings.TrimSpace(spec.Repository)
	scheme, _, _ := strings.Cut(repo, "://")
	switch strings.ToLower(scheme) {
	case "https", "http":
		return newHTTPSource(repo, spec.Name, opts)
	case "oci":
		return newOCISource(repo, spec.Name, opts, nil)
	case "file":
		return newFileSource(repo, spec.Name)
	default:
		return nil, newError(ErrUnsupportedScheme, nil,
			"chart repository %q has an unsupported scheme: use https://, http://, oci:// or file://", spec.Repository)
	}
}

// versionKey identifies a version with its parsed semver.
type versionKey struct {
	v  *semver.Version
	cv ChartVersion
}

// canonical returns version without the leading "v" some charts put on it, and
// its semver, when that is strict semver. Kubernetes-style "v1.16.0" and
// "1.16.0" are then one version; everything after the source (the catalog,
// the policies, the Extension's status) sees the form without "v".
func canonical(version string) (string, *semver.Version, bool) {
	c := strings.TrimPrefix(version, "v")
	v, err := semver.StrictNewVersion(c)
	if err != nil {
		return version, nil, false
	}
	return c, v, true
}

// sameVersion tells whether a chart's own version is the version asked for.
func sameVersion(chartVersion, version string) bool {
	a, _, _ := canonical(chartVersion)
	b, _, _ := canonical(version)
	return a == b
}

// sortVersions keeps the strict-semver versions of in (in canonical form), one
// entry per version (the first seen), newest first.
func sortVersions(in []ChartVersion) []ChartVersion {
	seen := make(map[string]bool, len(in))
	keys := make([]versionKey, 0, len(in))
	for _, cv := range in {
		c, v, ok := canonical(cv.Version)
		if !ok || seen[v.String()] {
			continue
		}
		seen[v.String()] = true
		cv.Version = c
		cv.Prerelease = v.Prerelease() != ""
		keys = append(keys, versionKey{v: v, cv: cv})
	}
	sort.SliceStable(keys, func(i, j int) bool { return keys[i].v.GreaterThan(keys[j].v) })
	out := make([]ChartVersion, len(keys))
	for i, k := range keys {
		out[i] = k.cv
	}
	return out
}

// listed writes up to max names of a list for an error message.
func listed(names []string, max int) string {
	if len(names) == 0 {
		return "none"
	}
	if len(names) <= max {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:max], ", "), len(names)-max)
}

func versionStrings(vs []ChartVersion) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.Version
	}
	return out
}

func versionNotFound(chartName, version, where string, available []ChartVersion) error {
	return newError(ErrVersionNotFound, nil, "chart %s has no version %s in %s (available: %s)",
		chartName, version, where, listed(versionStrings(available), 20))
}

// checkChart makes sure a loaded chart is the one asked for.
func checkChart(ch *chart.Chart, name, version, where string) error {
	if ch.Metadata == nil {
		return fmt.Errorf("the chart %s %s from %s has no Chart.yaml", name, version, where)
	}
	if ch.Metadata.Name != name || !sameVersion(ch.Metadata.Version, version) {
		return fmt.Errorf("%s holds chart %s %s where %s %s was expected",
			where, ch.Metadata.Name, ch.Metadata.Version, name, version)
	}
	return nil
}

// do runs fn, returning early with ctx's error when ctx ends first. Helm's
// getters and registry client take no context, so a cancelled call is left to
// finish (bounded by Options.HTTPTimeout) in the background.
func do[T any](ctx context.Context, fn func() (T, error)) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := fn()
		ch <- result{v, err}
	}()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

// cache is a directory of files keyed by URL and digest. The zero cache (no
// directory) keeps nothing.
type cache struct {
	dir string
}

// path returns where the file of url and digest lives, under kind.
func (c cache) path(kind, url, digest, ext string) string {
	sum := sha256.Sum256([]byte(url))
	d := strings.NewReplacer(":", "-", "/", "-").Replace(digest)
	return filepath.Join(c.dir, kind, hex.EncodeToString(sum[:12])+"-"+d+ext)
}

// get returns the cached file, if any.
func (c cache) get(kind, url, digest, ext string) ([]byte, bool) {
	if c.dir == "" || digest == "" {
		return nil, false
	}
	data, err := os.ReadFile(c.path(kind, url, digest, ext))
	if err != nil {
		return nil, false
	}
	return data, true
}

// put stores a file; failures only cost a later download, so they are ignored.
func (c cache) put(kind, url, digest, ext string, data []byte) {
	if c.dir == "" || digest == "" {
		return
	}
	p := c.path(kind, url, digest, ext)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if werr != nil || cerr != nil || os.Rename(tmp.Name(), p) != nil {
		_ = os.Remove(tmp.Name())
	}
}

func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
