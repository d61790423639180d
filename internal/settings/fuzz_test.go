package settings

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// A candidate secret is only checked when it is long enough and holds a
// character other than a lowercase letter or space, so that it cannot match
// the fixed wording of an error by chance.
func checkable(s string) bool {
	return len(s) >= 8 && strings.ContainsFunc(s, func(r rune) bool {
		return r != ' ' && (r < 'a' || r > 'z')
	})
}

func FuzzParsePairs(f *testing.F) {
	f.Add("replicaCount", "2")
	f.Add("a", `"x y" b=2`)
	f.Add("hosts[0].name", "s3cr3t-value!")
	f.Add(`a\.b`, "p='q r' s")
	f.Add("pw", "hunter2 tail-of-s3cr3t")
	f.Fuzz(func(t *testing.T, key, value string) {
		arg := key + "=" + value
		got, err := ParsePairs([]string{arg})
		// The key ParsePairs reads is the text before the first '='.
		k, v, _ := strings.Cut(arg, "=")

		if err != nil {
			if checkable(v) && !strings.Contains(k, v) && strings.Contains(err.Error(), v) {
				t.Fatalf("ParsePairs(%q) error %q contains the value %q", arg, err, v)
			}
			return
		}
		if strings.TrimSpace(arg) == "" {
			if len(got) != 0 {
				t.Fatalf("ParsePairs(%q) = %q, want no pair", arg, got)
			}
			return
		}
		if len(got) != 1 || got[k] != v {
			t.Fatalf("ParsePairs(%q) = %q, want only %q=%q", arg, got, k, v)
		}
		if verr := ValidateKey(k); verr != nil {
			t.Fatalf("ParsePairs(%q) returned invalid key %q: %v", arg, k, verr)
		}
		// Every single setting turns into Helm values holding exactly its value.
		vals, verr := Values(map[string]string{k: v})
		if verr != nil {
			t.Fatalf("Values(%q=%q) failed: %v", k, v, verr)
		}
		checkLeaf(t, vals, k, v)
	})
}

// checkLeaf checks that vals holds v at key, typed as helm --set types it.
func checkLeaf(t *testing.T, vals map[string]interface{}, key, v string) {
	t.Helper()
	var cur interface{} = vals
	for _, step := range splitKey(key) {
		if step.name != "" {
			m, ok := cur.(map[string]interface{})
			if !ok {
				t.Fatalf("Values for %q: %v is not a mapping at %q", key, cur, step.name)
			}
			cur = m[step.name]
			continue
		}
		l, ok := cur.([]interface{})
		if !ok || step.index >= len(l) {
			t.Fatalf("Values for %q: %v has no index %d", key, cur, step.index)
		}
		cur = l[step.index]
	}
	switch leaf := cur.(type) {
	case string:
		if leaf != v {
			t.Fatalf("Values for %q holds %q, want %q", key, leaf, v)
		}
	case int64:
		if n, err := strconv.ParseInt(v, 10, 64); err != nil || n != leaf {
			t.Fatalf("Values for %q holds %d, want the text %q", key, leaf, v)
		}
	case bool:
		if !strings.EqualFold(v, strconv.FormatBool(leaf)) {
			t.Fatalf("Values for %q holds %v, want the text %q", key, leaf, v)
		}
	case nil:
		if !strings.EqualFold(v, "null") {
			t.Fatalf("Values for %q holds nil, want the text %q", key, v)
		}
	default:
		t.Fatalf("Values for %q holds %#v of an unexpected type", key, leaf)
	}
}

type keyStep struct {
	name  string
	index int
}

// splitKey splits a valid key into names (unescaped) and indexes.
func splitKey(key string) []keyStep {
	var steps []keyStep
	var name strings.Builder
	flush := func() {
		if name.Len() > 0 {
			steps = append(steps, keyStep{name: name.String()})
			name.Reset()
		}
	}
	for i := 0; i < len(key); i++ {
		switch c := key[i]; c {
		case '\\':
			name.WriteByte(key[i+1])
			i++
		case '.':
			flush()
		case '[':
			flush()
			end := strings.IndexByte(key[i:], ']')
			n, _ := strconv.Atoi(key[i+1 : i+end])
			steps = append(steps, keyStep{index: n})
			i += end
		default:
			name.WriteByte(c)
		}
	}
	flush()
	return steps
}

func FuzzParseFileContent(f *testing.F) {
	f.Add([]byte("replicaCount: 2\nimage:\n  tag: v1\n"), false)
	f.Add([]byte(`{"a": {"b": [1, 2.5e3, null, "s3cr3t-value!"]}}`), true)
	f.Add([]byte("a: &x {b: 1}\nc:\n  <<: *x\n"), false)
	f.Add([]byte("a: [s3cr3t-value!\n"), false)
	f.Add([]byte(`{"a": s3cr3t-value!}`), true)
	f.Fuzz(func(t *testing.T, data []byte, isJSON bool) {
		got, err := parseDocument(data, "doc", isJSON)
		if err != nil {
			msg := strings.TrimPrefix(err.Error(), "settings file doc: ")
			keys, values := docParts(data, isJSON)
			for _, s := range values {
				// Errors name key paths (a.b), so values with dots are not checked.
				if checkable(s) && !strings.Contains(s, ".") && !containsAny(keys, s) && strings.Contains(msg, s) {
					t.Fatalf("parseDocument(%q) error %q contains the value %q", data, err, s)
				}
			}
			return
		}
		for k := range got {
			if verr := ValidateKey(k); verr != nil {
				t.Fatalf("parseDocument(%q) returned invalid key %q: %v", data, k, verr)
			}
		}
		if _, verr := Values(got); verr != nil {
			t.Fatalf("Values of parseDocument(%q) failed: %v", data, verr)
		}
	})
}

func containsAny(list []string, s string) bool {
	for _, x := range list {
		if strings.Contains(x, s) {
			return true
		}
	}
	return false
}

// docParts returns the mapping keys and the values of a document. When the
// document does not parse, every token of its text counts as a value and no
// key is known, since a syntax error names no key.
func docParts(data []byte, isJSON bool) (keys, values []string) {
	if isJSON {
		var doc interface{}
		if err := json.Unmarshal(data, &doc); err == nil {
			jsonParts(doc, &keys, &values)
			return keys, values
		}
	} else {
		var n yaml.Node
		if err := yaml.Unmarshal(data, &n); err == nil {
			yamlParts(&n, &keys, &values, 0)
			return keys, values
		}
	}
	return nil, strings.FieldsFunc(string(data), func(r rune) bool {
		return strings.ContainsRune(" \t\r\n:,[]{}\"'#&*!|>-?%@`", r)
	})
}

func jsonParts(v interface{}, keys, values *[]string) {
	switch v := v.(type) {
	case map[string]interface{}:
		for k, item := range v {
			*keys = append(*keys, k)
			jsonParts(item, keys, values)
		}
	case []interface{}:
		for _, item := range v {
			jsonParts(item, keys, values)
		}
	case string:
		*values = append(*values, v)
	}
}

func yamlParts(n *yaml.Node, keys, values *[]string, depth int) {
	if n == nil || depth > 50 {
		return
	}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind == yaml.ScalarNode {
				*keys = append(*keys, k.Value)
			} else {
				yamlParts(k, keys, values, depth+1)
			}
			yamlParts(n.Content[i+1], keys, values, depth+1)
		}
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			yamlParts(c, keys, values, depth+1)
		}
	case yaml.ScalarNode:
		*values = append(*values, n.Value)
	}
}
