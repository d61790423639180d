package troubleshoot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	helmrelease "helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/releaseutil"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/install"
	"github.com/kubeext/kubectl-ext/internal/lifecycle"
	"github.com/kubeext/kubectl-ext/internal/policy"
	"github.com/kubeext/kubectl-ext/internal/release"
)

// The archive's files, relative to its top directory.
const (
	FileExtension     = "extension.yaml"
	FileExtensionType = "extensiontype.yaml"
	FileStatus        = "status.yaml"
	FileEvents        = "events.yaml"
	FileHelmHistory   = "helm-history.yaml"
	FileObjects       = "objects.yaml"
	FilePods          = "pods.yaml"
	FileDenials       = "denials.yaml"
	FileVerdict       = "verdict.yaml"
	FileInitCheck     = "init-check.txt"
	// DirLogs holds one file per container: logs/POD/CONTAINER.log, and
	// CONTAINER.previous.log for a container that restarted.
	DirLogs = "logs"
)

// DenialReason is the reason of the Events the webhook records for the writes it
// denies (admission.DenialReason, which a test holds this equal to: the plugin does
// not link the webhook's packages).
const DenialReason = "AdmissionDenied"

// instanceLabel is the label Helm charts put on everything of a release, pods
// included (Helm's own chart starter does): the way to a chart's pods that no owner
// reference of the manifest leads to.
const instanceLabel = "app.kubernetes.io/instance"

// collector gathers one extension's archive.
type collector struct {
	src  Sources
	opts Options
	now  time.Time
	b    *bundle

	ext *v1alpha1.Extension
	// relName and relNS name the release; objects are those of its newest revision's
	// manifest, as found on the cluster.
	relName, relNS string
	objects        []Object
	pods           []corev1.Pod
}

func (c *collector) collect(ctx context.Context) {
	e, err := c.src.Extensions.Get(ctx, c.opts.Name)
	if err != nil {
		c.b.missing(FileExtension, err.Error())
		subject := "extension " + c.opts.Name
		if lifecycle.IsNotFound(err) {
			c.b.find(SeverityError, subject, "it does not exist", "check the name with `kubectl ext list`; the webhook's denials of writes to that name, if any, are in "+FileDenials)
		} else {
			c.b.find(SeverityError, subject, "it could not be read: "+err.Error(), "check the connection and your rights (`kubectl auth can-i get extensions.kubeext.dev`)")
		}
		// What needs no Extension is still collected: the webhook's denials of writes
		// under this name (a create it refused), and the installation's state.
		c.denials(ctx, nil)
		c.initCheck(ctx)
		return
	}
	c.ext = e
	c.relName, c.relNS = e.Name, lifecycle.ReleaseNamespace(e)
	if e.Status.Release.Name != "" {
		c.relName = e.Status.Release.Name
	}
	// The protected values come first: every file after is scrubbed of them.
	c.protectedValues(ctx)
	c.extension()
	c.extensionType(ctx)
	c.statusHistory()
	history := c.helmHistory()
	c.releaseObjects(ctx, history)
	c.releasePods(ctx)
	c.events(ctx)
	c.denials(ctx, e)
	c.verdict(ctx)
	c.initCheck(ctx)
}

// protectedValues reads the extension's protected values, only to scrub them from the
// archive. When they cannot be read the archive is still written, and the summary
// says it could not be scrubbed of them.
func (c *collector) protectedValues(ctx context.Context) {
	ref := c.ext.Spec.ConfigurationProtectedSettings
	if ref == nil {
		return
	}
	s := &corev1.Secret{}
	err := c.src.Client.Get(ctx, types.NamespacedName{Namespace: c.relNS, Name: ref.SecretName}, s)
	var p map[string]string
	if err == nil {
		p, err = lifecycle.DecodeProtected(s)
	}
	if apierrors.IsNotFound(err) {
		return // nothing to leak
	}
	if err != nil {
		c.b.find(SeverityWarning, "archive", fmt.Sprintf("the protected settings (secret %s/%s) could not be read to scrub their values from logs and messages: %v",
			c.relNS, ref.SecretName, err),
			"read the pods' logs in "+DirLogs+"/ and the messages before you share the archive, or run troubleshoot with the right to get that Secret")
		return
	}
	c.b.secrets = slices.Collect(maps.Values(p))
}

func (c *collector) extension() {
	e := c.ext.DeepCopy()
	e.ManagedFields = nil
	e.APIVersion, e.Kind = v1alpha1.GroupVersion.String(), "Extension"
	c.b.addYAML(FileExtension, e)
	subject := "extension " + e.Name
	switch s := e.Status.ProvisioningState; {
	case s == v1alpha1.ProvisioningFailed:
		problem := "provisioning state Failed"
		if ei := e.Status.ErrorInfo; ei != nil {
			problem += ": " + ei.Code + ": " + ei.Message
		}
		c.b.find(SeverityError, subject, problem,
			"fix the cause above (the release's history, objects, pods and Events are in the archive), then retry with `kubectl ext update "+e.Name+"`")
	case s == v1alpha1.ProvisioningCreating || s == v1alpha1.ProvisioningUpdating || s == v1alpha1.ProvisioningDeleting:
		since := ""
		if n := len(e.Status.Statuses); n > 0 && e.Status.Statuses[n-1].Time != nil {
			since = " since " + e.Status.Statuses[n-1].Time.UTC().Format(time.RFC3339)
		}
		c.b.find(SeverityWarning, subject, fmt.Sprintf("an operation is in progress or was interrupted (state %s%s)", s, since),
			"wait for the command that runs it; if none does, the next `kubectl ext update "+e.Name+"` (or `kubectl ext delete "+e.Name+"` for Deleting) recovers it")
	}
	if e.DeletionTimestamp != nil {
		c.b.find(SeverityWarning, subject, "it is being deleted (since "+e.DeletionTimestamp.UTC().Format(time.RFC3339)+")",
			"finish the deletion with `kubectl ext delete "+e.Name+"`")
	}
}

func (c *collector) extensionType(ctx context.Context) {
	t := &v1alpha1.ExtensionType{}
	err := c.src.Client.Get(ctx, types.NamespacedName{Name: c.ext.Spec.ExtensionType}, t)
	if err != nil {
		c.b.missing(FileExtensionType, lifecycle.Explain(err, "get", "extensiontypes.kubeext.dev "+c.ext.Spec.ExtensionType).Error())
		if apierrors.IsNotFound(err) {
			c.b.find(SeverityError, "extension type "+c.ext.Spec.ExtensionType, "it does not exist, so the extension can be neither updated nor upgraded",
				"record the type again (`kubectl ext type add`, or `kubectl ext init` for the default catalog)")
		}
		return
	}
	t.ManagedFields = nil
	t.APIVersion, t.Kind = v1alpha1.GroupVersion.String(), "ExtensionType"
	c.b.addYAML(FileExtensionType, t)
}

// statusHistory is the status without the spec: the states and messages the
// extension went through (status.statuses, newest last) and its conditions.
func (c *collector) statusHistory() {
	s := c.ext.Status
	c.b.addYAML(FileStatus, map[string]any{
		"provisioningState":  s.ProvisioningState,
		"currentVersion":     s.CurrentVersion,
		"targetVersion":      s.TargetVersion,
		"kubernetesVersion":  s.KubernetesVersion,
		"release":            s.Release,
		"errorInfo":          s.ErrorInfo,
		"statuses":           s.Statuses,
		"conditions":         s.Conditions,
		"observedGeneration": s.ObservedGeneration,
		"generation":         c.ext.Generation,
	})
}

// Revision is one revision of the release in helm-history.yaml: what Helm recorded,
// with the keys of the values and never a value (the values hold the protected
// settings).
type Revision struct {
	Revision      int       `json:"revision"`
	Status        string    `json:"status"`
	Chart         string    `json:"chart"`
	AppVersion    string    `json:"appVersion,omitempty"`
	Description   string    `json:"description,omitempty"`
	FirstDeployed time.Time `json:"firstDeployed,omitzero"`
	LastDeployed  time.Time `json:"lastDeployed,omitzero"`
	// ValueKeys are the paths of the values given to this revision.
	ValueKeys []string `json:"valueKeys,omitempty"`
	Hooks     []Hook   `json:"hooks,omitempty"`
}

// Hook is one hook of a revision and how its last run went.
type Hook struct {
	Name        string    `json:"name"`
	Kind        string    `json:"kind"`
	Events      []string  `json:"events,omitempty"`
	Phase       string    `json:"phase,omitempty"`
	StartedAt   time.Time `json:"startedAt,omitzero"`
	CompletedAt time.Time `json:"completedAt,omitzero"`
}

// helmHistory writes the release's history and returns its revisions (nil when
// there is none), oldest first.
func (c *collector) helmHistory() []*helmrelease.Release {
	h, err := c.src.Releases.History(c.relName, c.relNS)
	if errors.Is(err, release.ErrNotFound) {
		c.b.addYAML(FileHelmHistory, map[string]any{"release": c.relNS + "/" + c.relName, "revisions": []Revision{},
			"note": "no revision of the release is stored"})
		if c.ext.Status.Release.Revision > 0 {
			c.b.find(SeverityError, "release "+c.relNS+"/"+c.relName, fmt.Sprintf("it is gone, though the extension records revision %d", c.ext.Status.Release.Revision),
				"`kubectl ext update "+c.ext.Name+"` installs it again")
		}
		return nil
	}
	if err != nil {
		c.b.missing(FileHelmHistory, "the release's history could not be read (it is stored in Secrets of namespace "+c.relNS+"): "+err.Error())
		return nil
	}
	revs := make([]Revision, 0, len(h))
	for _, r := range h {
		revs = append(revs, revisionOf(r))
	}
	c.b.addYAML(FileHelmHistory, map[string]any{"release": c.relNS + "/" + c.relName, "revisions": revs})
	last := revs[len(revs)-1]
	subject := fmt.Sprintf("release %s/%s revision %d", c.relNS, c.relName, last.Revision)
	switch st := helmrelease.Status(last.Status); {
	case st.IsPending():
		c.b.find(SeverityError, subject, "it is "+last.Status+": a Helm operation is running or was interrupted",
			"if no kubectl ext command or extension manager is working on it, `kubectl ext update "+c.ext.Name+"` recovers the release")
	case st == helmrelease.StatusFailed:
		c.b.find(SeverityError, subject, "it failed: "+last.Description,
			"fix the cause, then `kubectl ext update "+c.ext.Name+"` upgrades it again")
	}
	for _, hk := range last.Hooks {
		if hk.Phase == string(helmrelease.HookPhaseFailed) {
			c.b.find(SeverityError, fmt.Sprintf("hook %s %s/%s", hk.Kind, c.relNS, hk.Name), fmt.Sprintf("it failed in revision %d (%s)", last.Revision, strings.Join(hk.Events, ", ")),
				fmt.Sprintf("read its pods' logs (`kubectl logs -n %s -l job-name=%s`, if it is a Job) and Events in %s", c.relNS, hk.Name, FileEvents))
		}
	}
	return h
}

func revisionOf(r *helmrelease.Release) Revision {
	rev := Revision{Revision: r.Version, ValueKeys: valueKeys("", r.Config)}
	if r.Info != nil {
		rev.Status, rev.Description = r.Info.Status.String(), r.Info.Description
		rev.FirstDeployed, rev.LastDeployed = r.Info.FirstDeployed.Time, r.Info.LastDeployed.Time
	}
	if r.Chart != nil && r.Chart.Metadata != nil {
		rev.Chart, rev.AppVersion = r.Chart.Metadata.Name+"-"+r.Chart.Metadata.Version, r.Chart.Metadata.AppVersion
	}
	for _, h := range r.Hooks {
		hk := Hook{Name: h.Name, Kind: h.Kind, Phase: string(h.LastRun.Phase),
			StartedAt: h.LastRun.StartedAt.Time, CompletedAt: h.LastRun.CompletedAt.Time}
		for _, ev := range h.Events {
			hk.Events = append(hk.Events, string(ev))
		}
		rev.Hooks = append(rev.Hooks, hk)
	}
	return rev
}

// valueKeys lists the paths of the leaves of values, sorted: "a.b", "list[0]". The
// values themselves are left out.
func valueKeys(prefix string, v any) []string {
	var out []string
	switch t := v.(type) {
	case map[string]any:
		for k, sub := range t {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			out = append(out, valueKeys(p, sub)...)
		}
	case []any:
		for i, sub := range t {
			out = append(out, valueKeys(fmt.Sprintf("%s[%d]", prefix, i), sub)...)
		}
	default:
		if prefix != "" {
			out = append(out, prefix)
		}
	}
	sort.Strings(out)
	return out
}

// Object is one object of the release in objects.yaml: its name and what kstatus
// says of it, never its content.
type Object struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
	// Status is kstatus's (Current, InProgress, Failed, Terminating, Unknown), or
	// NotFound.
	Status  string `json:"status"`
	Message string `json:"message,omitempty"`
	uid     types.UID
}

// StatusNotFound is the status of an object of the manifest the cluster does not have.
const StatusNotFound = "NotFound"

func (o Object) String() string {
	if o.Namespace == "" {
		return o.Kind + " " + o.Name
	}
	return o.Kind + " " + o.Namespace + "/" + o.Name
}

// releaseObjects reads each object of the newest revision's manifest and computes
// its readiness with kstatus, the library kubectl's and Flux's waits use.
func (c *collector) releaseObjects(ctx context.Context, history []*helmrelease.Release) {
	if len(history) == 0 {
		c.b.addYAML(FileObjects, map[string]any{"objects": []Object{}, "note": "the release has no stored revision, so no manifest to read its objects from"})
		return
	}
	last := history[len(history)-1]
	var notes []string
	for _, doc := range releaseutil.SplitManifests(last.Manifest) {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil || len(u.Object) == 0 {
			continue
		}
		o := Object{APIVersion: u.GetAPIVersion(), Kind: u.GetKind(), Namespace: u.GetNamespace(), Name: u.GetName()}
		gvk := u.GroupVersionKind()
		mapping, err := c.src.Client.RESTMapper().RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			o.Status, o.Message = string(status.UnknownStatus), "its kind is not served by the cluster: "+err.Error()
			c.objects = append(c.objects, o)
			continue
		}
		if mapping.Scope.Name() == meta.RESTScopeNameNamespace && o.Namespace == "" {
			o.Namespace = c.relNS
		}
		live := &unstructured.Unstructured{}
		live.SetGroupVersionKind(gvk)
		err = c.src.Client.Get(ctx, types.NamespacedName{Namespace: o.Namespace, Name: o.Name}, live)
		switch {
		case apierrors.IsNotFound(err):
			o.Status = StatusNotFound
		case err != nil:
			o.Status, o.Message = string(status.UnknownStatus), "could not be read: "+err.Error()
			if apierrors.IsForbidden(err) {
				notes = append(notes, o.String()+": "+err.Error())
			}
		default:
			o.uid = live.GetUID()
			res, err := status.Compute(live)
			if err != nil {
				o.Status, o.Message = string(status.UnknownStatus), err.Error()
			} else {
				o.Status, o.Message = res.Status.String(), res.Message
			}
		}
		c.objects = append(c.objects, o)
	}
	doc := map[string]any{"revision": last.Version, "objects": c.objects}
	if c.objects == nil {
		doc["objects"] = []Object{}
	}
	if len(notes) > 0 {
		doc["notCollected"] = notes
	}
	c.b.addYAML(FileObjects, doc)
	for _, o := range c.objects {
		switch o.Status {
		case string(status.CurrentStatus):
		case StatusNotFound:
			c.b.find(SeverityError, o.String(), "it is in the release's manifest but not on the cluster (deleted by hand?)",
				"`kubectl ext update "+c.ext.Name+"` applies the release again and recreates it")
		case string(status.FailedStatus):
			c.b.find(SeverityError, o.String(), "not ready (kstatus Failed): "+o.Message, describeNext(o))
		default:
			c.b.find(SeverityWarning, o.String(), fmt.Sprintf("not ready (kstatus %s): %s", o.Status, o.Message), describeNext(o))
		}
	}
}

func describeNext(o Object) string {
	ns := ""
	if o.Namespace != "" {
		ns = " -n " + o.Namespace
	}
	return fmt.Sprintf("`kubectl describe %s%s %s`; its Events are in %s and its pods in %s", strings.ToLower(o.Kind), ns, o.Name, FileEvents, FilePods)
}

// PodStatus is one pod of the release in pods.yaml: its status, not its spec.
type PodStatus struct {
	Name       string                   `json:"name"`
	Namespace  string                   `json:"namespace"`
	Phase      corev1.PodPhase          `json:"phase"`
	Reason     string                   `json:"reason,omitempty"`
	Message    string                   `json:"message,omitempty"`
	Node       string                   `json:"node,omitempty"`
	StartTime  *metav1.Time             `json:"startTime,omitempty"`
	Conditions []corev1.PodCondition    `json:"conditions,omitempty"`
	Containers []corev1.ContainerStatus `json:"containerStatuses,omitempty"`
	Init       []corev1.ContainerStatus `json:"initContainerStatuses,omitempty"`
}

// releasePods finds the release's pods: those of its workloads (owned by an object of
// the manifest, directly or through a ReplicaSet) and those labelled with the
// release's instance, and writes their statuses and their containers' last log lines.
func (c *collector) releasePods(ctx context.Context) {
	pods := &corev1.PodList{}
	if err := c.src.Client.List(ctx, pods, client.InNamespace(c.relNS)); err != nil {
		c.b.missing(FilePods, lifecycle.Explain(err, "list", "pods in namespace "+c.relNS).Error())
		return
	}
	owners := map[types.UID]bool{}
	for _, o := range c.objects {
		if o.uid != "" {
			owners[o.uid] = true
		}
	}
	if c.hasKind("Deployment") {
		rs := &appsv1.ReplicaSetList{}
		if err := c.src.Client.List(ctx, rs, client.InNamespace(c.relNS)); err == nil {
			for _, r := range rs.Items {
				if ownedBy(r.OwnerReferences, owners) {
					owners[r.UID] = true
				}
			}
		}
	}
	for _, p := range pods.Items {
		if ownedBy(p.OwnerReferences, owners) || p.Labels[instanceLabel] == c.relName {
			c.pods = append(c.pods, p)
		}
	}
	sort.Slice(c.pods, func(i, j int) bool { return c.pods[i].Name < c.pods[j].Name })
	if len(c.pods) == 0 {
		c.b.addYAML(FilePods, map[string]any{"pods": []PodStatus{},
			"note": fmt.Sprintf("no pods of release %s exist in namespace %s (none owned by its objects, none labelled %s=%s)", c.relName, c.relNS, instanceLabel, c.relName)})
		return
	}
	statuses := make([]PodStatus, 0, len(c.pods))
	for _, p := range c.pods {
		statuses = append(statuses, PodStatus{Name: p.Name, Namespace: p.Namespace, Phase: p.Status.Phase, Reason: p.Status.Reason,
			Message: p.Status.Message, Node: p.Spec.NodeName, StartTime: p.Status.StartTime, Conditions: p.Status.Conditions,
			Containers: p.Status.ContainerStatuses, Init: p.Status.InitContainerStatuses})
		c.podFindings(p)
	}
	c.b.addYAML(FilePods, map[string]any{"pods": statuses})
	for _, p := range c.pods {
		c.podLogs(ctx, p)
	}
}

func (c *collector) hasKind(kind string) bool {
	return slices.ContainsFunc(c.objects, func(o Object) bool { return o.Kind == kind })
}

func ownedBy(refs []metav1.OwnerReference, owners map[types.UID]bool) bool {
	return slices.ContainsFunc(refs, func(r metav1.OwnerReference) bool { return owners[r.UID] })
}

// podFindings says what is wrong with a pod: not running, or a container waiting
// (CrashLoopBackOff, ImagePullBackOff), or restarting.
func (c *collector) podFindings(p corev1.Pod) {
	subject := "pod " + p.Namespace + "/" + p.Name
	next := fmt.Sprintf("`kubectl describe pod -n %s %s`; its last log lines are in %s/%s/", p.Namespace, p.Name, DirLogs, p.Name)
	switch p.Status.Phase {
	case corev1.PodSucceeded:
		return
	case corev1.PodFailed:
		c.b.find(SeverityError, subject, "it failed: "+strings.TrimSpace(p.Status.Reason+" "+p.Status.Message), next)
		return
	case corev1.PodPending:
		why := "no node has started it"
		if p.Spec.NodeName == "" {
			why = "it is not scheduled on a node"
			for _, cond := range p.Status.Conditions {
				if cond.Type == corev1.PodScheduled && cond.Status == corev1.ConditionFalse && cond.Message != "" {
					why += ": " + cond.Message
				}
			}
		}
		c.b.find(SeverityWarning, subject, "Pending: "+why, next)
		return
	}
	for _, cs := range append(slices.Clone(p.Status.InitContainerStatuses), p.Status.ContainerStatuses...) {
		switch {
		case cs.State.Waiting != nil && cs.State.Waiting.Reason != "" && cs.State.Waiting.Reason != "PodInitializing" && cs.State.Waiting.Reason != "ContainerCreating":
			c.b.find(SeverityError, subject, fmt.Sprintf("container %s is waiting: %s %s", cs.Name, cs.State.Waiting.Reason, cs.State.Waiting.Message), next)
		case cs.RestartCount > 0 && !cs.Ready:
			c.b.find(SeverityWarning, subject, fmt.Sprintf("container %s restarted %d times and is not ready", cs.Name, cs.RestartCount), next)
		}
	}
	for _, cond := range p.Status.Conditions {
		if cond.Type == corev1.PodReady && cond.Status != corev1.ConditionTrue && p.Status.Phase == corev1.PodRunning {
			c.b.find(SeverityWarning, subject, "running but not ready: "+strings.TrimSpace(cond.Reason+" "+cond.Message), next)
		}
	}
}

// podLogs writes the last lines of each container's log, and of its previous run when
// it restarted. A log that cannot be read (a pod not started, no right to pods/log)
// gets a file saying why.
func (c *collector) podLogs(ctx context.Context, p corev1.Pod) {
	restarts := map[string]int32{}
	for _, cs := range append(slices.Clone(p.Status.InitContainerStatuses), p.Status.ContainerStatuses...) {
		restarts[cs.Name] = cs.RestartCount
	}
	var containers []string
	for _, ct := range p.Spec.InitContainers {
		containers = append(containers, ct.Name)
	}
	for _, ct := range p.Spec.Containers {
		containers = append(containers, ct.Name)
	}
	for _, name := range containers {
		base := DirLogs + "/" + p.Name + "/" + name
		if p.Spec.NodeName == "" {
			// The API server answers a log request for such a pod with an empty log.
			c.b.missing(base+".log", fmt.Sprintf("pod %s/%s is not scheduled on a node, so container %s has no log yet", p.Namespace, p.Name, name))
			continue
		}
		c.log(ctx, p, name, false, base+".log")
		if restarts[name] > 0 {
			c.log(ctx, p, name, true, base+".previous.log")
		}
	}
}

func (c *collector) log(ctx context.Context, p corev1.Pod, container string, previous bool, file string) {
	if c.src.Kube == nil {
		c.b.missing(file, "no client for pod logs")
		return
	}
	tail := c.opts.Tail
	rc, err := c.src.Kube.CoreV1().Pods(p.Namespace).GetLogs(p.Name, &corev1.PodLogOptions{Container: container, TailLines: &tail, Previous: previous}).Stream(ctx)
	if err != nil {
		c.b.missing(file, fmt.Sprintf("the log of container %s of pod %s/%s could not be read: %v", container, p.Namespace, p.Name, err))
		return
	}
	defer rc.Close()
	// A tail of lines is small; the cap guards against a runaway line.
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, io.LimitReader(rc, 4<<20)); err != nil {
		c.b.missing(file, fmt.Sprintf("reading the log of container %s of pod %s/%s: %v", container, p.Namespace, p.Name, err))
		return
	}
	c.b.add(file, buf.Bytes())
}

// Event is one Event in events.yaml and denials.yaml.
type Event struct {
	Object    string    `json:"object"`
	Type      string    `json:"type"`
	Reason    string    `json:"reason"`
	Message   string    `json:"message"`
	Count     int32     `json:"count"`
	FirstSeen time.Time `json:"firstSeen,omitzero"`
	LastSeen  time.Time `json:"lastSeen"`
	From      string    `json:"from,omitempty"`
}

func eventOf(ev *corev1.Event) Event {
	from := ev.ReportingController
	if from == "" {
		from = ev.Source.Component
	}
	obj := ev.InvolvedObject.Kind + " " + ev.InvolvedObject.Name
	if ev.InvolvedObject.Namespace != "" {
		obj = ev.InvolvedObject.Kind + " " + ev.InvolvedObject.Namespace + "/" + ev.InvolvedObject.Name
	}
	return Event{Object: obj, Type: ev.Type, Reason: ev.Reason, Message: ev.Message, Count: max(ev.Count, 1),
		FirstSeen: ev.FirstTimestamp.Time, LastSeen: lifecycle.LastSeen(ev), From: from}
}

// events writes the Events about the extension (the plugin's and the manager's, the
// webhook's denials among them) and those in the release namespace about the
// release's objects and pods, and the ReplicaSets and pods named after them.
func (c *collector) events(ctx context.Context) {
	doc := map[string]any{}
	var notes []string
	about, err := c.src.Extensions.Events(ctx, c.ext)
	if err != nil {
		notes = append(notes, "the Events about the extension: "+err.Error())
	}
	ext := make([]Event, 0, len(about))
	for i := range about {
		ext = append(ext, eventOf(&about[i]))
	}
	doc["extension"] = ext

	list := &corev1.EventList{}
	if err := c.src.Client.List(ctx, list, client.InNamespace(c.relNS)); err != nil {
		notes = append(notes, "the Events in namespace "+c.relNS+": "+lifecycle.Explain(err, "list", "events in namespace "+c.relNS).Error())
	}
	names := map[string]bool{}
	var prefixes []string
	for _, o := range c.objects {
		names[o.Kind+"/"+o.Name] = true
		if o.Kind == "Deployment" || o.Kind == "StatefulSet" || o.Kind == "DaemonSet" || o.Kind == "Job" || o.Kind == "CronJob" {
			prefixes = append(prefixes, o.Name+"-")
		}
	}
	for _, p := range c.pods {
		names["Pod/"+p.Name] = true
	}
	items := list.Items
	sort.SliceStable(items, func(i, j int) bool { return lifecycle.LastSeen(&items[i]).Before(lifecycle.LastSeen(&items[j])) })
	rel := []Event{}
	for i := range items {
		ev := &items[i]
		obj := ev.InvolvedObject
		named := (obj.Kind == "ReplicaSet" || obj.Kind == "Pod" || obj.Kind == "Job") &&
			slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(obj.Name, p) })
		if names[obj.Kind+"/"+obj.Name] || named {
			rel = append(rel, eventOf(ev))
		}
	}
	doc["release"] = rel
	if len(notes) > 0 {
		doc["notCollected"] = notes
		for _, n := range notes {
			c.b.report.NotCollected = append(c.b.report.NotCollected, NotCollected{File: FileEvents, Reason: n})
		}
	}
	c.b.addYAML(FileEvents, doc)
}

// maxDenialFindings bounds the denials the summary lists; denials.yaml has them all.
const maxDenialFindings = 5

// denials writes the webhook's denials of writes to the extension (by name, so a
// refused create, which has no UID, is among them) and to its type, newest last.
func (c *collector) denials(ctx context.Context, e *v1alpha1.Extension) {
	type target struct{ kind, name string }
	targets := []target{{"Extension", c.opts.Name}}
	if e != nil {
		targets = append(targets, target{"ExtensionType", e.Spec.ExtensionType})
	}
	var all []corev1.Event
	for _, t := range targets {
		list := &corev1.EventList{}
		sel := fields.Set{"involvedObject.kind": t.kind, "involvedObject.name": t.name, "reason": DenialReason}
		if err := c.src.Client.List(ctx, list, client.InNamespace(lifecycle.EventNamespace),
			client.MatchingFieldsSelector{Selector: sel.AsSelector()}); err != nil {
			c.b.missing(FileDenials, lifecycle.Explain(err, "list", "events in namespace "+lifecycle.EventNamespace).Error())
			return
		}
		all = append(all, list.Items...)
	}
	sort.SliceStable(all, func(i, j int) bool { return lifecycle.LastSeen(&all[i]).Before(lifecycle.LastSeen(&all[j])) })
	out := make([]Event, 0, len(all))
	for i := range all {
		out = append(out, eventOf(&all[i]))
	}
	doc := map[string]any{"denials": out,
		"note": "each write the kubectl-ext webhook refused, recorded as an Event (reason " + DenialReason + ") that the API server keeps for its --event-ttl (1h by default); dry runs are not recorded"}
	c.b.addYAML(FileDenials, doc)
	// The newest first in the summary.
	for i := len(out) - 1; i >= 0 && len(out)-i <= maxDenialFindings; i-- {
		d := out[i]
		times := ""
		if d.Count > 1 {
			times = fmt.Sprintf(" (%d times, last at %s)", d.Count, d.LastSeen.UTC().Format(time.RFC3339))
		} else {
			times = " (at " + d.LastSeen.UTC().Format(time.RFC3339) + ")"
		}
		c.b.find(SeverityWarning, "webhook", "denied a write to "+d.Object+times+": "+d.Message,
			"change what the writer sends as the rule says (docs/policies.md explains each rule); `kubectl ext` commands check the same policies before they write")
	}
	if len(out) > maxDenialFindings {
		c.b.find(SeverityWarning, "webhook", fmt.Sprintf("%d earlier denials", len(out)-maxDenialFindings), "see "+FileDenials)
	}
}

// verdict writes the policies' verdict on the current spec, written again unchanged.
func (c *collector) verdict(ctx context.Context) {
	d, err := c.src.Extensions.Verdict(ctx, c.ext)
	if err != nil {
		c.b.missing(FileVerdict, "the policies could not judge the current spec: "+err.Error())
		return
	}
	c.b.addYAML(FileVerdict, map[string]any{"allowed": d.Allowed(), "deny": orEmpty(d.Deny), "warn": orEmpty(d.Warn), "dryrun": orEmpty(d.DryRun),
		"note": "the current spec judged as an update of itself, against the cluster, its type and the other extensions as they are now"})
	if !d.Allowed() {
		c.b.find(SeverityError, "extension "+c.ext.Name, "the policies refuse its current spec, so every write of it (an update, an upgrade) is refused:\n"+strings.Join(policy.Lines(d.Deny), "\n"),
			"change what the rules name with `kubectl ext update "+c.ext.Name+"` (a version, a train), or fix the type's catalog (`kubectl ext type sync "+c.ext.Spec.ExtensionType+"`)")
	}
}

func orEmpty(rs []policy.Result) []policy.Result {
	if rs == nil {
		return []policy.Result{}
	}
	return rs
}

// initCheck writes `kubectl ext init --check`'s table, and reports its problems.
func (c *collector) initCheck(ctx context.Context) {
	if c.src.Check == nil {
		c.b.missing(FileInitCheck, "no checker")
		return
	}
	rows, err := c.src.Check(ctx)
	if err != nil {
		c.b.missing(FileInitCheck, "`kubectl ext init --check` failed: "+err.Error())
		return
	}
	var buf bytes.Buffer
	// WriteReport's error only repeats the rows' problems, reported below.
	_ = install.WriteReport(&buf, rows, false, false)
	c.b.add(FileInitCheck, buf.Bytes())
	for _, r := range rows {
		if r.Problem != "" {
			c.b.find(SeverityError, r.Component, r.Problem, "`kubectl ext init` installs or repairs it (docs/install.md)")
		}
		if r.Component == "webhook answers" && r.Status != "Yes" {
			c.b.find(SeverityWarning, "webhook", "it does not review writes ("+r.Detail+"), so nothing records denied writes and only the plugin's own checks apply",
				"`kubectl ext init --with-webhook` installs it (docs/operations.md)")
		}
	}
}
