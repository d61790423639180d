package chartsource

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/repo"
)

// fileSource reads a chart from the local disk.
type fileSource struct {
	repoURL string
	path    string
	name    string

	mu       sync.Mutex
	versions []ChartVersion
	paths    map[string]string // version -> chart archive or directory
}

func newFileSource(repoURL, name string) (*fileSource, error) {
	p := repoURL[len("file://"):]
	if p == "" {
		return nil, fmt.Errorf("chart repository %q names no path", repoURL)
	}
	return &fileSource{repoURL: repoURL, path: filepath.FromSlash(p), name: name}, nil
}

func (s *fileSource) Versions(ctx context.Context) ([]ChartVersion, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := s.scan(); err != nil {
		return nil, err
	}
	return append([]ChartVersion(nil), s.versions...), nil
}

func (s *fileSource) Load(ctx context.Context, version string) (*chart.Chart, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := s.scan(); err != nil {
		return nil, err
	}
	key, _, _ := canonical(version)
	p, ok := s.paths[key]
	if !ok {
		return nil, versionNotFound(s.name, version, s.repoURL, s.versions)
	}
	ch, err := loader.Load(p)
	if err != nil {
		return nil, fmt.Errorf("chart %s %s at %s cannot be loaded: %w", s.name, version, p, err)
	}
	if err := checkChart(ch, s.name, version, p); err != nil {
		return nil, err
	}
	return ch, nil
}

// scan finds the chart's versions on disk, once.
func (s *fileSource) scan() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.paths != nil {
		return nil
	}
	found, err := s.find()
	if err != nil {
		return err
	}
	var all []ChartVersion
	paths := make(map[string]string)
	for _, f := range found {
		key, _, _ := canonical(f.cv.Version)
		if _, dup := paths[key]; dup {
			continue
		}
		paths[key] = f.path
		all = append(all, f.cv)
	}
	s.versions = sortVersions(all)
	s.paths = paths
	return nil
}

type foundChart struct {
	cv   ChartVersion
	path string
}

// find reads the path in the forms the package documentation lists.
func (s *fileSource) find() ([]foundChart, error) {
	info, err := os.Stat(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, newError(ErrUnreachable, nil, "chart repository %s: %s does not exist", s.repoURL, s.path)
	}
	if err != nil {
		return nil, newError(ErrUnreachable, err, "cannot read chart repository %s", s.repoURL)
	}
	if !info.IsDir() {
		return s.single(s.path)
	}
	if isFile(filepath.Join(s.path, "Chart.yaml")) {
		return s.single(s.path)
	}
	if isFile(filepath.Join(s.path, "index.yaml")) {
		return s.indexed(s.path)
	}
	if sub := filepath.Join(s.path, s.name); isFile(filepath.Join(sub, "Chart.yaml")) {
		return s.single(sub)
	}
	return s.archives(s.path)
}

func isFile(p string) bool {
	info, err := os.Stat(p)
	return err == nil && !info.IsDir()
}

// single reads one chart archive or directory.
func (s *fileSource) single(p string) ([]foundChart, error) {
	ch, err := loader.Load(p)
	if err != nil {
		return nil, newError(ErrUnreachable, err, "chart repository %s: %s is not a chart", s.repoURL, p)
	}
	if ch.Metadata.Name != s.name {
		return nil, newError(ErrChartNotFound, nil, "chart %s is not in %s (charts present: %s)", s.name, s.repoURL, ch.Metadata.Name)
	}
	return []foundChart{{cv: metaVersion(ch.Metadata), path: p}}, nil
}

func metaVersion(m *chart.Metadata) ChartVersion {
	return ChartVersion{Version: m.Version, KubeVersion: m.KubeVersion, AppVersion: m.AppVersion}
}

// indexed reads a directory with an index.yaml whose URLs name archives in it.
func (s *fileSource) indexed(dir string) ([]foundChart, error) {
	idx, err := repo.LoadIndexFile(filepath.Join(dir, "index.yaml"))
	if err != nil {
		return nil, newError(ErrUnreachable, err, "cannot read the index of chart repository %s", s.repoURL)
	}
	cvs, ok := idx.Entries[s.name]
	if !ok || len(cvs) == 0 {
		return nil, chartNotInIndex(s.name, s.repoURL, idx)
	}
	var out []foundChart
	for _, cv := range cvs {
		if cv == nil || cv.Metadata == nil || len(cv.URLs) == 0 {
			continue
		}
		out = append(out, foundChart{
			cv:   ChartVersion{Version: cv.Version, KubeVersion: cv.KubeVersion, AppVersion: cv.AppVersion},
			path: localArchive(dir, cv.URLs[0]),
		})
	}
	return out, nil
}

// localArchive maps an index URL to a file in dir: relative URLs and file://
// URLs as they are, remote URLs (an index copied from a server) by file name.
func localArchive(dir, ref string) string {
	u, err := url.Parse(ref)
	switch {
	case err != nil || u.Scheme == "":
		return filepath.Join(dir, filepath.FromSlash(ref))
	case u.Scheme == "file":
		return filepath.FromSlash(strings.TrimPrefix(ref, "file://"))
	default:
		return filepath.Join(dir, filepath.Base(filepath.FromSlash(u.Path)))
	}
}

// archives reads every *.tgz of a directory and keeps the chart's.
func (s *fileSource) archives(dir string) ([]foundChart, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.tgz"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var out []foundChart
	others := make(map[string]bool)
	for _, f := range files {
		ch, err := loader.Load(f)
		if err != nil || ch.Metadata == nil {
			continue // not a chart
		}
		if ch.Metadata.Name != s.name {
			others[ch.Metadata.Name] = true
			continue
		}
		out = append(out, foundChart{cv: metaVersion(ch.Metadata), path: f})
	}
	if len(out) == 0 {
		names := make([]string, 0, len(others))
		for n := range others {
			names = append(names, n)
		}
		sort.Strings(names)
		return nil, newError(ErrChartNotFound, nil, "chart %s is not in %s (charts present: %s)", s.name, s.repoURL, listed(names, 20))
	}
	return out, nil
}
