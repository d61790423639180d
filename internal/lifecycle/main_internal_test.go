package lifecycle

import (
	"os"
	"testing"

	"github.com/kubeext/kubectl-ext/internal/testenv"
)

// controlPlane is the package's one real API server (no CRDs: the lock needs Leases,
// Events need nothing), started by the first test that asks for it, so the tests that
// need none never wait for it and `go test -short` needs none.
var controlPlane = &testenv.Shared{Options: testenv.Options{WithoutCRDs: true}}

func TestMain(m *testing.M) { os.Exit(testenv.Run(m, controlPlane)) }
