// Package azflags is the `az k8s-extension` flag vocabulary of create and update (and
// of extension-types list-versions-by-cluster, which `type versions` mirrors): the
// flags' names, their aliases and help strings, and az's rules for how they combine,
// turned into lifecycle and catalog requests. It uses pflag only, no cobra, so the
// rules are unit tested without a command and the commands in internal/cli keep only
// their wiring (completion, fleet flags, confirmation, printing). Issue 14 extends it
// with az's --name, --cluster-name, -g and --cluster-type.
package azflags
