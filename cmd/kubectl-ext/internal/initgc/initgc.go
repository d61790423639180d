// Package initgc holds the garbage collector off while the plugin's packages are
// initialised; main gives it back with Done before it does anything else.
//
// The packages the plugin links allocate about 10 MB in their init functions, almost
// all of it kept: client-go's and kubectl's schemes, controller-runtime's, Helm's JSON
// Schema compiler (its meta-schemas), OPA's built-ins. With the default GOGC that made
// three collections before main started, about 4 ms of every start of a 30 ms
// command, and there is nothing for them to free.
//
// Go initialises a package after the packages it imports and, among those ready, in the
// order of their import paths (the Go spec, "Package initialization"). This package
// imports only runtime/debug, so it is ready long before the heavy packages are:
// TestGarbageCollectorOffDuringInit in package main checks that it comes first.
package initgc

import "runtime/debug"

// percent is GOGC as the runtime read it from the environment; -1 from now on.
var percent = debug.SetGCPercent(-1)

// Done gives the garbage collector back its GOGC.
func Done() { debug.SetGCPercent(percent) }
