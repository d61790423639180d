// Package version reports the build's version, set with -ldflags at release time.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Set with -ldflags "-X github.com/kubeext/kubectl-ext/internal/version.version=v0.1.0 ...".
var (
	version   = ""
	gitCommit = ""
	buildDate = ""
)

// Info describes a build.
type Info struct {
	Version   string `json:"version"`
	GitCommit string `json:"gitCommit,omitempty"`
	BuildDate string `json:"buildDate,omitempty"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
}

// Get returns the build's Info. Without ldflags it falls back to the module version Go
// recorded (a `go install ...@v0.1.0` build) and then to "v0.0.0-dev".
func Get() Info {
	v := version
	if v == "" {
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		} else {
			v = "v0.0.0-dev"
		}
	}
	return Info{
		Version:   v,
		GitCommit: gitCommit,
		BuildDate: buildDate,
		GoVersion: runtime.Version(),
		Platform:  fmt.Sprintf("%s/%s", runtime.GOOS, runtime.GOARCH),
	}
}
