// Command kubectl-ext is the `kubectl ext` plugin: the extension manager.
package main

import (
	"os"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubeext/kubectl-ext/cmd/kubectl-ext/internal/initgc"
	"github.com/kubeext/kubectl-ext/internal/cli"
)

func main() {
	initgc.Done()
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	os.Exit(cli.Execute(cli.NewRootCommand(streams), streams, os.Args[1:]))
}
