package testenv

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// The binaries and files a Ready cluster needs beside kube-apiserver and etcd, all
// built by `hack/envtest-assets.sh --ready` (make cluster-assets) into the same
// directory. kwok-stages.yaml is the kwok release's own Stages, which say what
// happens to a node and a pod (see the script).
var readyAssets = []string{"kube-controller-manager", "kube-scheduler", "kwok", "kwok-stages.yaml"}

const (
	// KwokNodeAnnotation marks the nodes kwok manages; kwok is started with a selector
	// on it, so a Node a test creates without it stays unmanaged (NotReady).
	KwokNodeAnnotation = "kwok.x-k8s.io/node"
	kwokNodeValue      = "fake"

	// podCIDR is where kwok takes the pods' IPs from. Nothing ever connects to them
	// (kwok runs no containers); the range is wide enough for thousands of pods and
	// apart from serviceCIDR.
	podCIDR = "10.244.0.0/16"
	// serviceCIDR replaces envtest's 10.0.0.0/24, whose 254 ClusterIPs a test
	// with hundreds of charts that each have a Service would exhaust.
	serviceCIDR = "10.96.0.0/16"

	// PodFailsLabel, set to "true" on a pod, makes kwok fail the pod once it runs:
	// phase Failed, its containers terminated with exit code 1. A Job whose pod
	// carries it fails, which is how a test gets a failing Helm hook on a Ready
	// cluster (chartsourcetest's hookFails sets it).
	PodFailsLabel = "testenv.kubeext.dev/fail"

	// readyTimeout bounds the waits of a Ready start together: the components
	// answering their health checks, the nodes becoming Ready, the first
	// ServiceAccount. A warm start takes seconds.
	readyTimeout = 90 * time.Second
)

// ReadyAssetsDir returns the directory of kube-apiserver, etcd and what a Ready
// cluster needs too ($KUBEBUILDER_ASSETS, or the newest complete build in the cache).
func ReadyAssetsDir() (string, error) {
	return assetsDir(true)
}

// testStages are kwok Stages of testenv's own, loaded after the release's: a pod
// labelled PodFailsLabel fails once it runs. Its weight wins over the release's
// pod-complete (weight 0), which would otherwise complete a Job's pod: kwok picks
// among the Stages that match by weight.
const testStages = `apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: testenv-pod-fails
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.labels["` + PodFailsLabel + `"]'
      operator: 'In'
      values:
      - 'true'
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.status.phase'
      operator: 'In'
      values:
      - 'Running'
  weight: 1
  next:
    statusTemplate: |
      {{ $now := Now }}
      conditions:
      - lastTransitionTime: {{ $now | Quote }}
        status: "False"
        reason: PodFailed
        type: Ready
      - lastTransitionTime: {{ $now | Quote }}
        status: "False"
        reason: PodFailed
        type: ContainersReady
      containerStatuses:
      {{ range .spec.containers }}
      - image: {{ .image | Quote }}
        name: {{ .name | Quote }}
        ready: false
        restartCount: 0
        started: false
        state:
          terminated:
            exitCode: 1
            finishedAt: {{ $now | Quote }}
            reason: Error
            message: failed by testenv's kwok stage (label ` + PodFailsLabel + `)
            startedAt: {{ $now | Quote }}
      {{ end }}
      phase: Failed
`

// component is a control-plane process that testenv starts beside envtest's:
// kube-controller-manager, kube-scheduler or kwok.
type component struct {
	name string
	cmd  *exec.Cmd
	// logPath is where its output goes when Options.Output is nil ("" otherwise).
	logPath string
	logFile *os.File
	done    chan struct{}
	err     error // how it ended, set before done is closed
	// stopping is set once Stop signalled it, so its exit is not reported as a crash.
	stopping bool
}

func startComponent(dir, name, path string, args []string, out io.Writer) (*component, error) {
	c := &component{name: name, done: make(chan struct{})}
	c.cmd = exec.Command(path, args...)
	if out == nil {
		c.logPath = filepath.Join(dir, name+".log")
		f, err := os.Create(c.logPath)
		if err != nil {
			return nil, err
		}
		c.logFile, out = f, f
	}
	c.cmd.Stdout, c.cmd.Stderr = out, out
	// A writer that is not a file is copied through pipes; a grandchild holding them
	// would otherwise hold Wait forever.
	c.cmd.WaitDelay = 5 * time.Second
	if err := c.cmd.Start(); err != nil {
		if c.logFile != nil {
			c.logFile.Close()
		}
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	go func() {
		c.err = c.cmd.Wait()
		if c.logFile != nil {
			c.logFile.Close()
		}
		close(c.done)
	}()
	return c, nil
}

// exited returns a non-nil error if the component has ended.
func (c *component) exited() error {
	select {
	case <-c.done:
		if c.err == nil {
			return fmt.Errorf("%s exited with status 0%s", c.name, c.logTail())
		}
		return fmt.Errorf("%s exited (%w)%s", c.name, c.err, c.logTail())
	default:
		return nil
	}
}

// logTail is the end of the component's log, for an error message.
func (c *component) logTail() string {
	if c.logPath == "" {
		return "; its log went to Options.Output"
	}
	b, err := os.ReadFile(c.logPath)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return "; the end of its log:\n\t" + strings.Join(lines, "\n\t")
}

// stop sends SIGTERM and, after grace, SIGKILL. These are not the project's servers:
// how they exit on SIGTERM is theirs to decide, so only a crash before stop (the
// tests then ran on a broken cluster) is an error.
func (c *component) stop(grace time.Duration) error {
	if err := c.exited(); err != nil && !c.stopping {
		return err
	}
	c.stopping = true
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(grace):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
	return nil
}

// startReady starts kube-controller-manager, kube-scheduler and kwok against the
// running API server, creates opts' nodes and waits until the cluster runs pods:
// both controllers' health checks pass, every node is Ready with no taint that keeps
// pods off, and the default ServiceAccount exists (the ServiceAccount admission
// plugin refuses pods in a namespace without one).
func (e *Env) startReady(assets string, opts Options) error {
	out := opts.Output
	api := e.env.ControlPlane.GetAPIServer()
	caFile := filepath.Join(e.dir, "ca.crt")
	if err := os.WriteFile(caFile, api.SecureServing.CA, 0o600); err != nil {
		return err
	}
	// Each component authenticates as the user its bootstrap RBAC role is bound to,
	// as kubeadm sets them up; kwok plays every kubelet and so is a cluster admin.
	kubeconfig := func(name string, user envtest.User) (string, error) {
		u, err := e.env.AddUser(user, nil)
		if err != nil {
			return "", fmt.Errorf("provisioning %s's user: %w", name, err)
		}
		kc, err := u.KubeConfig()
		if err != nil {
			return "", err
		}
		p := filepath.Join(e.dir, name+".kubeconfig")
		return p, os.WriteFile(p, kc, 0o600)
	}
	serving := func(name string) (port string, certDir string, err error) {
		addr, err := FreeAddr()
		if err != nil {
			return "", "", err
		}
		_, port, _ = net.SplitHostPort(addr)
		certDir = filepath.Join(e.dir, name)
		return port, certDir, os.MkdirAll(certDir, 0o700)
	}

	kcmKubeconfig, err := kubeconfig("kube-controller-manager", envtest.User{Name: "system:kube-controller-manager"})
	if err != nil {
		return err
	}
	kcmPort, kcmCerts, err := serving("kube-controller-manager")
	if err != nil {
		return err
	}
	// Every default controller, each with its own ServiceAccount's token and RBAC
	// (--use-service-account-credentials), as in a kubeadm cluster. The private key is
	// the one the API server signs and verifies ServiceAccount tokens with, so the
	// tokens the serviceaccount-token controller signs are valid too.
	kcm, err := startComponent(e.dir, "kube-controller-manager", filepath.Join(assets, "kube-controller-manager"), []string{
		"--kubeconfig=" + kcmKubeconfig,
		"--authentication-kubeconfig=" + kcmKubeconfig,
		"--authorization-kubeconfig=" + kcmKubeconfig,
		"--bind-address=127.0.0.1",
		"--secure-port=" + kcmPort,
		"--cert-dir=" + kcmCerts,
		"--leader-elect=false",
		"--use-service-account-credentials=true",
		"--service-account-private-key-file=" + filepath.Join(api.CertDir, "sa-signer.key"),
		"--root-ca-file=" + caFile,
	}, out)
	if err != nil {
		return err
	}
	e.components = append(e.components, kcm)

	schedKubeconfig, err := kubeconfig("kube-scheduler", envtest.User{Name: "system:kube-scheduler"})
	if err != nil {
		return err
	}
	schedPort, schedCerts, err := serving("kube-scheduler")
	if err != nil {
		return err
	}
	sched, err := startComponent(e.dir, "kube-scheduler", filepath.Join(assets, "kube-scheduler"), []string{
		"--kubeconfig=" + schedKubeconfig,
		"--authentication-kubeconfig=" + schedKubeconfig,
		"--authorization-kubeconfig=" + schedKubeconfig,
		"--bind-address=127.0.0.1",
		"--secure-port=" + schedPort,
		"--cert-dir=" + schedCerts,
		"--leader-elect=false",
	}, out)
	if err != nil {
		return err
	}
	e.components = append(e.components, sched)

	kwokKubeconfig, err := kubeconfig("kwok", envtest.User{Name: "kwok", Groups: []string{"system:masters"}})
	if err != nil {
		return err
	}
	// The nodes' address is loopback, so that anything that ever dials a node (the
	// API server for kubectl logs) stays on this machine. kwok renews each node's
	// Lease, which is what keeps the node lifecycle controller from tainting it.
	ownStages := filepath.Join(e.dir, "kwok-testenv-stages.yaml")
	if err := os.WriteFile(ownStages, []byte(testStages), 0o600); err != nil {
		return err
	}
	kwok, err := startComponent(e.dir, "kwok", filepath.Join(assets, "kwok"), []string{
		"--kubeconfig=" + kwokKubeconfig,
		"--config=" + filepath.Join(assets, "kwok-stages.yaml"),
		"--config=" + ownStages,
		"--manage-nodes-with-annotation-selector=" + KwokNodeAnnotation + "=" + kwokNodeValue,
		"--cidr=" + podCIDR,
		"--node-ip=127.0.0.1",
		"--node-lease-duration-seconds=40",
	}, out)
	if err != nil {
		return err
	}
	e.components = append(e.components, kwok)

	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	for _, h := range []struct {
		c    *component
		port string
	}{{kcm, kcmPort}, {sched, schedPort}} {
		if err := e.waitHealthy(ctx, h.c, h.port); err != nil {
			return err
		}
	}
	nodes := opts.Nodes
	if nodes <= 0 {
		nodes = 1
	}
	for i := range nodes {
		name := fmt.Sprintf("kwok-node-%d", i)
		if err := e.AddNode(ctx, name); err != nil {
			return err
		}
	}
	for _, n := range e.nodes {
		if err := e.WaitNodeReady(ctx, n); err != nil {
			return err
		}
	}
	return e.waitFor(ctx, "the default ServiceAccount in namespace default (kube-controller-manager's serviceaccount controller)", func(ctx context.Context) (bool, error) {
		err := e.Client.Get(ctx, types.NamespacedName{Namespace: "default", Name: "default"}, &corev1.ServiceAccount{})
		return err == nil, client404(err)
	})
}

// client404 lets a poll go on while the object does not exist yet.
func client404(err error) error {
	if err == nil || apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// waitFor polls cond until it holds, a component ends, or ctx is done; the error
// names what did not happen.
func (e *Env) waitFor(ctx context.Context, what string, cond func(context.Context) (bool, error)) error {
	var last error
	err := wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		for _, c := range e.components {
			if err := c.exited(); err != nil {
				return false, err
			}
		}
		// Each check has a deadline of its own, so that the last one before the overall
		// deadline fails for its own reason (a taint still there), not for the deadline.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		ok, err := cond(cctx)
		if err != nil {
			last = err // transient (a component still starting); reported on timeout
		}
		return ok, nil
	})
	if err == nil {
		return nil
	}
	if ctx.Err() == nil {
		return err // a component ended
	}
	// Which component failed to act is rarely clear from the condition: show each
	// one's last lines (Start removes the logs with the cluster).
	var logs strings.Builder
	for _, c := range e.components {
		fmt.Fprintf(&logs, "\n%s%s", c.name, c.logTail())
	}
	if last != nil {
		return fmt.Errorf("waiting for %s: %w (last error: %w)%s", what, err, last, logs.String())
	}
	return fmt.Errorf("waiting for %s: %w%s", what, err, logs.String())
}

// waitHealthy waits until the component's /healthz answers 200. It serves with a
// certificate it made itself, which only this check on loopback ever sees.
func (e *Env) waitHealthy(ctx context.Context, c *component, port string) error {
	hc := &http.Client{
		Timeout:   2 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, //nolint:gosec // see above
	}
	defer hc.CloseIdleConnections()
	url := "https://" + net.JoinHostPort("127.0.0.1", port) + "/healthz"
	return e.waitFor(ctx, c.name+" answering "+url, func(ctx context.Context) (bool, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return false, err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return false, err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		if resp.StatusCode != http.StatusOK {
			return false, fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(body))
		}
		return true, nil
	})
}

// AddNode creates a Node that kwok manages: it becomes Ready, and pods scheduled to
// it become Running and Ready (a Job's pods Succeed). Its labels are those a real
// Linux node has, so charts' nodeSelectors on kubernetes.io/os and arch match.
// Only a Ready cluster (Options.Ready) has a kwok to manage it.
func (e *Env) AddNode(ctx context.Context, name string) error {
	if len(e.components) == 0 {
		return errors.New("AddNode needs a cluster started with Options.Ready")
	}
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{
		Name:        name,
		Annotations: map[string]string{KwokNodeAnnotation: kwokNodeValue},
		Labels: map[string]string{
			"kubernetes.io/hostname": name,
			"kubernetes.io/os":       "linux",
			"kubernetes.io/arch":     "amd64",
			"type":                   "kwok",
		},
	}}
	if err := e.Client.Create(ctx, node); err != nil {
		return fmt.Errorf("creating node %s: %w", name, err)
	}
	e.nodes = append(e.nodes, name)
	return nil
}

// Nodes are the names of the kwok nodes, those of Options.Nodes and AddNode.
func (e *Env) Nodes() []string { return append([]string(nil), e.nodes...) }

// WaitNodeReady waits until the node's Ready condition is True and it has no taint
// that keeps pods off (the API server taints a new node not-ready until the node
// lifecycle controller sees it Ready).
func (e *Env) WaitNodeReady(ctx context.Context, name string) error {
	return e.waitFor(ctx, "node "+name+" Ready and untainted (kwok and kube-controller-manager)", func(ctx context.Context) (bool, error) {
		n := &corev1.Node{}
		if err := e.Client.Get(ctx, types.NamespacedName{Name: name}, n); err != nil {
			return false, err
		}
		if !nodeReady(n) {
			return false, fmt.Errorf("node %s is not Ready yet", name)
		}
		for _, t := range n.Spec.Taints {
			if t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute {
				return false, fmt.Errorf("node %s still has taint %s", name, t.ToString())
			}
		}
		return true, nil
	})
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// stopComponents stops kwok, the scheduler and the controller manager, in the
// reverse of their start, before the API server they talk to goes.
func (e *Env) stopComponents() error {
	var errs []error
	for i := len(e.components) - 1; i >= 0; i-- {
		errs = append(errs, e.components[i].stop(10*time.Second))
	}
	e.components = nil
	return errors.Join(errs...)
}
