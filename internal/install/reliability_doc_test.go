package install

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// docs/reliability.md is the reliability matrix: one table whose rows say, for each
// fault, what happens, what the user sees, how it recovers, and which test shows it.
// The checker below keeps the table and the tests in step, both ways:
//
//   - every test the table names exists: a function TestName in a _test.go file of the
//     repository, and for TestName/row, the row: the whole name a string literal in
//     that test's file, or each of its /-separated parts a string literal there or the
//     value of a string constant the file refers to (TestInterrupt composes its rows
//     from the command, the signal and internal/failpoint's step constants);
//   - every test function marked with a comment line "Reliability matrix: <fault>" in
//     its doc comment is named by the table, and so is each of its rows whose name
//     the source spells out (rowNames: t.Run with a literal, or with a field of a
//     table written in the test).
//
// So renaming a row or a test, or marking a new one, fails `make test` until the doc
// follows. It reads the sources with go/parser, whatever their build tags (the Ready
// cluster's tests are built with -tags e2e), and needs no cluster.

// reliabilityDoc is the matrix's document, from this package's directory; docName
// names it in messages.
const (
	reliabilityDoc = docsDir + "/reliability.md"
	docName        = "docs/reliability.md"
)

// repoRoot is the repository, from this package's directory.
const repoRoot = "../.."

// matrixMarker starts the comment line that marks a test function as a matrix test.
const matrixMarker = "Reliability matrix:"

// matrixColumns are the table's columns, in order.
var matrixColumns = []string{"fault", "what happens", "what the user sees", "how it recovers", "test"}

// testRef is a test the table names: `TestName` or `TestName/row`.
var testRef = regexp.MustCompile("`(Test[A-Za-z0-9_]*)(/[^`]+)?`")

// docRef is one test named in one row of the table.
type docRef struct {
	test, row string // row is "" for the whole test
	line      int
}

// parseMatrix reads the matrix table of the document: the first table whose header
// has matrixColumns. Every row must name at least one test in its last column.
func parseMatrix(doc string) ([]docRef, error) {
	var refs []docRef
	var errs []error
	in := false
	for i, l := range strings.Split(doc, "\n") {
		l = strings.TrimSpace(l)
		if !strings.HasPrefix(l, "|") {
			if in {
				break
			}
			continue
		}
		cells := strings.Split(strings.Trim(l, "|"), "|")
		for j := range cells {
			cells[j] = strings.TrimSpace(cells[j])
		}
		if !in {
			header := make([]string, len(cells))
			for j, c := range cells {
				header[j] = strings.ToLower(c)
			}
			in = slices.Equal(header, matrixColumns)
			continue
		}
		if strings.Trim(l, "|-: ") == "" {
			continue // the separator row
		}
		if len(cells) != len(matrixColumns) {
			errs = append(errs, fmt.Errorf("line %d: %d cells, want %d (%s)", i+1, len(cells), len(matrixColumns), strings.Join(matrixColumns, " | ")))
			continue
		}
		found := testRef.FindAllStringSubmatch(cells[len(cells)-1], -1)
		if len(found) == 0 {
			errs = append(errs, fmt.Errorf("line %d: the test column names no test (`TestName` or `TestName/row`)", i+1))
		}
		for _, m := range found {
			refs = append(refs, docRef{test: m[1], row: strings.TrimPrefix(m[2], "/"), line: i + 1})
		}
	}
	if !in {
		errs = append(errs, fmt.Errorf("no table with the columns %s", strings.Join(matrixColumns, " | ")))
	}
	return refs, errors.Join(errs...)
}

// sources is what the checker knows of the repository's Go files.
type sources struct {
	// tests maps a test function's name to the test files that define it.
	tests map[string][]*testFile
	// marked are the test functions marked as matrix tests: name -> file.
	marked map[string]string
	// rows are the row names of a marked test that can be read from its source
	// (rowNames); a test whose rows are composed at run time has none here.
	rows map[string][]string
	// consts maps a string constant's name to its values, over every package.
	consts map[string][]string
}

// testFile is one _test.go file: its string literals and the names it refers to.
type testFile struct {
	path     string
	literals map[string]bool
	names    map[string]bool
}

// readSources parses the Go files of files (path -> content).
func readSources(files map[string][]byte) (*sources, error) {
	s := &sources{tests: map[string][]*testFile{}, marked: map[string]string{}, rows: map[string][]string{}, consts: map[string][]string{}}
	fset := token.NewFileSet()
	for _, path := range slices.Sorted(maps.Keys(files)) {
		f, err := parser.ParseFile(fset, path, files[path], parser.ParseComments)
		if err != nil {
			return nil, err
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, spec := range g.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if i < len(vs.Values) {
						if v, ok := stringLit(vs.Values[i]); ok {
							s.consts[n.Name] = append(s.consts[n.Name], v)
						}
					}
				}
			}
		}
		if !strings.HasSuffix(path, "_test.go") {
			continue
		}
		tf := &testFile{path: path, literals: map[string]bool{}, names: map[string]bool{}}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.BasicLit:
				if v, ok := stringLit(n); ok {
					tf.literals[v] = true
				}
			case *ast.Ident:
				tf.names[n.Name] = true
			}
			return true
		})
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || !strings.HasPrefix(fn.Name.Name, "Test") {
				continue
			}
			s.tests[fn.Name.Name] = append(s.tests[fn.Name.Name], tf)
			if fn.Doc == nil {
				continue
			}
			for _, c := range fn.Doc.List {
				if strings.HasPrefix(strings.TrimSpace(strings.TrimPrefix(c.Text, "//")), matrixMarker) {
					s.marked[fn.Name.Name] = path
					s.rows[fn.Name.Name] = rowNames(fn)
				}
			}
		}
	}
	return s, nil
}

// rowNames reads the names of a table-driven test's rows from its source, where they
// are spelled out: t.Run("literal", ...), and t.Run(tt.field, ...) or t.Run(row, ...)
// inside a range over a table written in the function (a composite literal, or a
// variable it assigns one to), whose elements give the field by key or by position.
// Names composed at run time (TestInterrupt's command/signal/step) are not read; the
// doc's rows of such a test are still checked to exist.
func rowNames(fn *ast.FuncDecl) []string {
	// tables maps a variable of the function to the composite literal assigned to it.
	tables := map[string]*ast.CompositeLit{}
	// ranged maps a range statement's value variable to the table it ranges over.
	ranged := map[string]*ast.CompositeLit{}
	var rows []string
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			for i, lhs := range n.Lhs {
				id, ok := lhs.(*ast.Ident)
				if !ok || i >= len(n.Rhs) {
					continue
				}
				if cl, ok := n.Rhs[i].(*ast.CompositeLit); ok {
					tables[id.Name] = cl
				}
			}
		case *ast.RangeStmt:
			v, ok := n.Value.(*ast.Ident)
			if !ok {
				break
			}
			switch x := n.X.(type) {
			case *ast.CompositeLit:
				ranged[v.Name] = x
			case *ast.Ident:
				if cl, ok := tables[x.Name]; ok {
					ranged[v.Name] = cl
				}
			}
		case *ast.CallExpr:
			sel, ok := n.Fun.(*ast.SelectorExpr)
			if !ok || sel.Sel.Name != "Run" || len(n.Args) != 2 {
				break
			}
			switch arg := n.Args[0].(type) {
			case *ast.BasicLit:
				if v, ok := stringLit(arg); ok {
					rows = append(rows, v)
				}
			case *ast.Ident:
				if cl, ok := ranged[arg.Name]; ok {
					for _, el := range cl.Elts {
						if v, ok := stringLit(el); ok {
							rows = append(rows, v)
						}
					}
				}
			case *ast.SelectorExpr:
				if x, ok := arg.X.(*ast.Ident); ok {
					if cl, ok := ranged[x.Name]; ok {
						rows = append(rows, fieldValues(cl, arg.Sel.Name)...)
					}
				}
			}
		}
		return true
	})
	return rows
}

// fieldValues are the string values of field in each element of a table: keyed, or by
// position when the table's element type is a struct written in the literal.
func fieldValues(table *ast.CompositeLit, field string) []string {
	position := -1
	if at, ok := table.Type.(*ast.ArrayType); ok {
		if st, ok := at.Elt.(*ast.StructType); ok {
			i := 0
			for _, f := range st.Fields.List {
				for _, n := range f.Names {
					if n.Name == field {
						position = i
					}
					i++
				}
			}
		}
	}
	var values []string
	for _, el := range table.Elts {
		if u, ok := el.(*ast.UnaryExpr); ok {
			el = u.X
		}
		cl, ok := el.(*ast.CompositeLit)
		if !ok {
			continue
		}
		for i, e := range cl.Elts {
			if kv, ok := e.(*ast.KeyValueExpr); ok {
				if k, ok := kv.Key.(*ast.Ident); ok && k.Name == field {
					if v, ok := stringLit(kv.Value); ok {
						values = append(values, v)
					}
				}
			} else if i == position {
				if v, ok := stringLit(e); ok {
					values = append(values, v)
				}
			}
		}
	}
	return values
}

func stringLit(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	v, err := strconv.Unquote(lit.Value)
	return v, err == nil
}

// hasRow reports whether a test file spells row: whole, or part by part.
func (s *sources) hasRow(tf *testFile, row string) bool {
	if tf.literals[row] {
		return true
	}
	for _, part := range strings.Split(row, "/") {
		if tf.literals[part] {
			continue
		}
		named := false
		for name, values := range s.consts {
			if tf.names[name] && slices.Contains(values, part) {
				named = true
				break
			}
		}
		if !named {
			return false
		}
	}
	return true
}

// checkMatrix checks the document against the sources, both ways.
func checkMatrix(doc string, files map[string][]byte) error {
	refs, err := parseMatrix(doc)
	errs := []error{err}
	s, err := readSources(files)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	named := map[string]bool{}
	for _, r := range refs {
		named[r.test] = true
		named[r.test+"/"+r.row] = true
		defs := s.tests[r.test]
		if len(defs) == 0 {
			errs = append(errs, fmt.Errorf("%s line %d: no test %s in the repository", docName, r.line, r.test))
			continue
		}
		if r.row == "" {
			continue
		}
		if !slices.ContainsFunc(defs, func(tf *testFile) bool { return s.hasRow(tf, r.row) }) {
			errs = append(errs, fmt.Errorf("%s line %d: %s has no row %q (not spelled in %s)", docName, r.line, r.test, r.row, defs[0].path))
		}
	}
	for _, test := range slices.Sorted(maps.Keys(s.marked)) {
		if !named[test] {
			errs = append(errs, fmt.Errorf("%s (%s) is marked %q but %s does not name it", test, s.marked[test], matrixMarker, docName))
			continue
		}
		for _, row := range s.rows[test] {
			if !named[test+"/"+row] {
				errs = append(errs, fmt.Errorf("%s has a row %q that %s does not name (as `%s/%s`)", test, row, docName, test, row))
			}
		}
	}
	return errors.Join(errs...)
}

// repoGoFiles reads every Go file of the repository but those of tools' caches and
// dependencies.
func repoGoFiles(t *testing.T) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(repoRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); path != repoRoot && (strings.HasPrefix(n, ".") || n == "vendor" || n == "node_modules" || n == "testdata" || n == "bin") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(repoRoot, path)
		if err != nil {
			return err
		}
		files[filepath.ToSlash(rel)] = b
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestReliabilityDoc: docs/reliability.md names only tests and rows that exist, and
// every test marked as a matrix test.
func TestReliabilityDoc(t *testing.T) {
	doc, err := os.ReadFile(reliabilityDoc)
	if err != nil {
		t.Fatal(err)
	}
	files := repoGoFiles(t)
	if err := checkMatrix(string(doc), files); err != nil {
		t.Errorf("docs/reliability.md and the tests disagree:\n%v", err)
	}
	// A checker that found nothing would pass everything.
	refs, _ := parseMatrix(string(doc))
	s, err := readSources(files)
	if err != nil {
		t.Fatal(err)
	}
	rows := 0
	for _, r := range s.rows {
		rows += len(r)
	}
	if len(refs) < 10 || len(s.marked) < 5 || rows < 20 {
		t.Errorf("the doc names %d tests, %d are marked, %d rows read from them: the checker does not see the matrix", len(refs), len(s.marked), rows)
	}
}

// TestCheckMatrix: the checker fails on a renamed row, a renamed or removed test, a
// marked test or one of its rows the doc leaves out and a malformed table, and
// accepts rows composed from literals and constants.
func TestCheckMatrix(t *testing.T) {
	const steps = `package failpoint

const DuringHelm = "during-helm"
`
	const tests = `package cli_test

import "example.com/failpoint"

// Reliability matrix: interruptions
func TestInterrupt(t *testing.T) {
	for _, cmd := range []string{"create", "update"} {
		for _, sig := range []string{"sigkill"} {
			t.Run(cmd+"/"+sig+"/"+failpoint.DuringHelm, nil)
		}
	}
}

// Reliability matrix: slow webhook
//
// TestWebhookDown: more words.
func TestWebhookDown(t *testing.T) {
	for _, row := range []string{"down", "slower-than-timeout"} {
		t.Run(row, nil)
	}
}

// Reliability matrix: the chart repository
func TestRepo(t *testing.T) {
	tests := []struct {
		fault, want string
	}{{"500", "status"}, {"hang", "deadline"}}
	for _, tt := range tests {
		t.Run(tt.fault, nil)
	}
	t.Run("literal/row", nil)
}

// TestUnmarked is not in the matrix.
func TestUnmarked(t *testing.T) {
	t.Run("not-a-matrix-row", nil)
}
`
	files := func(src string) map[string][]byte {
		return map[string][]byte{"internal/failpoint/failpoint.go": []byte(steps), "internal/cli/x_test.go": []byte(src)}
	}
	const header = "| Fault | What happens | What the user sees | How it recovers | Test |\n|---|---|---|---|---|\n"
	const rows = "| kill | left | msg | next | `TestInterrupt/create/sigkill/during-helm`, `TestInterrupt/update/sigkill/during-helm` |\n" +
		"| webhook | refused | says | retry | `TestWebhookDown/down`<br>`TestWebhookDown/slower-than-timeout` |\n" +
		"| repo | fails | says | again | `TestRepo/500`, `TestRepo/hang`, `TestRepo/literal/row` |\n"
	for _, tt := range []struct {
		name, doc, src string
		want           string // "" when it passes
	}{
		{name: "in step", doc: header + rows, src: tests},
		{name: "a row renamed in the test", doc: header + rows, src: strings.Replace(tests, `"slower-than-timeout"`, `"slow"`, 1),
			want: `TestWebhookDown has no row "slower-than-timeout"`},
		{name: "a composed row's part renamed", doc: header + rows, src: strings.Replace(tests, `"sigkill"`, `"kill"`, 1),
			want: `TestInterrupt has no row "create/sigkill/during-helm"`},
		{name: "a row the test never had", doc: header + rows + "| x | y | z | w | `TestWebhookDown/flaky` |\n", src: tests,
			want: `TestWebhookDown has no row "flaky"`},
		{name: "a test renamed", doc: header + rows, src: strings.ReplaceAll(tests, "TestWebhookDown", "TestWebhookGone"),
			want: "no test TestWebhookDown in the repository"},
		{name: "a marked test left out", doc: header + rows[:strings.Index(rows, "| webhook")], src: tests,
			want: `TestWebhookDown (internal/cli/x_test.go) is marked "Reliability matrix:" but docs/reliability.md does not name it`},
		{name: "a table row the doc leaves out", doc: strings.Replace(header+rows, "<br>`TestWebhookDown/slower-than-timeout`", "", 1), src: tests,
			want: "TestWebhookDown has a row \"slower-than-timeout\" that docs/reliability.md does not name"},
		{name: "a positional table's row the doc leaves out", doc: strings.Replace(header+rows, ", `TestRepo/hang`", "", 1), src: tests,
			want: "TestRepo has a row \"hang\" that docs/reliability.md does not name"},
		{name: "a literal row the doc leaves out", doc: strings.Replace(header+rows, ", `TestRepo/literal/row`", "", 1), src: tests,
			want: "TestRepo has a row \"literal/row\" that docs/reliability.md does not name"},
		{name: "a new row in the test", doc: header + rows, src: strings.Replace(tests, `{"hang", "deadline"}`, `{"hang", "deadline"}, {"truncated", "archive"}`, 1),
			want: "TestRepo has a row \"truncated\" that docs/reliability.md does not name"},
		{name: "a row with no test", doc: header + rows + "| x | y | z | w | none |\n", src: tests,
			want: "the test column names no test"},
		{name: "a row missing a column", doc: header + rows + "| x | y | `TestWebhookDown` |\n", src: tests,
			want: "3 cells, want 5"},
		{name: "no matrix table", doc: "| a | b |\n|---|---|\n", src: tests,
			want: "no table with the columns"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := checkMatrix(tt.doc, files(tt.src))
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
