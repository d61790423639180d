package settings

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
)

// loadTestChart builds chart demo 1.0.0 from testdata/schema (values.yaml and
// values.schema.json) with its subchart redis from testdata/schema/redis, or the bare
// chart, with neither, when bare.
func loadTestChart(t *testing.T, bare bool) *chart.Chart {
	t.Helper()
	read := func(name string, dir ...string) (chartutil.Values, []byte) {
		p := filepath.Join(append(append([]string{"testdata", "schema"}, dir...), name)...)
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if name != chartutil.ValuesfileName {
			return nil, raw
		}
		v, err := chartutil.ReadValues(raw)
		if err != nil {
			t.Fatal(err)
		}
		return v, raw
	}
	ch := &chart.Chart{Metadata: &chart.Metadata{APIVersion: chart.APIVersionV2, Name: "demo", Version: "1.0.0"}}
	if bare {
		return ch
	}
	ch.Values, _ = read(chartutil.ValuesfileName)
	_, ch.Schema = read("values.schema.json")
	redis := &chart.Chart{Metadata: &chart.Metadata{APIVersion: chart.APIVersionV2, Name: "redis", Version: "7.0.0"}}
	redis.Values, _ = read(chartutil.ValuesfileName, "redis")
	_, redis.Schema = read("values.schema.json", "redis")
	ch.AddDependency(redis)
	return ch
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name      string
		bare      bool
		settings  map[string]string
		protected map[string]string
		// want are the problems, as "key: complaint substring"; none means valid.
		want []string
		// notIn must not appear in the error.
		notIn string
	}{
		{
			name:     "settings the schema allows pass, nested, listed and escaped ones too",
			settings: map[string]string{"replicaCount": "3", "service.port": "8080", "hosts[0].name": "b", `podAnnotations.prometheus\.io/scrape`: "yes", "redis.port": "6380"},
		},
		{
			name:     "a chart without a schema takes anything",
			bare:     true,
			settings: map[string]string{"replicaCount": "two"},
		},
		{
			name:     "a value of the wrong type names its key and the schema's complaint",
			settings: map[string]string{"replicaCount": "two"},
			want:     []string{"replicaCount: got string, want integer"},
		},
		{
			name:     "a key under a $ref is named as settings write it",
			settings: map[string]string{"service.port": "http", "service.type": "LoadBalancer"},
			want:     []string{"service.port: got string, want integer", "service.type: value must be one of"},
		},
		{
			name:     "a list element is named with its index",
			settings: map[string]string{"hosts[0].name": "7"},
			want:     []string{"hosts[0].name: got number, want string"},
		},
		{
			name:     "a name with a dot and a slash keeps its escaped dot",
			settings: map[string]string{`podAnnotations.prometheus\.io/scrape`: "true"},
			want:     []string{`podAnnotations.prometheus\.io/scrape: got boolean, want string`},
		},
		{
			name:     "a subchart's schema judges its values under its name",
			settings: map[string]string{"redis.port": "default"},
			want:     []string{"redis.port: got string, want integer"},
		},
		{
			name:     "null removes a default as with helm --set, and a required key is then missing",
			settings: map[string]string{"replicaCount": "null"},
			want:     []string{": missing property 'replicaCount'"},
		},
		{
			name:      "a protected value the schema quotes is left out",
			protected: map[string]string{"auth.password": "hunter2-x"},
			want:      []string{"auth.password: the protected value does not match pattern '^[A-Za-z0-9]+$'"},
			notIn:     "hunter2-x",
		},
		{
			// The validator quotes a string with \' for a quote: Redact never saw that form.
			name:      "a protected value with a quote is left out, not quoted by the validator",
			protected: map[string]string{"auth.password": "Sup3r'Secret"},
			want:      []string{"auth.password: the protected value does not match pattern"},
			notIn:     "Sup3r",
		},
		{
			// The validator prints a number with thousands separators.
			name:      "a protected number the validator prints its own way is left out",
			protected: map[string]string{"replicaCount": "1234567"},
			want:      []string{"replicaCount: maximum: the protected value is above 100,000"},
			notIn:     "1,234,567",
		},
		{
			name:      "a protected value too short says so without its length",
			protected: map[string]string{"auth.password": "short"},
			want:      []string{"auth.password: minLength: the protected value has fewer characters than 8"},
			notIn:     "got 5",
		},
		{
			name:      "a protected value of the wrong type keeps the types",
			protected: map[string]string{"replicaCount": "many-pods"},
			want:      []string{"replicaCount: got string, want integer"},
			notIn:     "many-pods",
		},
		{
			name:     "a list set by index replaces the default list, as with helm --set, so its first element is null",
			settings: map[string]string{"hosts[1].name": "b"},
			want:     []string{"hosts[0]: got null, want object"},
		},
		{
			name:     "a value below the schema's minimum",
			settings: map[string]string{"replicaCount": "0"},
			want:     []string{"replicaCount: minimum: got 0, want 1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch := loadTestChart(t, tt.bare)
			vals, err := Values(Merge(tt.settings, tt.protected))
			if err != nil {
				t.Fatal(err)
			}
			var secrets []string
			for _, v := range tt.protected {
				secrets = append(secrets, v)
			}
			err = Validate(ch, vals, secrets)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			var se *SchemaError
			if !errors.As(err, &se) {
				t.Fatalf("error = %v, want a *SchemaError", err)
			}
			if se.Chart != "demo 1.0.0" {
				t.Errorf("chart = %q", se.Chart)
			}
			var got []string
			for _, p := range se.Problems {
				got = append(got, p.Key+": "+p.Complaint)
			}
			for _, w := range tt.want {
				found := false
				for _, g := range got {
					found = found || strings.HasPrefix(g, w) || strings.HasPrefix(w, ": ") && strings.Contains(g, w)
				}
				if !found {
					t.Errorf("problems %q hold none starting with %q", got, w)
				}
			}
			if tt.notIn != "" && strings.Contains(err.Error(), tt.notIn) {
				t.Errorf("error holds %q:\n%v", tt.notIn, err)
			}
			if !strings.Contains(err.Error(), "values.schema.json") || !strings.Contains(err.Error(), "demo 1.0.0") {
				t.Errorf("error does not name the chart and its schema:\n%v", err)
			}
		})
	}
}

func TestUnknown(t *testing.T) {
	tests := []struct {
		name string
		bare bool
		keys []string
		want []UnknownKey
	}{
		{
			name: "keys of the defaults or the schema, and keys under open mappings and lists, are known",
			keys: []string{"replicaCount", "service.port", "auth.password", "logLevel", "hosts[5].name", "podAnnotations.a",
				"resources.limits.cpu", "tolerations[0].key", "redis.port", `podAnnotations.prometheus\.io/scrape`},
		},
		{
			name: "a typo is suggested the key it was meant for",
			keys: []string{"replicaCout", "service.prot", "auth.pasword", "hosts[2].nam", "Message"},
			want: []UnknownKey{{"replicaCout", "replicaCount"}, {"service.prot", "service.port"}, {"auth.pasword", "auth.password"},
				{"hosts[2].nam", "hosts[0].name"}, {"Message", "message"}},
		},
		{
			name: "a key far from every key the chart knows has no suggestion",
			keys: []string{"zzzqqqxxx", "image.registry.mirror"},
			want: []UnknownKey{{"zzzqqqxxx", ""}, {"image.registry.mirror", ""}},
		},
		{
			name: "a member of an object whose schema lists its properties is unknown, a subchart's too",
			keys: []string{"service.nodePort", "redis.prt"},
			want: []UnknownKey{{"service.nodePort", "service.port"}, {"redis.prt", "redis.port"}},
		},
		{
			name: "a chart that declares no values knows no key",
			bare: true,
			keys: []string{"replicaCount"},
			want: []UnknownKey{{"replicaCount", ""}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Unknown(loadTestChart(t, tt.bare), tt.keys)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Unknown = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDescribe(t *testing.T) {
	got, err := Describe(loadTestChart(t, false))
	if err != nil {
		t.Fatal(err)
	}
	want := []Setting{
		{Key: "auth.existingSecret", Type: "string"},
		{Key: "auth.password", Type: "string", Description: "The admin password.", Protected: true},
		{Key: "hosts", Type: "array", Default: []any{map[string]any{"name": "a.example.org"}}},
		{Key: "image", Type: "string", Default: "registry.k8s.io/pause:3.10"},
		{Key: "logLevel", Default: "info", Description: "How much the pods log."},
		{Key: "message", Type: "string", Default: "hello", Description: "What the pods say"},
		{Key: "podAnnotations", Type: "object", Default: map[string]any{}},
		{Key: "redis.port", Type: "integer", Default: float64(6379)},
		{Key: "replicaCount", Type: "integer", Default: float64(1), Description: "How many pods run."},
		{Key: "resources", Type: "object"},
		{Key: "service.port", Type: "integer", Default: float64(80), Description: "The service's port."},
		{Key: "service.type", Type: "string", Default: "ClusterIP"},
		{Key: "tolerations", Type: "array", Default: []any{}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Describe =\n%+v\nwant\n%+v", got, want)
	}
}

func TestLooksProtected(t *testing.T) {
	tests := []struct {
		key  string
		want bool
	}{
		{"auth.password", true},
		{"adminPassword", true},
		{"apiKey", true},
		{"tls.key", true},
		{"tls.caCert", true},
		{"oauth.clientSecret", true},
		{"registry.token", true},
		{"credentials[0]", true},
		{"auth.existingSecret", false},
		{"tls.secretName", false},
		{"tls.certFile", false},
		{"auth.tokenTTL", false},
		{"certManager.enabled", false},
		{"monkey", false},
		{"replicaCount", false},
		{"tolerations[0].key", true},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			if got := LooksProtected(tt.key); got != tt.want {
				t.Errorf("LooksProtected(%q) = %v, want %v", tt.key, got, tt.want)
			}
		})
	}
}

// TestKeyOfPointer: the validator's quoted JSON pointers read back as setting keys:
// ~1 and ~0 unescaped, a dot in a name escaped, list positions as indexes where the
// values hold a list, a quote the validator escaped kept.
func TestKeyOfPointer(t *testing.T) {
	values := map[string]any{
		"hosts": []any{map[string]any{"name": "a"}},
		"m":     map[string]any{"0": "a map key that looks like an index"},
	}
	tests := []struct{ quoted, want string }{
		{"", ""},
		{"/replicaCount", "replicaCount"},
		{"/hosts/0/name", "hosts[0].name"},
		{"/m/0", "m.0"},
		{"/podAnnotations/prometheus.io~1scrape", `podAnnotations.prometheus\.io/scrape`},
		{"/a~0b", "a~b"},
		{`/it\'s`, "it's"},
		{`/tab\there`, "tab\there"},
	}
	for _, tt := range tests {
		t.Run(tt.quoted, func(t *testing.T) {
			tokens, err := pointerTokens(tt.quoted)
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := keyOf(values, tokens); got != tt.want {
				t.Errorf("keyOf(%q) = %q, want %q", tt.quoted, got, tt.want)
			}
		})
	}
}
