package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"
)

// timeCommands runs one command, or two separated by --vs--, n times each, the two
// interleaved (A B A B ...) after one unmeasured run of each (which fills kubectl's
// discovery cache and the page cache), and prints the median wall time of each in
// milliseconds, tab-separated. A command that fails fails the measurement; one that
// outlasts -timeout prints "timed out after D" instead of its median. "{i}" in an
// argument becomes the run's number (0 for the unmeasured run), for commands that
// need a fresh name each time, such as installs.
func timeCommands(args []string) error {
	fs := flag.NewFlagSet("time", flag.ContinueOnError)
	n := fs.Int("n", 5, "measured runs of each command")
	timeout := fs.Duration("timeout", time.Minute, "bound on one run")
	warmup := fs.Bool("warmup", true, "one unmeasured run of each command first")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var cmds [][]string
	cur := []string{}
	for _, a := range fs.Args() {
		if a == "--vs--" {
			cmds = append(cmds, cur)
			cur = []string{}
			continue
		}
		cur = append(cur, a)
	}
	cmds = append(cmds, cur)
	for _, c := range cmds {
		if len(c) == 0 {
			return errors.New("an empty command")
		}
	}
	times := make([][]time.Duration, len(cmds))
	timedOut := make([]bool, len(cmds))
	for i := -1; i < *n; i++ {
		if i < 0 && !*warmup {
			continue
		}
		for j, c := range cmds {
			if timedOut[j] {
				continue
			}
			d, err := runOnce(numbered(c, i+1), *timeout)
			if errors.Is(err, context.DeadlineExceeded) {
				timedOut[j] = true
				continue
			}
			if err != nil {
				return err
			}
			if i >= 0 {
				times[j] = append(times[j], d)
			}
		}
	}
	out := make([]string, len(cmds))
	for j := range cmds {
		if timedOut[j] {
			out[j] = fmt.Sprintf("timed out after %v", *timeout)
			continue
		}
		out[j] = fmt.Sprintf("%.1f", float64(medianDuration(times[j]))/float64(time.Millisecond))
	}
	fmt.Println(strings.Join(out, "\t"))
	return nil
}

func numbered(argv []string, i int) []string {
	out := make([]string, len(argv))
	for k, a := range argv {
		out[k] = strings.ReplaceAll(a, "{i}", strconv.Itoa(i))
	}
	return out
}

func runOnce(argv []string, timeout time.Duration) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if ctx.Err() != nil {
		return d, ctx.Err()
	}
	if err != nil {
		return d, fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, strings.TrimSpace(stderr.String()))
	}
	return d, nil
}

func medianDuration(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
