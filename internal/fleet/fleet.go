// Package fleet runs one operation on several clusters of one kubeconfig: it resolves
// which contexts to run on, runs the operation on a bounded number of them at once,
// prints each cluster's output whole, prefixed with its context, and ends with a table
// of what happened where. It knows no command line and no Kubernetes client: the
// operation gets the context's name and builds its own clients.
package fleet

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"k8s.io/cli-runtime/pkg/printers"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// The results of one cluster.
const (
	Succeeded  = "succeeded"
	Failed     = "failed"
	NotStarted = "not started"
)

// Contexts lists the contexts of the kubeconfig to run on: all of them in name order,
// or the named ones in the order given, once each, each of which must exist.
func Contexts(kubeconfig clientcmdapi.Config, named []string, all bool) ([]string, error) {
	var have []string
	for name := range kubeconfig.Contexts {
		have = append(have, name)
	}
	sort.Strings(have)
	if all {
		if len(have) == 0 {
			return nil, fmt.Errorf("the kubeconfig has no contexts")
		}
		return have, nil
	}
	seen := map[string]bool{}
	var out []string
	for _, c := range named {
		c = strings.TrimSpace(c)
		if c == "" || seen[c] {
			continue
		}
		if _, ok := kubeconfig.Contexts[c]; !ok {
			return nil, fmt.Errorf("context %q is not in the kubeconfig (it has: %s)", c, strings.Join(have, ", "))
		}
		seen[c] = true
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--contexts names no context")
	}
	return out, nil
}

// RefuseSharedCredentials refuses credentials given on the command line (the names
// of the flags that carry them, e.g. "--token") when the operation runs on more than
// one context: kubectl's credential flags override every context's user, so they
// would be sent to every cluster of the fleet, handing one cluster's token or key to
// the others, and --insecure-skip-tls-verify would drop every cluster's server
// check. One context keeps them, as kubectl does.
func RefuseSharedCredentials(contexts, given []string) error {
	if len(contexts) < 2 || len(given) == 0 {
		return nil
	}
	return fmt.Errorf("%s would be sent to every cluster of the fleet (%s), so fleet mode refuses it: "+
		"credentials on the command line belong to one cluster; keep each cluster's in its kubeconfig user, "+
		"or run on one context with --context", strings.Join(given, ", "), strings.Join(contexts, ", "))
}

// Op runs the operation on the cluster of one kubeconfig context, writing to out and
// errOut, and returns a one-line summary of what it did.
type Op func(ctx context.Context, kubeContext string, out, errOut io.Writer) (string, error)

// Result is what happened on one cluster.
type Result struct {
	Context string
	Result  string // Succeeded, Failed or NotStarted
	Message string
}

// Run runs op on every context, at most parallel at once. Each cluster's output is
// buffered and written whole, each line prefixed with [context], when it finishes, so
// that clusters' lines never interleave; then a table says what happened where. A
// cluster never started (the context was cancelled first, as by Ctrl-C) says so. A
// failed cluster's error is written whole in its block, as the table cuts it. Run fails
// when any cluster did not succeed, saying how to run again on those alone.
func Run(ctx context.Context, contexts []string, parallel int, out, errOut io.Writer, op Op) error {
	if parallel < 1 {
		parallel = 1
	}
	results := make([]Result, len(contexts))
	var mu sync.Mutex // serialises whole-cluster output blocks
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i, name := range contexts {
		results[i] = Result{Context: name, Result: NotStarted, Message: "interrupted before it started"}
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
			summary, err := op(ctx, name, &o, &e)
			r := Result{Context: name, Result: Succeeded, Message: summary}
			if err != nil {
				r.Result, r.Message = Failed, oneLine(err.Error())
				if ctx.Err() != nil {
					r.Message = "interrupted: " + r.Message
				}
				// The table cuts a long message; the cluster's own block keeps it whole.
				fmt.Fprintf(&e, "error: %v\n", err)
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
		if r.Result != Succeeded {
			failed = append(failed, r.Context)
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if len(failed) > 0 {
		// An operation that failed halfway is finished by running it again on those
		// clusters (the others may refuse it again: a create finds its extension).
		return fmt.Errorf("%d of %d clusters did not succeed: %s (to run it again on those alone: --contexts %s)",
			len(failed), len(results), strings.Join(failed, ", "), strings.Join(failed, ","))
	}
	return nil
}

// writePrefixed writes each line of b to w after [prefix], ending the last one.
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

// oneLine fits an error into a table cell.
func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", "; ")
	if len(s) > 240 {
		s = s[:237] + "..."
	}
	return s
}
