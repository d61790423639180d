package testenv

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAssetsDir checks which directory the bare and the Ready cluster take, and that a
// Ready cluster without its binaries is told which make target builds them.
func TestAssetsDir(t *testing.T) {
	bare := []string{"kube-apiserver", "etcd"}
	full := append(append([]string(nil), bare...), readyAssets...)
	tests := []struct {
		name string
		// env is $KUBEBUILDER_ASSETS's files (nil: unset); cache the cache's
		// envtest/<dir> entries and their files.
		env     []string
		cache   map[string][]string
		ready   bool
		wantDir string // the env dir is "$env"
		wantErr string
	}{
		{name: "bare assets serve the bare API server", env: bare, wantDir: "$env"},
		{name: "bare assets refuse a Ready cluster, naming make cluster-assets", env: bare, ready: true,
			wantErr: "kube-controller-manager is missing; build it with `make cluster-assets`"},
		{name: "full assets serve a Ready cluster", env: full, ready: true, wantDir: "$env"},
		{name: "the newest cache dir with all Ready assets wins over a newer bare one",
			cache: map[string][]string{"kube-v1.38.0-etcd-v3.6.16": bare, "kube-v1.37.1-etcd-v3.6.16": full},
			ready: true, wantDir: "kube-v1.37.1-etcd-v3.6.16"},
		{name: "the bare API server takes the newest cache dir",
			cache:   map[string][]string{"kube-v1.38.0-etcd-v3.6.16": bare, "kube-v1.37.1-etcd-v3.6.16": full},
			wantDir: "kube-v1.38.0-etcd-v3.6.16"},
		{name: "an empty cache names make cluster-assets for a Ready cluster", cache: map[string][]string{}, ready: true,
			wantErr: "build them with `make cluster-assets`"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			t.Setenv(CacheDirEnv, root)
			t.Setenv(AssetsEnv, "")
			envDir := filepath.Join(root, "assets")
			if tt.env != nil {
				touch(t, envDir, tt.env)
				t.Setenv(AssetsEnv, envDir)
			}
			for d, files := range tt.cache {
				touch(t, filepath.Join(root, "envtest", d), files)
			}
			got, err := assetsDir(tt.ready)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := envDir
			if tt.wantDir != "$env" {
				want = filepath.Join(root, "envtest", tt.wantDir)
			}
			if got != want {
				t.Fatalf("assetsDir(%v) = %s, want %s", tt.ready, got, want)
			}
		})
	}
}

func touch(t *testing.T, dir string, files []string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// TestWaitForNamesWhatFailed drives the wait of a Ready start with stand-ins for the
// components: a component that crashes ends the wait at once with its exit and log,
// and a condition that never holds times out with its last reason and every log.
func TestWaitForNamesWhatFailed(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatalf("these tests run sh: %v", err)
	}
	tests := []struct {
		name     string
		script   string
		cond     func(context.Context) (bool, error)
		timeout  time.Duration
		want     []string
		stopErr  bool // stop reports the crash
		maxTaken time.Duration
	}{
		{
			name:     "a crashed component ends the wait with its exit status and log",
			script:   `echo "cannot bind 127.0.0.1:1: address in use"; exit 3`,
			cond:     func(context.Context) (bool, error) { return false, nil },
			timeout:  30 * time.Second,
			want:     []string{"kube-scheduler exited", "exit status 3", "cannot bind 127.0.0.1:1"},
			stopErr:  true,
			maxTaken: 10 * time.Second,
		},
		{
			name:    "a condition that never holds times out with its last reason and the logs",
			script:  `echo still syncing; while :; do sleep 0.05; done`,
			cond:    func(context.Context) (bool, error) { return false, errors.New("node n0 still has taint not-ready") },
			timeout: 500 * time.Millisecond,
			want: []string{"waiting for node n0 Ready", "context deadline exceeded",
				"last error: node n0 still has taint not-ready", "kube-scheduler; the end of its log:", "still syncing"},
		},
		{
			name:    "a condition that holds ends the wait without error",
			script:  `while :; do sleep 0.05; done`,
			cond:    func(context.Context) (bool, error) { return true, nil },
			timeout: 10 * time.Second,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &Env{dir: t.TempDir()}
			c, err := startComponent(e.dir, "kube-scheduler", sh, []string{"-c", tt.script}, nil)
			if err != nil {
				t.Fatal(err)
			}
			e.components = append(e.components, c)
			ctx, cancel := context.WithTimeout(context.Background(), tt.timeout)
			defer cancel()
			began := time.Now()
			err = e.waitFor(ctx, "node n0 Ready", tt.cond)
			if tt.maxTaken > 0 && time.Since(began) > tt.maxTaken {
				t.Errorf("the wait took %s; a crash must end it at once", time.Since(began))
			}
			if len(tt.want) == 0 && err != nil {
				t.Fatalf("waitFor: %v", err)
			}
			for _, w := range tt.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v\nwant it to contain %q", err, w)
				}
			}
			if err := e.stopComponents(); (err != nil) != tt.stopErr {
				t.Errorf("stopComponents() = %v, want an error: %v", err, tt.stopErr)
			}
			select {
			case <-c.done:
			default:
				t.Errorf("the component still runs after stopComponents")
			}
		})
	}
}
