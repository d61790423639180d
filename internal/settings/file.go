package settings

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Limits that keep a hostile or mistaken file (an alias bomb, a huge list)
// from exhausting memory.
const (
	maxFileSize   = 8 << 20
	maxSettings   = 100000
	maxNodeVisits = 1000000
)

// ParseFile reads settings from a JSON or YAML file holding one object (see the
// package documentation). A file named *.json is read as JSON, any other as
// YAML. Errors name the file, a line where the parser gives one, and keys;
// never a value.
func ParseFile(path string) (map[string]string, error) {
	info, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("settings file %s does not exist", path)
	case err != nil:
		return nil, fmt.Errorf("cannot read settings file %s: %w", path, err)
	case info.IsDir():
		return nil, fmt.Errorf("settings file %s is a directory", path)
	case info.Size() > maxFileSize:
		return nil, fmt.Errorf("settings file %s is larger than %d bytes", path, maxFileSize)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read settings file %s: %w", path, err)
	}
	return parseDocument(data, path, strings.EqualFold(filepath.Ext(path), ".json"))
}

// parseDocument reads the settings in data; name is used in errors.
func parseDocument(data []byte, name string, isJSON bool) (map[string]string, error) {
	var (
		out map[string]string
		err error
	)
	if isJSON {
		out, err = parseJSON(data)
	} else {
		out, err = parseYAML(data)
	}
	if err != nil {
		return nil, fmt.Errorf("settings file %s: %w", name, err)
	}
	return out, nil
}

// flattener collects the settings of a document.
type flattener struct {
	out    map[string]string
	visits int
}

func newFlattener() *flattener {
	return &flattener{out: make(map[string]string)}
}

var errTooLarge = fmt.Errorf("the document is too large: more than %d settings or %d nodes", maxSettings, maxNodeVisits)

// visit counts one node against the limits.
func (f *flattener) visit() error {
	f.visits++
	if f.visits > maxNodeVisits {
		return errTooLarge
	}
	return nil
}

func (f *flattener) set(key, value string) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	f.out[key] = value
	if len(f.out) > maxSettings {
		return errTooLarge
	}
	return nil
}

// child returns the key of the mapping entry name under parent.
func child(parent, name string) (string, error) {
	if name == "" {
		if parent == "" {
			return "", fmt.Errorf("a top-level key is empty")
		}
		return "", fmt.Errorf("a key under %q is empty", parent)
	}
	escaped := escapeName(name)
	for i := 0; i < len(escaped); i++ {
		c := escaped[i]
		if c == '\\' {
			i++ // an escaped dot
			continue
		}
		if !isNameChar(c) {
			return "", fmt.Errorf("key %q cannot be part of a --set path: "+
				"a key holds letters, digits, '_', '-', '/' and '.'", name)
		}
	}
	if parent == "" {
		return escaped, nil
	}
	return parent + "." + escaped, nil
}

// ---- JSON ----

func parseJSON(data []byte) (map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc interface{}
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("the file is empty; expected a JSON object")
		}
		return nil, jsonSyntaxError(data, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("invalid JSON: more data follows the object at line %d", lineAt(data, int(dec.InputOffset())))
	}
	obj, ok := doc.(map[string]interface{})
	if !ok {
		return nil, fmt.Errorf("expected a JSON object (key: value), found %s", jsonKind(doc))
	}
	f := newFlattener()
	if err := f.jsonValue("", obj); err != nil {
		return nil, err
	}
	return f.out, nil
}

// jsonSyntaxError describes a JSON decoding error by position only: the
// decoder's own message may quote the input.
func jsonSyntaxError(data []byte, err error) error {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		line, col := lineCol(data, int(syn.Offset))
		return fmt.Errorf("invalid JSON at line %d, column %d", line, col)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("invalid JSON: the file ends before the object is complete")
	}
	return fmt.Errorf("invalid JSON")
}

func jsonKind(v interface{}) string {
	switch v.(type) {
	case []interface{}:
		return "a list"
	case nil:
		return "null"
	default:
		return "a single value"
	}
}

func (f *flattener) jsonValue(key string, v interface{}) error {
	if err := f.visit(); err != nil {
		return err
	}
	switch v := v.(type) {
	case map[string]interface{}:
		names := make([]string, 0, len(v))
		for name := range v {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			k, err := child(key, name)
			if err != nil {
				return err
			}
			if err := f.jsonValue(k, v[name]); err != nil {
				return err
			}
		}
		return nil
	case []interface{}:
		for i, item := range v {
			if err := f.jsonValue(key+"["+strconv.Itoa(i)+"]", item); err != nil {
				return err
			}
		}
		return nil
	case json.Number:
		return f.set(key, formatNumber(string(v)))
	case string:
		return f.set(key, v)
	case bool:
		return f.set(key, strconv.FormatBool(v))
	case nil:
		return f.set(key, "")
	default:
		return fmt.Errorf("key %q has a value of an unexpected type %T", key, v)
	}
}

// formatNumber writes a JSON number literal as an integer when it is one, and
// otherwise in plain decimal notation without an exponent.
func formatNumber(lit string) string {
	if !strings.ContainsAny(lit, ".eE") {
		return lit
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil {
		return lit
	}
	return formatFloat(f)
}

func formatFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	case math.IsNaN(f):
		return "NaN"
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// ---- YAML ----

// yamlProblem matches the messages of go.yaml.in/yaml/v3 that say where and
// what, e.g. "yaml: line 3: did not find expected key".
var (
	yamlProblem  = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
	yamlDupKey   = regexp.MustCompile(`^mapping key (".*") already defined at line (\d+)$`)
	safeProblem  = regexp.MustCompile(`^[A-Za-z ,()-]+$`)
	yamlLineOnly = regexp.MustCompile(`line (\d+)`)
)

func parseYAML(data []byte) (map[string]string, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("the file is empty; expected a YAML mapping or JSON object")
		}
		return nil, yamlSyntaxError(err)
	}
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("the file holds more than one YAML document; expected one mapping")
	}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return nil, fmt.Errorf("the file is empty; expected a YAML mapping or JSON object")
		}
		root = root.Content[0]
	}
	for root.Kind == yaml.AliasNode && root.Alias != nil {
		root = root.Alias
	}
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: expected a mapping (key: value), found %s", root.Line, yamlKind(root))
	}
	f := newFlattener()
	if err := f.yamlNode("", root, 0); err != nil {
		return nil, err
	}
	return f.out, nil
}

// yamlSyntaxError keeps the line of a YAML error and its description when the
// description cannot hold any of the input.
func yamlSyntaxError(err error) error {
	msg := err.Error()
	if m := yamlProblem.FindStringSubmatch(msg); m != nil {
		problem := m[2]
		if d := yamlDupKey.FindStringSubmatch(problem); d != nil {
			// A key, never a value, is quoted here.
			return fmt.Errorf("invalid YAML at line %s: key %s is already defined at line %s", m[1], d[1], d[2])
		}
		if safeProblem.MatchString(problem) {
			return fmt.Errorf("invalid YAML at line %s: %s", m[1], problem)
		}
		return fmt.Errorf("invalid YAML at line %s", m[1])
	}
	if m := yamlLineOnly.FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("invalid YAML at line %s", m[1])
	}
	return fmt.Errorf("invalid YAML")
}

func yamlKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			return "null"
		}
		return "a single value"
	default:
		return "something else"
	}
}

// maxAliasDepth bounds alias chains inside one path, which also stops cycles.
const maxAliasDepth = 100

func (f *flattener) yamlNode(key string, n *yaml.Node, aliases int) error {
	if err := f.visit(); err != nil {
		return err
	}
	switch n.Kind {
	case yaml.AliasNode:
		if n.Alias == nil {
			return fmt.Errorf("line %d: an alias refers to nothing", n.Line)
		}
		if aliases >= maxAliasDepth {
			return fmt.Errorf("line %d: aliases nest too deeply", n.Line)
		}
		return f.yamlNode(key, n.Alias, aliases+1)
	case yaml.MappingNode:
		entries, err := f.mappingEntries(n, aliases)
		if err != nil {
			return err
		}
		for _, e := range entries {
			k, err := child(key, e.name)
			if err != nil {
				return fmt.Errorf("line %d: %w", e.line, err)
			}
			if err := f.yamlNode(k, e.value, aliases); err != nil {
				return err
			}
		}
		return nil
	case yaml.SequenceNode:
		for i, item := range n.Content {
			if err := f.yamlNode(key+"["+strconv.Itoa(i)+"]", item, aliases); err != nil {
				return err
			}
		}
		return nil
	case yaml.ScalarNode:
		v, err := yamlScalar(n)
		if err != nil {
			return fmt.Errorf("line %d: the value of %q %w", n.Line, key, err)
		}
		if err := f.set(key, v); err != nil {
			return fmt.Errorf("line %d: %w", n.Line, err)
		}
		return nil
	default:
		return fmt.Errorf("line %d: unexpected YAML node", n.Line)
	}
}

type entry struct {
	name  string
	line  int
	value *yaml.Node
}

// mappingEntries returns the entries of a mapping with merge keys (<<)
// resolved: the mapping's own keys win over merged ones, and an earlier merged
// mapping wins over a later one. Among the mapping's own keys the last wins.
func (f *flattener) mappingEntries(n *yaml.Node, aliases int) ([]entry, error) {
	var own, merged []entry
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		for k.Kind == yaml.AliasNode && k.Alias != nil {
			k = k.Alias
		}
		if k.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("line %d: a mapping key must be a plain value, not a list or mapping", k.Line)
		}
		if k.ShortTag() == "!!merge" {
			m, err := f.mergeSources(v, aliases)
			if err != nil {
				return nil, err
			}
			merged = append(merged, m...)
			continue
		}
		own = append(own, entry{name: k.Value, line: k.Line, value: v})
	}
	// Keep one entry per name: the last own one, else the first merged one.
	index := make(map[string]int)
	var out []entry
	for _, e := range own {
		if i, ok := index[e.name]; ok {
			out[i] = e
			continue
		}
		index[e.name] = len(out)
		out = append(out, e)
	}
	for _, e := range merged {
		if _, ok := index[e.name]; ok {
			continue
		}
		index[e.name] = len(out)
		out = append(out, e)
	}
	return out, nil
}

// mergeSources returns the entries a merge key's value brings: one mapping or a
// list of mappings, each possibly an alias.
func (f *flattener) mergeSources(v *yaml.Node, aliases int) ([]entry, error) {
	if err := f.visit(); err != nil {
		return nil, err
	}
	depth := aliases
	for v.Kind == yaml.AliasNode && v.Alias != nil {
		if depth++; depth > maxAliasDepth {
			return nil, fmt.Errorf("line %d: aliases nest too deeply", v.Line)
		}
		v = v.Alias
	}
	switch v.Kind {
	case yaml.MappingNode:
		return f.mappingEntries(v, depth)
	case yaml.SequenceNode:
		var out []entry
		for _, item := range v.Content {
			e, err := f.mergeSources(item, depth)
			if err != nil {
				return nil, err
			}
			out = append(out, e...)
		}
		return out, nil
	default:
		return nil, fmt.Errorf("line %d: a merge key (<<) must refer to a mapping or a list of mappings", v.Line)
	}
}

// yamlScalar writes a scalar as a setting value. Errors never hold the value.
func yamlScalar(n *yaml.Node) (string, error) {
	if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return n.Value, nil
	}
	switch n.ShortTag() {
	case "!!null":
		return "", nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return "", fmt.Errorf("is not a valid boolean")
		}
		return strconv.FormatBool(b), nil
	case "!!int":
		var v interface{}
		if err := n.Decode(&v); err != nil {
			return "", fmt.Errorf("is not a valid integer")
		}
		switch v := v.(type) {
		case int:
			return strconv.Itoa(v), nil
		case int64:
			return strconv.FormatInt(v, 10), nil
		case uint64:
			return strconv.FormatUint(v, 10), nil
		case float64:
			return formatFloat(v), nil
		default:
			return n.Value, nil
		}
	case "!!float":
		var v float64
		if err := n.Decode(&v); err != nil {
			return "", fmt.Errorf("is not a valid number")
		}
		return formatFloat(v), nil
	default:
		// Strings, timestamps (kept as written), binary (base64 text) and
		// custom tags.
		return n.Value, nil
	}
}

// lineAt returns the 1-based line of byte offset off in data.
func lineAt(data []byte, off int) int {
	line, _ := lineCol(data, off)
	return line
}

func lineCol(data []byte, off int) (int, int) {
	if off > len(data) {
		off = len(data)
	}
	if off < 0 {
		off = 0
	}
	before := data[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	col := off - bytes.LastIndexByte(before, '\n')
	return line, col
}
