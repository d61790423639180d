// Command kit is `make bench`'s helper (hack/bench/bench.sh): the fixtures it puts in
// the local cluster, the AdmissionReview and OPA documents it posts, the timing of
// commands, and the table. Subcommands:
//
//	kit charts DIR                      add podinfo 1.4.2 to the demo charts in DIR
//	kit populate -n N -prefix P ...     create N Extensions with a status, in bulk
//	kit review -name X -out DIR ...     the Extension UPDATE X 1.4.1 -> 1.4.2 as an
//	                                    AdmissionReview, and as OPA's input and data
//	kit time -n 5 -- CMD [--vs-- CMD]   median wall time of commands, interleaved
//	kit table [-doc FILE] < ROWS        the table, and into FILE between its markers
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: kit charts|populate|review|time|table ...")
		os.Exit(2)
	}
	cmds := map[string]func([]string) error{
		"charts":   charts,
		"populate": populate,
		"review":   review,
		"time":     timeCommands,
		"table":    table,
	}
	cmd, ok := cmds[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "kit: unknown subcommand %q\n", os.Args[1])
		os.Exit(2)
	}
	if err := cmd(os.Args[2:]); err != nil {
		fmt.Fprintf(os.Stderr, "kit %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}
