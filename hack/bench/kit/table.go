package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// row is one line of the benchmark table, as hack/bench/bench.sh writes it
// (tab-separated): TARGET FIGURE UNIT BASELINE-NAME BASELINE GOAL [NOTE].
//
// FIGURE and BASELINE are numbers in UNIT, or text when there is no number (a timeout,
// a build failure), which the table prints as it is and judges "no". GOAL is empty (a
// figure without a goal: the OPA peer, a second reading), a ratio to the baseline
// ("<=1.5x", ">=0.5x") or an absolute bound in UNIT ("<=64").
type row struct {
	target       string
	figure       string
	unit         string
	baselineName string
	baseline     string
	goal         string
	note         string
}

func parseRows(r io.Reader) ([]row, error) {
	var rows []row
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) < 6 || len(f) > 7 {
			return nil, fmt.Errorf("line %d: %d fields, want 6 or 7: %q", n, len(f), line)
		}
		rw := row{target: f[0], figure: f[1], unit: f[2], baselineName: f[3], baseline: f[4], goal: f[5]}
		if len(f) == 7 {
			rw.note = f[6]
		}
		rows = append(rows, rw)
	}
	return rows, sc.Err()
}

// goal is a parsed GOAL: op is "<=" or ">=", ratio says whether bound applies to
// figure/baseline or to the figure itself.
type goal struct {
	op    string
	bound float64
	ratio bool
}

func parseGoal(s string) (goal, bool, error) {
	if s == "" {
		return goal{}, false, nil
	}
	var g goal
	switch {
	case strings.HasPrefix(s, "<="):
		g.op = "<="
	case strings.HasPrefix(s, ">="):
		g.op = ">="
	default:
		return goal{}, false, fmt.Errorf("goal %q: want <=N, >=N, <=Nx or >=Nx", s)
	}
	num := s[2:]
	if strings.HasSuffix(num, "x") {
		g.ratio = true
		num = strings.TrimSuffix(num, "x")
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return goal{}, false, fmt.Errorf("goal %q: %w", s, err)
	}
	g.bound = v
	return g, true, nil
}

func (g goal) String(unit string) string {
	op := map[string]string{"<=": "≤", ">=": "≥"}[g.op]
	if g.ratio {
		return fmt.Sprintf("%s %s×", op, trim(g.bound))
	}
	if unit == "" {
		return fmt.Sprintf("%s %s", op, trim(g.bound))
	}
	return fmt.Sprintf("%s %s %s", op, trim(g.bound), unit)
}

func (g goal) met(v float64) bool {
	if g.op == "<=" {
		return v <= g.bound
	}
	return v >= g.bound
}

// trim prints a number with up to three decimals (two significant digits below
// 0.01) and no trailing zeros.
func trim(v float64) string {
	var s string
	switch a := math.Abs(v); {
	case a >= 100:
		s = strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		s = strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 1:
		s = strconv.FormatFloat(v, 'f', 2, 64)
	case a >= 0.01:
		s = strconv.FormatFloat(v, 'f', 3, 64)
	default: // a ratio of a broken target to its floor: two significant digits
		s = strconv.FormatFloat(v, 'g', 2, 64)
	}
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

func number(s string) (float64, bool) {
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil && !math.IsNaN(v) && !math.IsInf(v, 0)
}

func withUnit(s, unit string) string {
	if v, ok := number(s); ok {
		if unit == "" {
			return trim(v)
		}
		return trim(v) + " " + unit
	}
	if s == "" {
		return "—"
	}
	return s
}

// render writes the rows as a Markdown table: the ratio is figure/baseline whenever
// both are numbers, and "met?" judges the goal on the ratio or on the figure.
func render(w io.Writer, rows []row) error {
	var errs []error
	fmt.Fprintln(w, "| target | figure | baseline (same run) | ratio | goal | met? |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	for _, r := range rows {
		g, hasGoal, err := parseGoal(r.goal)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.target, err))
			continue
		}
		fig, figOK := number(r.figure)
		base, baseOK := number(r.baseline)
		ratio, ratioOK := 0.0, false
		if figOK && baseOK && base != 0 {
			ratio, ratioOK = fig/base, true
		}
		baseline := "—"
		if r.baselineName != "" {
			baseline = withUnit(r.baseline, r.unit) + " (" + r.baselineName + ")"
		}
		ratioText := "—"
		if ratioOK {
			ratioText = "×" + trim(ratio)
		}
		goalText, met := "—", "—"
		if hasGoal {
			goalText = g.String(r.unit)
			switch {
			case g.ratio && ratioOK:
				met = yesNo(g.met(ratio))
			case !g.ratio && figOK:
				met = yesNo(g.met(fig))
			default:
				met = "**no**"
			}
		}
		target := r.target
		if r.note != "" {
			target += " (" + r.note + ")"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", target, withUnit(r.figure, r.unit), baseline, ratioText, goalText, met)
	}
	return errors.Join(errs...)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "**no**"
}

// The table's place in docs/benchmarks.md.
const (
	beginMarker = "<!-- BEGIN make bench -->"
	endMarker   = "<!-- END make bench -->"
)

// splice replaces what lies between the markers of doc with body.
func splice(doc, body string) (string, error) {
	i := strings.Index(doc, beginMarker)
	j := strings.Index(doc, endMarker)
	if i < 0 || j < i {
		return "", fmt.Errorf("the document lacks %q ... %q", beginMarker, endMarker)
	}
	return doc[:i+len(beginMarker)] + "\n" + body + doc[j:], nil
}

func spliceFile(path, body string) error {
	doc, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	out, err := splice(string(doc), body)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return os.WriteFile(path, []byte(out), 0o644)
}
