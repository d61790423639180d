// Command democharts packages the demo's podinfo chart versions (the same fixtures the
// tests use) into a directory, for a file:// extension type:
//
//	go run ./hack/democharts DIR
package main

import (
	"fmt"
	"os"

	"helm.sh/helm/v3/pkg/chartutil"

	"github.com/kubeext/kubectl-ext/internal/chartsource/chartsourcetest"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: democharts DIR")
		os.Exit(2)
	}
	dir := os.Args[1]
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, spec := range chartsourcetest.Podinfo() {
		// The demo passes apiKey as a protected setting: the chart lists it among its
		// values, as a real chart does each key it reads, so the settings check that
		// warns about keys a chart does not know stays quiet.
		values := map[string]interface{}{"apiKey": ""}
		for k, v := range spec.Values {
			values[k] = v
		}
		spec.Values = values
		ch, err := chartsourcetest.Chart(spec)
		if err == nil {
			_, err = chartutil.Save(ch, dir)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "democharts: %s: %v\n", spec.Version, err)
			os.Exit(1)
		}
	}
}
