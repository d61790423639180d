package fleet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

func TestContexts(t *testing.T) {
	kubeconfig := clientcmdapi.Config{Contexts: map[string]*clientcmdapi.Context{"prod": {}, "dev": {}, "staging": {}}}
	tests := []struct {
		name    string
		cfg     clientcmdapi.Config
		named   []string
		all     bool
		want    []string
		wantErr string
	}{
		{name: "all, in name order", cfg: kubeconfig, all: true, want: []string{"dev", "prod", "staging"}},
		{name: "named, in the order given", cfg: kubeconfig, named: []string{"staging", "dev"}, want: []string{"staging", "dev"}},
		{name: "named twice, blanks and spaces", cfg: kubeconfig, named: []string{" prod", "", "prod ", "dev"}, want: []string{"prod", "dev"}},
		{name: "an unknown context", cfg: kubeconfig, named: []string{"prod", "qa"}, wantErr: `context "qa" is not in the kubeconfig (it has: dev, prod, staging)`},
		{name: "only blanks", cfg: kubeconfig, named: []string{" ", ""}, wantErr: "--contexts names no context"},
		{name: "all of an empty kubeconfig", cfg: clientcmdapi.Config{}, all: true, wantErr: "the kubeconfig has no contexts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Contexts(tt.cfg, tt.named, tt.all)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("= %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

// table parses Run's result table: context -> [result, message].
func table(t *testing.T, out string) map[string][2]string {
	t.Helper()
	i := strings.Index(out, "CONTEXT")
	if i < 0 {
		t.Fatalf("no result table in:\n%s", out)
	}
	rows := map[string][2]string{}
	re := regexp.MustCompile(`^(\S+)\s+(succeeded|failed|not started)\s*(.*)$`)
	for _, l := range strings.Split(strings.TrimSpace(out[i:]), "\n")[1:] {
		m := re.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("not a result row: %q", l)
		}
		rows[m[1]] = [2]string{m[2], m[3]}
	}
	return rows
}

// TestRun: each cluster's output is printed whole and prefixed, the table says what
// happened where, and Run fails naming the clusters that did not succeed.
func TestRun(t *testing.T) {
	tests := []struct {
		name       string
		contexts   []string
		op         Op
		wantRows   map[string][2]string
		wantOut    []string // lines of out, in any order across clusters
		wantErrOut []string
		wantErr    string
	}{
		{
			name:     "all succeed",
			contexts: []string{"a", "b"},
			op: func(_ context.Context, c string, out, errOut io.Writer) (string, error) {
				fmt.Fprintf(out, "created on %s\nsecond line", c)
				fmt.Fprintf(errOut, "progress %s\n", c)
				return "done " + c, nil
			},
			wantRows:   map[string][2]string{"a": {"succeeded", "done a"}, "b": {"succeeded", "done b"}},
			wantOut:    []string{"[a] created on a", "[a] second line", "[b] created on b", "[b] second line"},
			wantErrOut: []string{"[a] progress a", "[b] progress b"},
		},
		{
			name:     "one fails, on several lines",
			contexts: []string{"up", "down", "up2"},
			op: func(_ context.Context, c string, out, _ io.Writer) (string, error) {
				if c == "down" {
					return "", errors.New("cannot reach the cluster\ndial tcp 127.0.0.1:1: refused")
				}
				return "ok", nil
			},
			wantRows: map[string][2]string{"up": {"succeeded", "ok"}, "down": {"failed", "cannot reach the cluster; dial tcp 127.0.0.1:1: refused"}, "up2": {"succeeded", "ok"}},
			wantErr:  "1 of 3 clusters did not succeed: down (to run it again on those alone: --contexts down)",
		},
		{
			// The table cuts a long error; the cluster's block keeps it whole.
			name:     "a failed cluster's whole error in its block",
			contexts: []string{"up", "lost"},
			op: func(_ context.Context, c string, _, errOut io.Writer) (string, error) {
				if c == "lost" {
					fmt.Fprintln(errOut, "Upgrading release")
					return "", fmt.Errorf("helm upgrade: %s: %w", strings.Repeat("x", 240),
						&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")})
				}
				return "ok", nil
			},
			wantRows:   map[string][2]string{"up": {"succeeded", "ok"}, "lost": {"failed", "helm upgrade: " + strings.Repeat("x", 223) + "..."}},
			wantErrOut: []string{"[lost] Upgrading release", "[lost] error: helm upgrade: " + strings.Repeat("x", 240) + ": dial tcp: connect: connection refused"},
			wantErr:    "1 of 2 clusters did not succeed: lost (to run it again on those alone: --contexts lost)",
		},
		{
			name:     "a long error is cut",
			contexts: []string{"x"},
			op: func(context.Context, string, io.Writer, io.Writer) (string, error) {
				return "", errors.New(strings.Repeat("e", 300))
			},
			wantRows: map[string][2]string{"x": {"failed", strings.Repeat("e", 237) + "..."}},
			wantErr:  "1 of 1 clusters did not succeed: x (to run it again on those alone: --contexts x)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut strings.Builder
			err := Run(context.Background(), tt.contexts, 2, &out, &errOut, tt.op)
			if (err == nil) != (tt.wantErr == "") || err != nil && err.Error() != tt.wantErr {
				t.Errorf("err = %v, want %q", err, tt.wantErr)
			}
			if got := table(t, out.String()); !reflect.DeepEqual(got, tt.wantRows) {
				t.Errorf("table = %v, want %v", got, tt.wantRows)
			}
			for _, l := range tt.wantOut {
				if !strings.Contains(out.String(), l+"\n") {
					t.Errorf("out lacks the line %q:\n%s", l, out.String())
				}
			}
			for _, l := range tt.wantErrOut {
				if !strings.Contains(errOut.String(), l+"\n") {
					t.Errorf("errOut lacks the line %q:\n%s", l, errOut.String())
				}
			}
		})
	}
}

// TestRunBoundsParallelism: never more than parallel clusters at once, and each
// cluster's lines stay together although the clusters run concurrently.
func TestRunBoundsParallelism(t *testing.T) {
	for _, parallel := range []int{1, 3} {
		t.Run(fmt.Sprint(parallel), func(t *testing.T) {
			var running, peak atomic.Int32
			contexts := []string{"c1", "c2", "c3", "c4", "c5", "c6", "c7"}
			var out strings.Builder
			err := Run(context.Background(), contexts, parallel, &out, io.Discard, func(_ context.Context, c string, w io.Writer, _ io.Writer) (string, error) {
				n := running.Add(1)
				defer running.Add(-1)
				for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
				for i := 0; i < 3; i++ {
					fmt.Fprintf(w, "%s line %d\n", c, i)
					time.Sleep(5 * time.Millisecond)
				}
				return "", nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if p := peak.Load(); p > int32(parallel) || p < 1 {
				t.Errorf("%d clusters ran at once, want at most %d", p, parallel)
			}
			for _, c := range contexts {
				block := fmt.Sprintf("[%[1]s] %[1]s line 0\n[%[1]s] %[1]s line 1\n[%[1]s] %[1]s line 2\n", c)
				if !strings.Contains(out.String(), block) {
					t.Errorf("%s's lines are not together:\n%s", c, out.String())
				}
			}
		})
	}
}

// TestRunInterrupted: after the context is cancelled, the running cluster reports that
// it was interrupted and the clusters not started yet say so.
func TestRunInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var once sync.Once
	var out strings.Builder
	err := Run(ctx, []string{"first", "second", "third"}, 1, &out, io.Discard, func(ctx context.Context, c string, _, _ io.Writer) (string, error) {
		once.Do(cancel) // the first cluster to start is interrupted while it runs
		<-ctx.Done()
		return "", ctx.Err()
	})
	if err == nil || !strings.Contains(err.Error(), "3 of 3 clusters did not succeed") {
		t.Fatalf("err = %v, want all three clusters named", err)
	}
	rows := table(t, out.String())
	var interrupted, notStarted int
	for _, r := range rows {
		switch {
		case r[0] == "failed" && strings.HasPrefix(r[1], "interrupted: context canceled"):
			interrupted++
		case r[0] == "not started" && r[1] == "interrupted before it started":
			notStarted++
		}
	}
	if interrupted != 1 || notStarted != 2 {
		t.Errorf("want one interrupted and two not started: %v", rows)
	}
}

func TestRefuseSharedCredentials(t *testing.T) {
	for _, tt := range []struct {
		name     string
		contexts []string
		given    []string
		wantErr  string
	}{
		{name: "several contexts, no credentials", contexts: []string{"a", "b"}},
		{name: "one context keeps its credentials", contexts: []string{"a"}, given: []string{"--token", "--insecure-skip-tls-verify"}},
		{name: "a token for two clusters", contexts: []string{"a", "b"}, given: []string{"--token"},
			wantErr: "--token would be sent to every cluster of the fleet (a, b), so fleet mode refuses it"},
		{name: "every credential flag, all named", contexts: []string{"a", "b", "c"},
			given:   []string{"--client-certificate", "--client-key", "--insecure-skip-tls-verify", "--username", "--password"},
			wantErr: "--client-certificate, --client-key, --insecure-skip-tls-verify, --username, --password would be sent to every cluster of the fleet (a, b, c)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := RefuseSharedCredentials(tt.contexts, tt.given)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "keep each cluster's in its kubeconfig user") {
				t.Fatalf("got %v, want %q and where credentials belong", err, tt.wantErr)
			}
		})
	}
}
