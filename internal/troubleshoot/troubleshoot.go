// Package troubleshoot gathers what is known about one extension into an archive, as
// `az k8s-extension troubleshoot` does for AKS: the Extension and its type, its status
// history and Events, the Helm history of its release (no values), the release's
// objects and whether kstatus finds them ready, its pods' statuses and last log lines,
// the webhook's denials of writes to it, the policies' verdict on its current spec and
// `kubectl ext init --check`. It also says what looks wrong, with the next step for
// each finding.
//
// Nothing secret goes into the archive. Objects are named, never dumped (a chart's
// Secrets and ConfigMaps may hold the protected settings); Helm's history keeps the
// keys of the values, never a value; and every file is scrubbed of the extension's
// protected values, read from its Secret, before it is written, so a log line or an
// error message that quotes one says "[redacted]" instead.
//
// A part that cannot be collected (no right to read it, or it does not exist) is
// noted in its file and in the summary; only a failure to write the archive fails.
// The package has no cobra in it: the CLI fills Sources and Options and prints the
// Report.
package troubleshoot

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	helmrelease "helm.sh/helm/v3/pkg/release"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/install"
	"github.com/kubeext/kubectl-ext/internal/policy"
	"github.com/kubeext/kubectl-ext/internal/settings"
)

// Extensions reads extensions and judges them; *lifecycle.Manager is one.
type Extensions interface {
	Get(ctx context.Context, name string) (*v1alpha1.Extension, error)
	// Events lists the Events about e, oldest first.
	Events(ctx context.Context, e *v1alpha1.Extension) ([]corev1.Event, error)
	// Verdict judges e's current spec as written again unchanged.
	Verdict(ctx context.Context, e *v1alpha1.Extension) (policy.Decision, error)
}

// Releases reads a release's stored revisions, oldest first; *release.Client is one.
type Releases interface {
	History(name, namespace string) ([]*helmrelease.Release, error)
}

// Sources are what troubleshoot reads. Each is asked on its own: one that fails is
// noted and the others go on.
type Sources struct {
	Extensions Extensions
	// Client reads the type, the protected settings' Secret, the release's objects,
	// pods, ReplicaSets and Events; its RESTMapper maps the release's kinds.
	Client client.Client
	// Kube reads pod logs (pods/log), which Client cannot.
	Kube     kubernetes.Interface
	Releases Releases
	// Check runs `kubectl ext init --check`; (*install.Checker).Check is one.
	Check func(ctx context.Context) ([]install.CheckRow, error)
	// Now is the clock of the archive's name and of the findings; nil means time.Now.
	Now func() time.Time
}

// DefaultTail is how many log lines of each container go into the archive.
const DefaultTail = 200

// Options say what to collect.
type Options struct {
	// Name is the extension's.
	Name string
	// Tail is the number of last log lines of each container; 0 means DefaultTail.
	Tail int64
}

// Severities of a finding.
const (
	SeverityError   = "Error"
	SeverityWarning = "Warning"
)

// Finding is one thing that looks wrong, with what to do next.
type Finding struct {
	Severity string `json:"severity"`
	// Subject is what is wrong: "extension podinfo", "Deployment podinfo/podinfo".
	Subject string `json:"subject"`
	Problem string `json:"problem"`
	Next    string `json:"next"`
}

// NotCollected is a part of the archive that could not be gathered, and why.
type NotCollected struct {
	File   string `json:"file"`
	Reason string `json:"reason"`
}

// Report is what troubleshoot prints and keeps in the archive as summary.yaml.
type Report struct {
	Extension string `json:"extension"`
	// Archive is the path the CLI wrote the archive to.
	Archive     string    `json:"archive,omitempty"`
	CollectedAt time.Time `json:"collectedAt"`
	// Files lists the archive's files, relative to its top directory.
	Files        []string       `json:"files"`
	NotCollected []NotCollected `json:"notCollected,omitempty"`
	Findings     []Finding      `json:"findings"`
}

// file is one file of the archive.
type file struct {
	name string
	data []byte
}

// bundle is the archive being assembled: its files in order, the report, and the
// protected values every file is scrubbed of.
type bundle struct {
	files   []file
	report  Report
	secrets []string
}

// add puts a file into the bundle, scrubbed of the protected values.
func (b *bundle) add(name string, data []byte) {
	b.files = append(b.files, file{name: name, data: []byte(settings.Redact(string(data), b.secrets))})
	b.report.Files = append(b.report.Files, name)
}

// addYAML adds v as YAML, each of its strings, keys and numbers scrubbed before it is
// written: the YAML writer quotes and folds strings (a quote doubled, a long line
// broken at a space), forms of a secret that scrubbing the written text would miss.
func (b *bundle) addYAML(name string, v any) {
	raw, err := json.Marshal(v)
	if err != nil {
		b.missing(name, "it could not be written as YAML: "+err.Error())
		return
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		b.missing(name, "it could not be written as YAML: "+err.Error())
		return
	}
	data, err := yaml.Marshal(b.scrub(doc))
	if err != nil {
		b.missing(name, "it could not be written as YAML: "+err.Error())
		return
	}
	b.add(name, data)
}

// scrub returns doc (as encoding/json decodes it, numbers as json.Number) with every
// protected value redacted from its strings, keys and numbers.
func (b *bundle) scrub(doc any) any {
	switch d := doc.(type) {
	case map[string]any:
		out := make(map[string]any, len(d))
		for k, v := range d {
			out[settings.Redact(k, b.secrets)] = b.scrub(v)
		}
		return out
	case []any:
		out := make([]any, len(d))
		for i, v := range d {
			out[i] = b.scrub(v)
		}
		return out
	case string:
		return settings.Redact(d, b.secrets)
	case json.Number:
		if r := settings.Redact(d.String(), b.secrets); r != d.String() {
			return r
		}
		return d
	}
	return doc
}

// missing notes that a part could not be collected: the file says why, and so does
// the summary.
func (b *bundle) missing(name, reason string) {
	reason = settings.Redact(reason, b.secrets)
	b.report.NotCollected = append(b.report.NotCollected, NotCollected{File: name, Reason: reason})
	data, _ := yaml.Marshal(map[string]string{"notCollected": reason})
	b.add(name, data)
}

// find records a finding, scrubbed like the files.
func (b *bundle) find(severity, subject, problem, next string) {
	b.report.Findings = append(b.report.Findings, Finding{Severity: severity, Subject: subject,
		Problem: settings.Redact(problem, b.secrets), Next: next})
}

// Run collects everything about the extension, writes the archive as a gzipped tar
// to w, with its files under a top directory named like the archive, and returns the
// report (its Archive left for the caller to fill). Only a failure to write w is an
// error.
func Run(ctx context.Context, src Sources, opts Options, w io.Writer) (Report, error) {
	now := time.Now
	if src.Now != nil {
		now = src.Now
	}
	if opts.Tail <= 0 {
		opts.Tail = DefaultTail
	}
	at := now().UTC()
	c := &collector{src: src, opts: opts, now: at, b: &bundle{report: Report{Extension: opts.Name, CollectedAt: at}}}
	c.collect(ctx)
	r := c.b.report
	if r.Findings == nil {
		r.Findings = []Finding{}
	}
	// The summary is part of the archive, listing itself among the files.
	r.Files = append(r.Files, "summary.yaml")
	summary, err := yaml.Marshal(r)
	if err != nil {
		return r, err
	}
	c.b.files = append(c.b.files, file{name: "summary.yaml", data: []byte(settings.Redact(string(summary), c.b.secrets))})
	return r, writeArchive(w, BaseName(opts.Name, at), c.b.files, at)
}

// BaseName is the archive's name without ".tar.gz", and its top directory: the
// extension's name and the time of collection.
func BaseName(name string, at time.Time) string {
	return "kubectl-ext-troubleshoot-" + name + "-" + at.UTC().Format("20060102T150405Z")
}

// writeArchive writes files as a gzipped tar under dir.
func writeArchive(w io.Writer, dir string, files []file, at time.Time) error {
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	for _, f := range files {
		hdr := &tar.Header{Name: path.Join(dir, f.name), Mode: 0o600, Size: int64(len(f.data)), ModTime: at, Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("writing the archive: %w", err)
		}
		if _, err := tw.Write(f.data); err != nil {
			return fmt.Errorf("writing the archive: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("writing the archive: %w", err)
	}
	if err := gz.Close(); err != nil {
		return fmt.Errorf("writing the archive: %w", err)
	}
	return nil
}

// WriteSummary writes the report for a person: the archive's path, then each finding
// with its next step, then the parts not collected.
func WriteSummary(w io.Writer, r Report) error {
	var sb strings.Builder
	fmt.Fprintf(&sb, "Archive: %s (%d files)\n", r.Archive, len(r.Files))
	if len(r.Findings) == 0 {
		sb.WriteString("\nNothing looks wrong.\n")
	} else {
		fmt.Fprintf(&sb, "\nWhat looks wrong (%d):\n", len(r.Findings))
		for i, f := range r.Findings {
			problem := strings.ReplaceAll(f.Problem, "\n", "\n   ")
			fmt.Fprintf(&sb, "\n%d. %s: %s: %s\n   Next: %s\n", i+1, f.Severity, f.Subject, problem, f.Next)
		}
	}
	if len(r.NotCollected) > 0 {
		sb.WriteString("\nNot collected:\n")
		for _, n := range r.NotCollected {
			fmt.Fprintf(&sb, "  %s: %s\n", n.File, n.Reason)
		}
	}
	_, err := io.WriteString(w, sb.String())
	return err
}
