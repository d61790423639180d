package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// KubectlPath returns the real kubectl: $KUBECTL or the first kubectl on PATH.
func KubectlPath() (string, error) {
	if k := os.Getenv("KUBECTL"); k != "" {
		return k, nil
	}
	p, err := exec.LookPath("kubectl")
	if err != nil {
		return "", fmt.Errorf("kubectl is not on PATH (set $KUBECTL to use another): %w", err)
	}
	return p, nil
}

// ModuleRoot returns the directory of the project's go.mod.
func ModuleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside the kubectl-ext module")
	}
	return filepath.Dir(mod), nil
}

// BuildCommands builds the project's main packages (e.g. "kubectl-ext" for
// ./cmd/kubectl-ext) into dir, so tests run the real binaries as users do.
func BuildCommands(dir string, names ...string) error {
	root, err := ModuleRoot()
	if err != nil {
		return err
	}
	for _, n := range names {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, n), "./cmd/"+n)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build ./cmd/%s: %w\n%s", n, err, out)
		}
	}
	return nil
}

// Result is what a command printed and how it ended.
type Result struct {
	Stdout, Stderr string
	ExitCode       int
}

// Kubectl runs the real kubectl against this control plane with binDir (where
// BuildCommands put kubectl-ext) first on PATH, so `kubectl ext ...` finds the plugin.
func (e *Env) Kubectl(ctx context.Context, binDir string, args ...string) (Result, error) {
	kubectl, err := KubectlPath()
	if err != nil {
		return Result{}, err
	}
	cmd := exec.CommandContext(ctx, kubectl, args...)
	cmd.Env = append(os.Environ(),
		"KUBECONFIG="+e.Kubeconfig,
		"PATH="+binDir+string(os.PathListSeparator)+os.Getenv("PATH"),
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	res := Result{Stdout: stdout.String(), Stderr: stderr.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		res.ExitCode = ee.ExitCode()
		return res, nil
	}
	return res, err
}
