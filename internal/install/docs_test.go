package install

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
)

// docsDir is the repository's docs/, from this package's directory.
const docsDir = "../../docs"

// catalogTable is one Markdown table of extension types in the docs: a table whose
// first column is "type".
type catalogTable struct {
	file, header string
	line         int
	rows         map[string]string // type name -> the whole row
}

var typeCell = regexp.MustCompile("^`([a-z0-9-]+\\.[a-z0-9.-]+)`$")

// catalogTables finds the catalog tables of a Markdown document.
func catalogTables(file, text string) []catalogTable {
	var tables []catalogTable
	var cur *catalogTable
	for i, l := range strings.Split(text, "\n") {
		cells := strings.Split(strings.Trim(strings.TrimSpace(l), "|"), "|")
		if !strings.HasPrefix(strings.TrimSpace(l), "|") {
			cur = nil
			continue
		}
		if cur == nil {
			if strings.TrimSpace(cells[0]) == "type" {
				tables = append(tables, catalogTable{file: file, header: l, line: i + 1, rows: map[string]string{}})
				cur = &tables[len(tables)-1]
			}
			continue
		}
		if m := typeCell.FindStringSubmatch(strings.TrimSpace(cells[0])); m != nil {
			cur.rows[m[1]] = l
		}
	}
	return tables
}

// TestDocsCatalogTables keeps every table of extension types in docs/ (install.md's,
// catalog.md's) and the --check samples in step with manifests/catalog: the same
// types, each row with its chart, its repository, its release namespace and how many
// instances it allows; the trains and upgrade policy the docs say every type has; the
// "default catalog: N of N" that --check prints.
func TestDocsCatalogTables(t *testing.T) {
	m, err := Build(Selection{Catalog: true})
	if err != nil {
		t.Fatal(err)
	}
	var catalog []v1alpha1.ExtensionType
	for _, o := range m.Rest {
		var et v1alpha1.ExtensionType
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &et); err != nil {
			t.Fatal(err)
		}
		catalog = append(catalog, et)
	}
	if len(catalog) == 0 {
		t.Fatal("the embedded catalog has no types")
	}
	names := make([]string, len(catalog))
	for i, et := range catalog {
		names[i] = et.Name
	}
	sort.Strings(names)

	files, err := filepath.Glob(filepath.Join(docsDir, "*.md"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no docs in %s: %v", docsDir, err)
	}
	if readme, err := filepath.Abs(filepath.Join(docsDir, "..", "README.md")); err == nil {
		files = append(files, readme)
	}
	var tables []catalogTable
	texts := map[string]string{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		texts[filepath.Base(f)] = string(data)
		tables = append(tables, catalogTables(filepath.Base(f), string(data))...)
	}
	for _, want := range []string{"install.md", "catalog.md"} {
		if !slices.ContainsFunc(tables, func(c catalogTable) bool { return c.file == want }) {
			t.Errorf("no catalog table found in docs/%s (a table whose first column is \"type\")", want)
		}
	}

	for _, tb := range tables {
		t.Run(fmt.Sprintf("%s:%d", tb.file, tb.line), func(t *testing.T) {
			var got []string
			for n := range tb.rows {
				got = append(got, n)
			}
			sort.Strings(got)
			if !slices.Equal(got, names) {
				t.Fatalf("the table lists %v; manifests/catalog has %v", got, names)
			}
			for _, et := range catalog {
				row := tb.rows[et.Name]
				want := []string{et.Spec.Chart.Name, strings.TrimSuffix(et.Spec.Chart.Repository, "/")}
				if c := et.Spec.Scopes.Cluster; c != nil && c.DefaultReleaseNamespace != "" {
					want = append(want, "`"+c.DefaultReleaseNamespace+"`")
				}
				for _, w := range want {
					if !strings.Contains(row, w) {
						t.Errorf("%s: the row does not say %s:\n%s", et.Name, w, row)
					}
				}
				several := strings.Contains(row, "several instances")
				if c := et.Spec.Scopes.Cluster; c != nil && c.AllowMultipleInstances != several {
					t.Errorf("%s: allowMultipleInstances is %v, the row says otherwise:\n%s", et.Name, c.AllowMultipleInstances, row)
				}
			}
		})
	}

	// "Every type has the Stable and Preview trains and the `KubernetesMinor` upgrade policy."
	every := regexp.MustCompile("Every type has the ([A-Za-z]+) and ([A-Za-z]+) trains and the `([A-Za-z]+)` upgrade\\s+policy")
	checkTotal := regexp.MustCompile(`default catalog: (\d+) of (\d+)`)
	for file, text := range texts {
		for _, mm := range every.FindAllStringSubmatch(text, -1) {
			for _, et := range catalog {
				var trains []string
				for _, tr := range et.Spec.ReleaseTrains {
					trains = append(trains, tr.Name)
				}
				if !slices.Equal(trains, mm[1:3]) || string(et.Spec.UpgradePolicy) != mm[3] {
					t.Errorf("%s says %q; %s has the trains %v and the upgrade policy %s", file, mm[0], et.Name, trains, et.Spec.UpgradePolicy)
				}
			}
		}
		for _, mm := range checkTotal.FindAllStringSubmatch(text, -1) {
			if mm[2] != fmt.Sprint(len(catalog)) {
				t.Errorf("%s shows --check printing %q; the default catalog has %d types", file, mm[0], len(catalog))
			}
		}
	}
}

// TestCatalogTablesParse: the table reader finds the tables whose first column is
// "type", their type rows only, and ends a table at the first line that is not a row.
func TestCatalogTablesParse(t *testing.T) {
	doc := strings.Join([]string{
		"| part | objects |", "|---|---|", "| `a.b` | not a catalog |", "",
		"| type | chart |", "|---|---|", "| `jetstack.cert-manager` | cert-manager |", "| `x.y` | y |", "| — | no type |",
		"text", "| `after.table` | not in it |",
		"| type | notes |", "|---|---|", "| `only.one` | |",
	}, "\n")
	got := catalogTables("doc.md", doc)
	if len(got) != 2 {
		t.Fatalf("%d tables, want 2: %+v", len(got), got)
	}
	want := [][]string{{"jetstack.cert-manager", "x.y"}, {"only.one"}}
	for i, tb := range got {
		var names []string
		for n := range tb.rows {
			names = append(names, n)
		}
		sort.Strings(names)
		if !slices.Equal(names, want[i]) {
			t.Errorf("table %d: %v, want %v", i, names, want[i])
		}
	}
	if got[0].line != 5 || got[1].line != 12 {
		t.Errorf("lines %d and %d, want 5 and 12", got[0].line, got[1].line)
	}
}

// TestDocsExamplesNameCatalogTypes: the extension types the docs' command lines create
// extensions of (-t, --extension-type) are in manifests/catalog, or added by a
// `type add` in the same document, so a reader can run them on a cluster after init.
func TestDocsExamplesNameCatalogTypes(t *testing.T) {
	m, err := Build(Selection{Catalog: true})
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, o := range m.Rest {
		known[o.GetName()] = true
	}
	files, err := filepath.Glob(filepath.Join(docsDir, "*.md"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no docs in %s: %v", docsDir, err)
	}
	files = append(files, filepath.Join(docsDir, "..", "README.md"))
	uses := regexp.MustCompile(`(?:\s-t|--extension-type)[ =]([a-z0-9-]+\.[a-z0-9.-]*[a-z0-9])`)
	adds := regexp.MustCompile(`type add ([a-z0-9-]+\.[a-z0-9.-]*[a-z0-9])`)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		added := map[string]bool{}
		for _, mm := range adds.FindAllStringSubmatch(string(data), -1) {
			added[mm[1]] = true
		}
		for _, mm := range uses.FindAllStringSubmatch(string(data), -1) {
			if !known[mm[1]] && !added[mm[1]] {
				t.Errorf("%s: %q names a type that is neither in manifests/catalog nor added in the document", filepath.Base(f), strings.TrimSpace(mm[0]))
			}
		}
	}
}
