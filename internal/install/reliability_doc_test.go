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
//     its doc comment is named by the table, and so is each of its rows that rowNames
//     can read from the source: spelled out, or composed from tables written in the
//     test or its file and from constants (TestInterrupt's COMMAND/SIGNAL/STEP).
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
					s.rows[fn.Name.Name] = rowNames(f, fn)
				}
			}
		}
	}
	for test, rows := range s.rows {
		s.rows[test] = resolveConsts(rows, s.consts)
	}
	return s, nil
}

// rowNames reads the names of a table-driven test's rows from its source, where they
// are spelled out or composed from spelled-out parts: the first argument of each
// t.Run in the test function, a string literal, a range variable, a field of one, a
// constant, or a + of those. A range variable ranges over a table written in the
// test (a composite literal, or a variable it assigns one to) or returned by a
// function of the same file (the composite literals of its element type in that
// function); the variables a name uses take each element of their table in turn, as
// the nested loops do. A field is read by key, or by position when the struct type
// is written in the literal or declared in the file; a field set from a variable that
// ranges over a list of strings takes each of them. Constants are left as markers
// that resolveConsts fills in. A name with a part it cannot read is left out: the
// doc's rows of such a test are still checked to exist.
func rowNames(file *ast.File, fn *ast.FuncDecl) []string {
	r := rowReader{file: file, funcs: map[string]*ast.FuncDecl{}, types: map[string]*ast.StructType{}}
	for _, d := range file.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Recv == nil {
				r.funcs[d.Name.Name] = d
			}
		case *ast.GenDecl:
			for _, spec := range d.Specs {
				if ts, ok := spec.(*ast.TypeSpec); ok {
					if st, ok := ts.Type.(*ast.StructType); ok {
						r.types[ts.Name.Name] = st
					}
				}
			}
		}
	}
	return r.rows(fn)
}

type rowReader struct {
	file  *ast.File
	funcs map[string]*ast.FuncDecl
	types map[string]*ast.StructType
}

// table is what a range variable ranges over.
type table struct {
	elts []ast.Expr
	// fields are the element struct's field names in order, for positional elements.
	fields []string
	// scope is the function the elements are written in, for the variables they use.
	scope *ast.FuncDecl
}

// maxRows bounds the names one t.Run may stand for.
const maxRows = 1000

func (r rowReader) rows(fn *ast.FuncDecl) []string {
	assigned := map[string]*ast.CompositeLit{}
	ranged := map[string]table{}
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
					assigned[id.Name] = cl
				}
			}
		case *ast.RangeStmt:
			if v, ok := n.Value.(*ast.Ident); ok {
				if t, ok := r.tableOf(n.X, assigned, fn); ok {
					ranged[v.Name] = t
				}
			}
		case *ast.CallExpr:
			sel, ok := n.Fun.(*ast.SelectorExpr)
			if !ok || sel.Sel.Name != "Run" || len(n.Args) != 2 {
				break
			}
			rows = append(rows, r.names(n.Args[0], ranged)...)
		}
		return true
	})
	return rows
}

// tableOf is the table x ranges over, when it is written in the source.
func (r rowReader) tableOf(x ast.Expr, assigned map[string]*ast.CompositeLit, fn *ast.FuncDecl) (table, bool) {
	switch x := x.(type) {
	case *ast.CompositeLit:
		return r.literalTable(x, fn), true
	case *ast.Ident:
		if cl, ok := assigned[x.Name]; ok {
			return r.literalTable(cl, fn), true
		}
	case *ast.CallExpr:
		id, ok := x.Fun.(*ast.Ident)
		if !ok || len(x.Args) != 0 {
			break
		}
		f, ok := r.funcs[id.Name]
		if !ok || f.Type.Results == nil || len(f.Type.Results.List) != 1 {
			break
		}
		at, ok := f.Type.Results.List[0].Type.(*ast.ArrayType)
		if !ok {
			break
		}
		elt, ok := at.Elt.(*ast.Ident)
		if !ok {
			break
		}
		t := table{fields: r.fieldsOf(elt), scope: f}
		ast.Inspect(f.Body, func(n ast.Node) bool {
			if cl, ok := n.(*ast.CompositeLit); ok {
				if tid, ok := cl.Type.(*ast.Ident); ok && tid.Name == elt.Name {
					t.elts = append(t.elts, cl)
				}
			}
			return true
		})
		return t, true
	}
	return table{}, false
}

func (r rowReader) literalTable(cl *ast.CompositeLit, fn *ast.FuncDecl) table {
	t := table{elts: cl.Elts, scope: fn}
	if at, ok := cl.Type.(*ast.ArrayType); ok {
		elt := at.Elt
		if st, ok := elt.(*ast.StarExpr); ok {
			elt = st.X
		}
		t.fields = r.fieldsOf(elt)
	}
	return t
}

// fieldsOf names the fields of a struct type written in place or declared in the file.
func (r rowReader) fieldsOf(typ ast.Expr) []string {
	st, ok := typ.(*ast.StructType)
	if id, isIdent := typ.(*ast.Ident); isIdent {
		st, ok = r.types[id.Name]
	}
	if !ok {
		return nil
	}
	var names []string
	for _, f := range st.Fields.List {
		for _, n := range f.Names {
			names = append(names, n.Name)
		}
	}
	return names
}

// names are the row names a t.Run argument stands for: for each binding of the range
// variables it uses to an element of their table.
func (r rowReader) names(arg ast.Expr, ranged map[string]table) []string {
	var vars []string
	ast.Inspect(arg, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok {
			if _, ok := ranged[id.Name]; ok && !slices.Contains(vars, id.Name) {
				vars = append(vars, id.Name)
			}
		}
		return true
	})
	var out []string
	binding := map[string]ast.Expr{}
	var bind func(i int) bool
	bind = func(i int) bool {
		if i == len(vars) {
			v := r.values(arg, ranged, binding)
			if v == nil {
				return false
			}
			out = append(out, v...)
			return len(out) <= maxRows
		}
		for _, el := range ranged[vars[i]].elts {
			binding[vars[i]] = el
			if !bind(i + 1) {
				return false
			}
		}
		return true
	}
	if !bind(0) {
		return nil
	}
	return out
}

// values are the strings e stands for under a binding; nil when a part is unreadable.
func (r rowReader) values(e ast.Expr, ranged map[string]table, binding map[string]ast.Expr) []string {
	switch e := e.(type) {
	case *ast.ParenExpr:
		return r.values(e.X, ranged, binding)
	case *ast.BinaryExpr:
		if e.Op != token.ADD {
			return nil
		}
		x, y := r.values(e.X, ranged, binding), r.values(e.Y, ranged, binding)
		if x == nil || y == nil {
			return nil
		}
		var out []string
		for _, a := range x {
			for _, b := range y {
				out = append(out, a+b)
			}
		}
		return out
	case *ast.Ident:
		if el, ok := binding[e.Name]; ok {
			return r.written(el, ranged[e.Name].scope)
		}
		return nil
	case *ast.SelectorExpr:
		if x, ok := e.X.(*ast.Ident); ok {
			if el, ok := binding[x.Name]; ok {
				t := ranged[x.Name]
				if f := fieldOf(el, e.Sel.Name, t.fields); f != nil {
					return r.written(f, t.scope)
				}
				return nil
			}
		}
	}
	return r.written(e, nil)
}

// written is what an expression written in a table stands for: a string literal, a
// constant (a marker for resolveConsts), or a variable of scope that ranges over a
// list of strings.
func (r rowReader) written(e ast.Expr, scope *ast.FuncDecl) []string {
	switch e := e.(type) {
	case *ast.BasicLit:
		if v, ok := stringLit(e); ok {
			return []string{v}
		}
	case *ast.SelectorExpr:
		if _, ok := e.X.(*ast.Ident); ok {
			return []string{constMark + e.Sel.Name + constMark}
		}
	case *ast.Ident:
		if scope == nil {
			return nil
		}
		var out []string
		ast.Inspect(scope.Body, func(n ast.Node) bool {
			rs, ok := n.(*ast.RangeStmt)
			if !ok {
				return true
			}
			if v, ok := rs.Value.(*ast.Ident); ok && v.Name == e.Name {
				if cl, ok := rs.X.(*ast.CompositeLit); ok {
					for _, el := range cl.Elts {
						if s, ok := stringLit(el); ok {
							out = append(out, s)
						}
					}
				}
			}
			return true
		})
		return out
	}
	return nil
}

// fieldOf is the value of a struct literal's field, by key or by position.
func fieldOf(el ast.Expr, name string, fields []string) ast.Expr {
	if u, ok := el.(*ast.UnaryExpr); ok {
		el = u.X
	}
	cl, ok := el.(*ast.CompositeLit)
	if !ok {
		return nil
	}
	for i, e := range cl.Elts {
		if kv, ok := e.(*ast.KeyValueExpr); ok {
			if k, ok := kv.Key.(*ast.Ident); ok && k.Name == name {
				return kv.Value
			}
		} else if i < len(fields) && fields[i] == name {
			return e
		}
	}
	return nil
}

// constMark brackets the name of a constant in a row name read from the source.
const constMark = "\x00"

// resolveConsts fills in the constants of row names read from the source: each name
// once for each value a constant of that name has in the repository; a name with an
// unknown constant is dropped.
func resolveConsts(rows []string, consts map[string][]string) []string {
	var out []string
	for _, row := range rows {
		parts := strings.Split(row, constMark)
		names := []string{""}
		for i, p := range parts {
			vals := []string{p}
			if i%2 == 1 {
				vals = consts[p]
			}
			var next []string
			for _, n := range names {
				for _, v := range vals {
					next = append(next, n+v)
				}
			}
			names = next
		}
		out = append(out, names...)
	}
	return out
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

type step struct{ command, step string }

func steps() []step {
	rows := []step{{command: "create", step: failpoint.DuringHelm}}
	for _, cmd := range []string{"delete"} {
		rows = append(rows, step{cmd, failpoint.DuringHelm})
	}
	return rows
}

// Reliability matrix: rows composed from a table a function builds
func TestSteps(t *testing.T) {
	for _, s := range steps() {
		for _, sig := range []struct {
			name string
			n    int
		}{{"sigint", 2}} {
			t.Run(s.command+"/"+sig.name+"/"+s.step, nil)
		}
	}
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
		"| repo | fails | says | again | `TestRepo/500`, `TestRepo/hang`, `TestRepo/literal/row` |\n" +
		"| steps | left | msg | next | `TestSteps/create/sigint/during-helm`, `TestSteps/delete/sigint/during-helm` |\n"
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
		{name: "a composed row the doc leaves out", doc: strings.Replace(header+rows, ", `TestSteps/delete/sigint/during-helm`", "", 1), src: tests,
			want: "TestSteps has a row \"delete/sigint/during-helm\" that docs/reliability.md does not name"},
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
