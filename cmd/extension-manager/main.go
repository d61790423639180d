// Command extension-manager runs the kubectl-ext lifecycle continuously: declared
// Extensions, drift, and auto-upgrades inside maintenance windows (internal/manager).
package main

import (
	"os"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/kubeext/kubectl-ext/internal/manager"
)

func main() {
	os.Exit(manager.Main(ctrl.SetupSignalHandler(), os.Args[1:]))
}
