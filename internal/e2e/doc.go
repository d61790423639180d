// Package e2e holds the end-to-end tests that need a cluster whose pods become Ready
// (testenv.Options{Ready: true}: kube-controller-manager, kube-scheduler and kwok's
// simulated nodes beside kube-apiserver and etcd): the rows of the reliability matrix
// in which Helm waits for a release's workloads, runs hooks, or outlives an API server
// restart, each through the real kubectl and the built plugin.
//
// The tests carry the build tag e2e, so `make test` (the bare API server) skips them;
// `make test-e2e`, which .ci/run runs, builds the Ready cluster's binaries and runs
// them. The package has no code of its own.
package e2e
