package main

import (
	"flag"
	"os"
	"strings"
)

// table reads the rows from stdin, prints the table, and with -doc writes it, under
// the -machine line, between the markers of that file.
func table(args []string) error {
	fs := flag.NewFlagSet("table", flag.ContinueOnError)
	doc := fs.String("doc", "", "Markdown file to write the table into, between its markers")
	machine := fs.String("machine", "", "a line naming the machine and the run, printed above the table")
	if err := fs.Parse(args); err != nil {
		return err
	}
	rows, err := parseRows(os.Stdin)
	if err != nil {
		return err
	}
	var b strings.Builder
	if *machine != "" {
		b.WriteString(*machine + "\n\n")
	}
	if err := render(&b, rows); err != nil {
		return err
	}
	os.Stdout.WriteString(b.String())
	if *doc == "" {
		return nil
	}
	return spliceFile(*doc, b.String())
}
