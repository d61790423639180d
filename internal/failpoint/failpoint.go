// Package failpoint stops a command at a named step, so that tests can interrupt it
// there (SIGKILL, SIGINT) deterministically, with no timing.
//
// Production builds compile every failpoint to nothing: Hit is an empty function the
// compiler inlines away and Enabled is false. A build with the tag failpoints (the
// reliability tests build the plugin so) reads Env: when it names the step a command
// reaches, the command prints one line to stderr, "failpoint COMMAND/STEP reached",
// and waits there until its context is done. The test waits for that line, sends its
// signal, and sees what the command leaves. After SIGINT (which cancels the command's
// context, see internal/cli's Execute) the command goes on from the failpoint as it
// would from any step a Ctrl-C interrupted: everything after it sees a cancelled
// context.
//
// Why not etcd's gofail or pingcap's failpoint: both rewrite the source before a
// build (gofail enable, failpoint-ctl or its toolexec) and restore it after, which a
// `go test` that builds the plugin would have to run around every build; and neither
// has a term that waits for the caller's context (gofail sleeps for a time, pingcap's
// pause waits until the failpoint is turned off over its API), which is what makes
// SIGINT land on the step. What this package does fits in a few lines.
package failpoint

// Env names the failpoint a failpoints build stops at, as COMMAND/STEP, e.g.
// create/after-extension-write. A process runs one command, so the step alone picks
// the failpoint; the command part is there for the reader and the marker line.
const Env = "KUBEEXT_FAILPOINT"

// The steps of create, update, upgrade and delete at which a failpoint stops.
const (
	// BeforeExtensionWrite: everything is checked, the chart pulled, the lock held;
	// nothing is written yet.
	BeforeExtensionWrite = "before-extension-write"
	// AfterExtensionWrite: the spec is written (delete: the Deleting status); Helm
	// has not started.
	AfterExtensionWrite = "after-extension-write"
	// DuringHelm: Helm has stored its pending revision (delete: marked the release
	// uninstalling) and is about to change the cluster's objects.
	DuringHelm = "during-helm"
	// DuringHelmWait: Helm has applied the objects (uninstall: deleted them) and
	// waits for them (without --no-wait).
	DuringHelmWait = "during-helm-wait"
	// BeforeStatusWrite: Helm is done; the outcome is not recorded yet.
	BeforeStatusWrite = "before-status-write"
)
