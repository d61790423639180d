package install

import (
	"os"
	"testing"

	"github.com/kubeext/kubectl-ext/internal/testenv"
)

// shared is the package's control plane, started by the first test that needs one
// (the pure tests and `go test -short` never wait for it). Without the CRDs: init
// installs them.
var shared = &testenv.Shared{Options: testenv.Options{WithoutCRDs: true}}

func TestMain(m *testing.M) { os.Exit(testenv.Run(m, shared)) }
