package cli_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubeext/kubectl-ext/internal/cli"
)

func TestPluginThroughKubectl(t *testing.T) {
	requireEnv(t)
	tests := []struct {
		name     string
		args     []string
		wantExit int
		stdout   []*regexp.Regexp
		stderr   *regexp.Regexp
	}{
		{
			name:   "kubectl ext version prints the plugin version",
			args:   []string{"ext", "version"},
			stdout: []*regexp.Regexp{regexp.MustCompile(`^kubectl-ext v\S+ \(commit \S+, go\S+, \S+/\S+\)\n$`)},
		},
		{
			name:   "kubectl ext version -o json prints a JSON object with the version",
			args:   []string{"ext", "version", "-o", "json"},
			stdout: []*regexp.Regexp{regexp.MustCompile(`"version": "v`), regexp.MustCompile(`"goVersion": "go`)},
		},
		{
			name: "kubectl ext --help speaks of kubectl ext and lists the commands and kubectl's global flags",
			args: []string{"ext", "--help"},
			stdout: []*regexp.Regexp{
				regexp.MustCompile(`(?m)^  kubectl ext \[command\]$`),
				regexp.MustCompile(`(?m)^  version\s+Print the version of kubectl ext$`),
				regexp.MustCompile(`--kubeconfig string`),
				regexp.MustCompile(`--context string`),
				regexp.MustCompile(`(?m)^  kubectl ext version$`),
			},
		},
		{
			name:     "an unknown command fails with exit code 1 and says so",
			args:     []string{"ext", "frobnicate"},
			wantExit: 1,
			stderr:   regexp.MustCompile(`unknown command "frobnicate" for "kubectl ext"`),
		},
		{
			name:     "a bad output format fails with exit code 1 and names the choices",
			args:     []string{"ext", "version", "-o", "toml"},
			wantExit: 1,
			stderr:   regexp.MustCompile(`--output must be json or yaml, not "toml"`),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			res, err := env.Kubectl(ctx, binDir, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			if res.ExitCode != tt.wantExit {
				t.Fatalf("exit code %d, want %d\nstdout: %s\nstderr: %s", res.ExitCode, tt.wantExit, res.Stdout, res.Stderr)
			}
			for _, re := range tt.stdout {
				if !re.MatchString(res.Stdout) {
					t.Errorf("stdout does not match %s:\n%s", re, res.Stdout)
				}
			}
			if tt.stderr != nil && !tt.stderr.MatchString(res.Stderr) {
				t.Errorf("stderr does not match %s:\n%s", tt.stderr, res.Stderr)
			}
		})
	}
}

func TestVersionInProcess(t *testing.T) {
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	cmd := cli.NewRootCommand(streams)
	if code := cli.Execute(cmd, streams, []string{"version", "-o", "yaml"}); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"version: v", "goVersion: go", "platform: "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the YAML lacks %q:\n%s", want, out)
		}
	}
}
