package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/printers"
)

// fleetFlags run one operation on several clusters of one kubeconfig.
type fleetFlags struct {
	Contexts []string
	All      bool
	Parallel int
}

func (ff *fleetFlags) addFlags(fs *pflag.FlagSet) {
	fs.StringSliceVar(&ff.Contexts, "contexts", nil, "Run on each of these kubeconfig contexts (comma-separated) instead of the current one.")
	fs.BoolVar(&ff.All, "all-contexts", false, "Run on every context of the kubeconfig.")
	fs.IntVar(&ff.Parallel, "parallel", 4, "With --contexts or --all-contexts: how many clusters at once.")
}

func (ff *fleetFlags) enabled() bool { return ff.All || len(ff.Contexts) > 0 }

func (ff *fleetFlags) validate() error {
	if ff.All && len(ff.Contexts) > 0 {
		return fmt.Errorf("give --contexts or --all-contexts, not both")
	}
	if ff.Parallel < 1 {
		return fmt.Errorf("--parallel must be at least 1")
	}
	return nil
}

// resolve lists the contexts to run on, checking that each exists in the kubeconfig.
func (ff *fleetFlags) resolve(f *factory) ([]string, error) {
	if f.flags.Context != nil && *f.flags.Context != "" {
		return nil, fmt.Errorf("--context names one cluster; with --contexts or --all-contexts leave it out")
	}
	raw, err := f.flags.ToRawKubeConfigLoader().RawConfig()
	if err != nil {
		return nil, fmt.Errorf("reading the kubeconfig: %w", err)
	}
	var all []string
	for name := range raw.Contexts {
		all = append(all, name)
	}
	sort.Strings(all)
	if ff.All {
		if len(all) == 0 {
			return nil, fmt.Errorf("the kubeconfig has no contexts")
		}
		return all, nil
	}
	seen := map[string]bool{}
	var out []string
	for _, c := range ff.Contexts {
		c = strings.TrimSpace(c)
		if c == "" || seen[c] {
			continue
		}
		if _, ok := raw.Contexts[c]; !ok {
			return nil, fmt.Errorf("context %q is not in the kubeconfig (it has: %s)", c, strings.Join(all, ", "))
		}
		seen[c] = true
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--contexts names no context")
	}
	return out, nil
}

// forContext returns a factory for one context, with the user's other kubectl flags.
func (f *factory) forContext(name string) *factory {
	b := f.flags
	n := genericclioptions.NewConfigFlags(true)
	n.KubeConfig, n.CacheDir = b.KubeConfig, b.CacheDir
	n.Context = &name
	n.Impersonate, n.ImpersonateUID, n.ImpersonateGroup = b.Impersonate, b.ImpersonateUID, b.ImpersonateGroup
	n.Insecure, n.TLSServerName, n.CAFile, n.CertFile, n.KeyFile = b.Insecure, b.TLSServerName, b.CAFile, b.CertFile, b.KeyFile
	n.BearerToken, n.Timeout, n.DisableCompression = b.BearerToken, b.Timeout, b.DisableCompression
	n.ImpersonateUserExtra, n.ProxyURL = b.ImpersonateUserExtra, b.ProxyURL
	n.Namespace = b.Namespace
	return &factory{flags: n, charts: f.charts}
}

// run runs op on the fleet when --contexts or --all-contexts is given, and otherwise
// once on the cluster of the current context, writing to out and errOut directly.
func (ff *fleetFlags) run(ctx context.Context, f *factory, out, errOut io.Writer, op clusterOp) error {
	if !ff.enabled() {
		_, err := op(ctx, f, out, errOut)
		return err
	}
	contexts, err := ff.resolve(f)
	if err != nil {
		return err
	}
	return runFleet(ctx, f, contexts, ff.Parallel, out, errOut, op)
}

// fleetResult is what happened on one cluster.
type fleetResult struct {
	Context string
	Result  string // succeeded | failed | not started
	Message string
}

// clusterOp runs one operation on one cluster, writing to out and errOut, and
// returns a one-line summary of what it did.
type clusterOp func(ctx context.Context, f *factory, out, errOut io.Writer) (string, error)

// runFleet runs op on every context, at most parallel at once. Each cluster's output
// is buffered and printed whole, prefixed with its context, when it finishes; then a
// table says what happened where. A cluster that was never started (Ctrl-C) says so.
// It fails when any cluster did not succeed.
func runFleet(ctx context.Context, f *factory, contexts []string, parallel int, out, errOut io.Writer, op clusterOp) error {
	results := make([]fleetResult, len(contexts))
	var mu sync.Mutex // serialises whole-cluster output blocks
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i, name := range contexts {
		results[i] = fleetResult{Context: name, Result: "not started", Message: "interrupted before it started"}
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-sem }()
			if ctx.Err() != nil {
				return
			}
			var o, e bytes.Buffer
			summary, err := op(ctx, f.forContext(name), &o, &e)
			r := fleetResult{Context: name, Result: "succeeded", Message: summary}
			if err != nil {
				r.Result, r.Message = "failed", oneLine(err.Error())
				if ctx.Err() != nil {
					r.Message = "interrupted: " + r.Message
				}
			}
			mu.Lock()
			defer mu.Unlock()
			writePrefixed(out, name, o.Bytes())
			writePrefixed(errOut, name, e.Bytes())
			results[i] = r
		}()
	}
	wg.Wait()

	w := printers.GetNewTabWriter(out)
	fmt.Fprintln(w, "CONTEXT\tRESULT\tMESSAGE")
	var failed []string
	for _, r := range results {
		fmt.Fprintf(w, "%s\t%s\t%s\n", r.Context, r.Result, r.Message)
		if r.Result != "succeeded" {
			failed = append(failed, r.Context)
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d clusters did not succeed: %s", len(failed), len(results), strings.Join(failed, ", "))
	}
	return nil
}

func writePrefixed(w io.Writer, prefix string, b []byte) {
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if line != "" {
			fmt.Fprintf(w, "[%s] %s", prefix, line)
			if !strings.HasSuffix(line, "\n") {
				fmt.Fprintln(w)
			}
		}
	}
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", "; ")
	if len(s) > 240 {
		s = s[:237] + "..."
	}
	return s
}
