package settings

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseFile(t *testing.T) {
	common := map[string]string{
		"replicaCount":                         "2",
		"message":                              "hello, world",
		"enabled":                              "true",
		"ratio":                                "1.5",
		"million":                              "1000000",
		"nothing":                              "",
		"image.repository":                     "ghcr.io/stefanprodan/podinfo",
		"image.tag":                            "6.5.0",
		`podAnnotations.prometheus\.io/scrape`: "true",
		"ingress.hosts[0].name":                "a.example.org",
		"ingress.hosts[0].paths[0]":            "/",
		"ingress.hosts[0].paths[1]":            "/api",
		"ingress.hosts[1].name":                "b.example.org",
	}
	tests := []struct {
		name  string
		file  string
		extra map[string]string
	}{
		{
			name: "a YAML file is flattened to --set paths with anchors, merge keys and typed scalars written plainly",
			file: "testdata/settings.yaml",
			extra: map[string]string{
				"hex":           "31",
				"date":          "2024-01-02",
				"base.cpu":      "100m",
				"base.memory":   "64Mi",
				"limits.cpu":    "100m",
				"limits.memory": "128Mi",
			},
		},
		{
			name: "a JSON file is flattened to --set paths with numbers written without exponents",
			file: "testdata/settings.json",
			extra: map[string]string{
				"small": "0.0000001",
				"big":   "123456789012345678901234567890",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseFile(tt.file)
			if err != nil {
				t.Fatalf("ParseFile(%s) failed: %v", tt.file, err)
			}
			want := Merge(common, tt.extra)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("ParseFile(%s):\n got %#v\nwant %#v", tt.file, got, want)
			}
		})
	}
}

func TestParseDocument(t *testing.T) {
	tests := []struct {
		name   string
		doc    string
		isJSON bool
		want   map[string]string
	}{
		{
			name: "an empty mapping gives no settings",
			doc:  "{}",
			want: map[string]string{},
		},
		{
			name: "a key given twice keeps its last value",
			doc:  "a: 1\na: 2\n",
			want: map[string]string{"a": "2"},
		},
		{
			name: "quoted YAML scalars stay exactly as written",
			doc:  "a: \"007\"\nb: 'true'\nc: \"1e6\"\n",
			want: map[string]string{"a": "007", "b": "true", "c": "1e6"},
		},
		{
			name: "block scalars keep their newlines",
			doc:  "cert: |\n  line one\n  line two\n",
			want: map[string]string{"cert": "line one\nline two\n"},
		},
		{
			name: "non-string YAML keys become their text",
			doc:  "1: one\ntrue: yes-string\n",
			want: map[string]string{"1": "one", "true": "yes-string"},
		},
		{
			name: "nested lists become repeated indexes",
			doc:  "m: [[1, 2], [3]]\n",
			want: map[string]string{"m[0][0]": "1", "m[0][1]": "2", "m[1][0]": "3"},
		},
		{
			name: "a list of merged mappings lets the earlier mapping win",
			doc:  "x: &x {a: 1, b: 1}\ny: &y {b: 2, c: 2}\nz:\n  <<: [*x, *y]\n  c: 3\n",
			want: map[string]string{"x.a": "1", "x.b": "1", "y.b": "2", "y.c": "2", "z.a": "1", "z.b": "1", "z.c": "3"},
		},
		{
			name:   "a JSON document may be read as YAML too",
			doc:    `{"a": {"b": [true, null, 2.50]}}`,
			isJSON: false,
			want:   map[string]string{"a.b[0]": "true", "a.b[1]": "", "a.b[2]": "2.5"},
		},
		{
			name:   "JSON negative and exponent numbers are written plainly",
			doc:    `{"a": -3, "b": -2.5e3, "c": 0}`,
			isJSON: true,
			want:   map[string]string{"a": "-3", "b": "-2500", "c": "0"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseDocument([]byte(tt.doc), "doc", tt.isJSON)
			if err != nil {
				t.Fatalf("parseDocument(%q) failed: %v", tt.doc, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseDocument(%q) = %#v, want %#v", tt.doc, got, tt.want)
			}
		})
	}
}

func TestParseDocumentErrors(t *testing.T) {
	tests := []struct {
		name   string
		doc    string
		isJSON bool
		wantIn []string
		secret string
	}{
		{
			name:   "an empty YAML file is refused",
			doc:    "# nothing here\n",
			wantIn: []string{"doc", "empty"},
		},
		{
			name:   "an empty JSON file is refused",
			doc:    "  \n",
			isJSON: true,
			wantIn: []string{"empty"},
		},
		{
			name:   "a YAML list is not an object",
			doc:    "- s3cr3t-item\n",
			wantIn: []string{"line 1", "expected a mapping", "a list"},
			secret: "s3cr3t-item",
		},
		{
			name:   "a YAML scalar is not an object",
			doc:    "s3cr3t-scalar\n",
			wantIn: []string{"expected a mapping", "a single value"},
			secret: "s3cr3t-scalar",
		},
		{
			name:   "a JSON list is not an object",
			doc:    `["s3cr3t-item"]`,
			isJSON: true,
			wantIn: []string{"expected a JSON object", "a list"},
			secret: "s3cr3t-item",
		},
		{
			name:   "JSON null is not an object",
			doc:    `null`,
			isJSON: true,
			wantIn: []string{"expected a JSON object", "null"},
		},
		{
			name:   "bad YAML syntax reports the line without the content",
			doc:    "a: 1\nb: [s3cr3t-value\nc: 2\n",
			wantIn: []string{"invalid YAML at line"},
			secret: "s3cr3t-value",
		},
		{
			name:   "a YAML tab indentation error reports its line",
			doc:    "a:\n\tb: s3cr3t-value\n",
			wantIn: []string{"invalid YAML at line 2"},
			secret: "s3cr3t-value",
		},
		{
			name:   "bad JSON syntax reports line and column without the content",
			doc:    "{\n  \"a\": \"s3cr3t-value\",\n  \"b\": s3cr3t-bare\n}",
			isJSON: true,
			wantIn: []string{"invalid JSON at line 3, column"},
			secret: "s3cr3t",
		},
		{
			name:   "truncated JSON is reported as incomplete",
			doc:    `{"a": "s3cr3t-value"`,
			isJSON: true,
			wantIn: []string{"invalid JSON"},
			secret: "s3cr3t-value",
		},
		{
			name:   "JSON with data after the object is refused",
			doc:    `{"a": 1} {"b": "s3cr3t-value"}`,
			isJSON: true,
			wantIn: []string{"more data follows"},
			secret: "s3cr3t-value",
		},
		{
			name:   "two YAML documents are refused",
			doc:    "a: 1\n---\nb: s3cr3t-value\n",
			wantIn: []string{"more than one YAML document"},
			secret: "s3cr3t-value",
		},
		{
			name:   "a key that cannot be a --set path is named with its line",
			doc:    "outer:\n  bad key: s3cr3t-value\n",
			wantIn: []string{"line 2", `"bad key"`},
			secret: "s3cr3t-value",
		},
		{
			name:   "an empty key is refused",
			doc:    `{"outer": {"": "s3cr3t-value"}}`,
			isJSON: true,
			wantIn: []string{`under "outer" is empty`},
			secret: "s3cr3t-value",
		},
		{
			name:   "a mapping used as a key is refused",
			doc:    "? {a: 1}\n: s3cr3t-value\n",
			wantIn: []string{"line 1", "mapping key"},
			secret: "s3cr3t-value",
		},
		{
			name:   "a wrongly tagged scalar is refused without its text",
			doc:    "n: !!int s3cr3t-value\n",
			wantIn: []string{"line 1", `"n"`, "integer"},
			secret: "s3cr3t-value",
		},
		{
			name:   "a merge key on a scalar is refused",
			doc:    "a:\n  <<: s3cr3t-value\n",
			wantIn: []string{"merge key"},
			secret: "s3cr3t-value",
		},
		{
			name:   "an alias bomb stops at the size limit",
			doc:    aliasBomb(),
			wantIn: []string{"too large"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseDocument([]byte(tt.doc), "doc", tt.isJSON)
			if err == nil {
				t.Fatalf("parseDocument(%q) = %v, want an error", tt.doc, got)
			}
			for _, w := range tt.wantIn {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if tt.secret != "" && strings.Contains(err.Error(), tt.secret) {
				t.Errorf("error %q leaks the value %q", err, tt.secret)
			}
		})
	}
}

// aliasBomb is a YAML document whose aliases expand to 10^9 leaves.
func aliasBomb() string {
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i <= 9; i++ {
		prev := "*a" + string(rune('0'+i-1))
		b.WriteString("a" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [")
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString(prev)
		}
		b.WriteString("]\n")
	}
	return b.String()
}

func TestParseFileErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name   string
		path   string
		wantIn string
	}{
		{
			name:   "a missing file is named",
			path:   filepath.Join(dir, "missing.yaml"),
			wantIn: "missing.yaml does not exist",
		},
		{
			name:   "a directory is refused",
			path:   dir,
			wantIn: "is a directory",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseFile(tt.path)
			if err == nil || !strings.Contains(err.Error(), tt.wantIn) {
				t.Fatalf("ParseFile(%s) error = %v, want one containing %q", tt.path, err, tt.wantIn)
			}
		})
	}

	t.Run("a file named .json is read as strict JSON", func(t *testing.T) {
		p := filepath.Join(dir, "s.JSON")
		if err := os.WriteFile(p, []byte("a: 1\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := ParseFile(p); err == nil || !strings.Contains(err.Error(), "invalid JSON") {
			t.Fatalf("ParseFile(%s) error = %v, want invalid JSON", p, err)
		}
	})
}
