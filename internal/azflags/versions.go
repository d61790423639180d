package azflags

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/kubeext/kubectl-ext/internal/catalog"
)

// Versions is the flags of `az k8s-extension extension-types
// list-versions-by-cluster`, which `kubectl ext type versions` mirrors, and the
// plugin's --all, as given.
type Versions struct {
	ReleaseTrain string
	MajorVersion string
	ShowLatest   bool
	All          bool
}

// AddFlags registers the flags on fs.
func (v *Versions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&v.ReleaseTrain, "release-train", "", "Release train whose versions to list (default Stable, or the type's first train when it has no Stable).")
	fs.StringVar(&v.MajorVersion, "major-version", "", "List only versions of this major version, e.g. 1 for 1.x.")
	fs.BoolVar(&v.ShowLatest, "show-latest", false, "List only the newest version the cluster can run.")
	fs.BoolVar(&v.All, "all", false, "List the excluded versions too, with the reason.")
}

// Request checks the flags and turns them into the query for the versions of the
// extension type typ. Its KubeVersion is the caller's: it needs a cluster.
func (v *Versions) Request(typ string) (catalog.VersionsRequest, error) {
	req := catalog.VersionsRequest{Type: typ, Train: v.ReleaseTrain, Major: -1, Latest: v.ShowLatest, All: v.All}
	if v.MajorVersion != "" {
		n, err := strconv.ParseUint(strings.TrimPrefix(v.MajorVersion, "v"), 10, 31)
		if err != nil {
			return req, fmt.Errorf("--major-version must be a whole number such as 1 (for 1.x), not %q", v.MajorVersion)
		}
		req.Major = int(n)
	}
	if v.ShowLatest && v.All {
		return req, fmt.Errorf("--show-latest lists only the newest version the cluster can run and --all lists excluded versions too: give one of them")
	}
	return req, nil
}
