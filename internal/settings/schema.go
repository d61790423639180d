package settings

import (
	"bytes"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/agnivade/levenshtein"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
)

// This file checks settings against the chart they are for, before anything is
// installed: Validate judges the values with the chart's values.schema.json as Helm
// will, Unknown finds keys the chart does not know, and Describe lists the keys it
// does.

// SchemaError is a chart's values.schema.json refusing the values of some settings.
// Each problem names the setting key (a.b[0].c, as settings are written) it is about.
type SchemaError struct {
	// Chart is the chart's name and version.
	Chart    string
	Problems []Problem
}

// Problem is one complaint of a schema.
type Problem struct {
	// Key is the setting key, "" for the values as a whole (a required key missing).
	Key string
	// Complaint is the schema validator's message, with protected values redacted.
	Complaint string
	// Depth is how far the complaint nests under another (the validator's causes of
	// an allOf, anyOf or oneOf); 0 for a top one.
	Depth int
}

func (e *SchemaError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "the values schema (values.schema.json) of chart %s refuses the settings:", e.Chart)
	for _, p := range e.Problems {
		key := p.Key
		if key == "" {
			key = "(all settings)"
		}
		fmt.Fprintf(&b, "\n%s- %s: %s", strings.Repeat("  ", p.Depth+1), key, p.Complaint)
	}
	return b.String()
}

// Validate checks values against the chart's values.schema.json and those of its
// subcharts the way Helm does before it renders them: the chart's defaults are
// coalesced with values first (a setting of null removes a default), then Helm's
// chartutil.ValidateAgainstSchema judges the result. A chart without a schema
// passes. A refusal is a *SchemaError; any of secrets found in it is redacted, as the
// validator quotes the values it refuses.
func Validate(ch *chart.Chart, values map[string]any, secrets []string) error {
	if !hasSchema(ch) {
		return nil
	}
	coalesced, err := chartutil.CoalesceValues(ch, values)
	if err != nil {
		return fmt.Errorf("coalescing the settings with the defaults of chart %s: %s", chartName(ch), Redact(err.Error(), secrets))
	}
	err = chartutil.ValidateAgainstSchema(ch, coalesced)
	if err == nil {
		return nil
	}
	return &SchemaError{Chart: chartName(ch), Problems: problems(ch, coalesced, Redact(err.Error(), secrets), secretValues(secrets))}
}

func hasSchema(ch *chart.Chart) bool {
	if len(ch.Schema) > 0 {
		return true
	}
	for _, d := range ch.Dependencies() {
		if hasSchema(d) {
			return true
		}
	}
	return false
}

func chartName(ch *chart.Chart) string {
	if ch.Metadata == nil {
		return "(unnamed)"
	}
	return ch.Metadata.Name + " " + ch.Metadata.Version
}

// complaintLine is one line of the validator's message (jsonschema/v6's
// ValidationError, each cause indented two spaces under its parent):
// "- at '/image/tag': got number, want string".
var complaintLine = regexp.MustCompile(`^( *)- at '((?:[^'\\]|\\.)*)': (.*)$`)

// problems reads ValidateAgainstSchema's message: a "name:" line for each chart (the
// chart or a subchart, whose values sit under its name) followed by the validator's
// lines, each naming a JSON pointer into that chart's values. Lines it does not know
// are kept whole as complaints about the values as a whole, so nothing is lost if
// the format moves.
//
// A complaint about a value that holds a secret is rewritten by protectedComplaint:
// the validator quotes and formats values its own way (a quote escaped, a number
// with thousands separators or in scientific notation), so redacting the secret's
// known forms from its text is not enough.
func problems(ch *chart.Chart, values map[string]any, msg string, secrets []any) []Problem {
	prefixes := subchartPrefixes(ch, nil, map[string][]string{})
	var prefix []string
	var out []Problem
	for _, line := range strings.Split(msg, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		if name, ok := strings.CutSuffix(line, ":"); ok && !strings.HasPrefix(line, " ") && !strings.HasPrefix(line, "-") {
			if p, known := prefixes[name]; known {
				prefix = p
				continue
			}
		}
		m := complaintLine.FindStringSubmatch(line)
		if m == nil {
			out = append(out, Problem{Complaint: strings.TrimSpace(line)})
			continue
		}
		tokens, err := pointerTokens(m[2])
		if err != nil {
			out = append(out, Problem{Complaint: strings.TrimSpace(line)})
			continue
		}
		key, node := keyOf(values, append(append([]string(nil), prefix...), tokens...))
		complaint := m[3]
		if holdsSecret(node, secrets) {
			complaint = protectedComplaint(complaint)
		}
		out = append(out, Problem{Key: key, Complaint: complaint, Depth: len(m[1]) / 2})
	}
	return out
}

// subchartPrefixes maps each chart name of the tree to the path of its values from
// the top: the chart itself to none, a subchart to its name under its parent's.
func subchartPrefixes(ch *chart.Chart, at []string, out map[string][]string) map[string][]string {
	if _, seen := out[ch.Name()]; !seen {
		out[ch.Name()] = at
	}
	for _, d := range ch.Dependencies() {
		subchartPrefixes(d, append(append([]string(nil), at...), d.Name()), out)
	}
	return out
}

// pointerTokens splits a JSON pointer the validator quoted ('...' with Go's escapes
// and \' for a quote) into its unescaped reference tokens.
func pointerTokens(quoted string) ([]string, error) {
	s := strings.ReplaceAll(quoted, `\'`, `'`)
	s = strings.ReplaceAll(s, `"`, `\"`)
	ptr, err := strconv.Unquote(`"` + s + `"`)
	if err != nil {
		return nil, err
	}
	if ptr == "" {
		return nil, nil
	}
	parts := strings.Split(strings.TrimPrefix(ptr, "/"), "/")
	for i, p := range parts {
		parts[i] = strings.NewReplacer("~1", "/", "~0", "~").Replace(p)
	}
	return parts, nil
}

// keyOf writes a path of values as a setting key: names joined by dots (a dot
// inside a name escaped), list positions as [i] where values hold a list. It also
// returns the value at the path (nil when there is none).
func keyOf(values map[string]any, tokens []string) (string, any) {
	var b strings.Builder
	var node any = values
	for _, tok := range tokens {
		if l, ok := node.([]any); ok {
			if i, err := strconv.Atoi(tok); err == nil && i >= 0 {
				fmt.Fprintf(&b, "[%d]", i)
				node = nil
				if i < len(l) {
					node = l[i]
				}
				continue
			}
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(escapeName(tok))
		m, _ := asMap(node)
		node = m[tok]
	}
	return b.String(), node
}

// segment is one step of a setting key: a name, or a list index when index >= 0.
type segment struct {
	name  string
	index int
}

// segments splits a valid key into its names (unescaped) and indexes.
func segments(key string) []segment {
	var out []segment
	var name strings.Builder
	flush := func() {
		if name.Len() > 0 {
			out = append(out, segment{name: name.String(), index: -1})
			name.Reset()
		}
	}
	for i := 0; i < len(key); i++ {
		switch c := key[i]; c {
		case '\\':
			if i+1 < len(key) {
				i++
				name.WriteByte(key[i])
			}
		case '.':
			flush()
		case '[':
			flush()
			end := strings.IndexByte(key[i:], ']')
			if end < 0 {
				return out
			}
			n, _ := strconv.Atoi(key[i+1 : i+end])
			out = append(out, segment{index: n})
			i += end
		default:
			name.WriteByte(c)
		}
	}
	flush()
	return out
}

// compileSchema compiles a values.schema.json for reading its structure (not for
// validating: Validate leaves that to Helm). References that leave the document are
// not followed: each stands for a schema that allows anything.
func compileSchema(raw []byte) (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(openLoader{})
	const url = "file:///values.schema.json"
	if err := c.AddResource(url, doc); err != nil {
		return nil, err
	}
	return c.Compile(url)
}

// openLoader answers every external reference with the schema true.
type openLoader struct{}

func (openLoader) Load(string) (any, error) { return true, nil }

// chartSchema is one compiled schema of a chart tree and where its values sit.
type chartSchema struct {
	at     []segment
	schema *jsonschema.Schema
}

// schemas compiles the values.schema.json of a chart and of each subchart, each at
// the path of its values.
func schemas(ch *chart.Chart, at []segment) ([]chartSchema, error) {
	var out []chartSchema
	if len(ch.Schema) > 0 {
		s, err := compileSchema(ch.Schema)
		if err != nil {
			return nil, fmt.Errorf("chart %s has an invalid values.schema.json: %w", chartName(ch), err)
		}
		out = append(out, chartSchema{at: at, schema: s})
	}
	for _, d := range ch.Dependencies() {
		sub, err := schemas(d, append(append([]segment(nil), at...), segment{name: d.Name(), index: -1}))
		if err != nil {
			return nil, err
		}
		out = append(out, sub...)
	}
	return out, nil
}

// closure is s with every schema it also applies through $ref, allOf, anyOf, oneOf,
// then and else: where the properties of one object may be declared.
func closure(s *jsonschema.Schema) []*jsonschema.Schema {
	var out []*jsonschema.Schema
	seen := map[*jsonschema.Schema]bool{}
	var walk func(*jsonschema.Schema)
	walk = func(s *jsonschema.Schema) {
		if s == nil || seen[s] {
			return
		}
		seen[s] = true
		out = append(out, s)
		walk(s.Ref)
		walk(s.RecursiveRef)
		for _, group := range [][]*jsonschema.Schema{s.AllOf, s.AnyOf, s.OneOf} {
			for _, sub := range group {
				walk(sub)
			}
		}
		walk(s.Then)
		walk(s.Else)
	}
	walk(s)
	return out
}

// allows tells whether a schema's types (none given: any) include typ.
func allows(s *jsonschema.Schema, typ string) bool {
	if s.Types == nil || s.Types.IsEmpty() {
		return true
	}
	for _, t := range s.Types.ToStrings() {
		if t == typ || typ == "number" && t == "integer" {
			return true
		}
	}
	return false
}

// propertySchemas are the schemas a schema gives the property name, and whether it
// declares its properties at all (an object schema with none declared takes any).
func propertySchemas(s *jsonschema.Schema, name string) (out []*jsonschema.Schema, declares bool) {
	for _, m := range closure(s) {
		if m.Bool != nil {
			if *m.Bool {
				continue
			}
			declares = true
		}
		if p, ok := m.Properties[name]; ok {
			out = append(out, p)
		}
		for re, p := range m.PatternProperties {
			if re.MatchString(name) {
				out = append(out, p)
			}
		}
		switch ap := m.AdditionalProperties.(type) {
		case *jsonschema.Schema:
			out = append(out, ap)
			declares = true
		case bool:
			declares = declares || !ap
		}
		if len(m.Properties) > 0 || len(m.PatternProperties) > 0 || !allows(m, "object") {
			declares = true
		}
	}
	return out, declares
}

// itemSchemas are the schemas a schema gives the list element i, and whether it
// declares its elements at all.
func itemSchemas(s *jsonschema.Schema, i int) (out []*jsonschema.Schema, declares bool) {
	for _, m := range closure(s) {
		if m.Bool != nil {
			if *m.Bool {
				continue
			}
			declares = true
		}
		if i < len(m.PrefixItems) {
			out = append(out, m.PrefixItems[i])
		} else if m.Items2020 != nil {
			out = append(out, m.Items2020)
		}
		switch items := m.Items.(type) {
		case *jsonschema.Schema:
			out = append(out, items)
		case []*jsonschema.Schema:
			if i < len(items) {
				out = append(out, items[i])
			} else if ai, ok := m.AdditionalItems.(*jsonschema.Schema); ok {
				out = append(out, ai)
			}
		}
		if len(out) > 0 || !allows(m, "array") {
			declares = true
		}
	}
	return out, declares
}

// schemaKnows tells whether a schema declares the path segs, or leaves it open: a
// property of an object whose properties it does not list, an element of a list
// whose elements it does not describe.
func schemaKnows(s *jsonschema.Schema, segs []segment) bool {
	if len(segs) == 0 {
		return true
	}
	var next []*jsonschema.Schema
	var declares bool
	if segs[0].index >= 0 {
		next, declares = itemSchemas(s, segs[0].index)
	} else {
		next, declares = propertySchemas(s, segs[0].name)
	}
	if !declares {
		return true
	}
	for _, n := range next {
		if schemaKnows(n, segs[1:]) {
			return true
		}
	}
	return false
}

// valuesKnow tells whether the chart's default values hold the path segs, or leave it
// open: anything under an empty mapping or list, or under null, is the chart's to
// take (resources: {}, tolerations: [], nodeSelector: ~).
func valuesKnow(node any, segs []segment) bool {
	if len(segs) == 0 {
		return true
	}
	s := segs[0]
	switch n := node.(type) {
	case nil:
		return true
	case chartutil.Values:
		return valuesKnow(map[string]any(n), segs)
	case map[string]any:
		if len(n) == 0 {
			return true
		}
		v, ok := n[s.name]
		if s.index >= 0 || !ok {
			return false
		}
		return valuesKnow(v, segs[1:])
	case []any:
		if s.index < 0 {
			return false
		}
		if len(n) == 0 {
			return true
		}
		if s.index < len(n) {
			return valuesKnow(n[s.index], segs[1:])
		}
		// An element past the defaults' is shaped like their first.
		return valuesKnow(n[0], segs[1:])
	}
	return false
}

// under returns the rest of segs when they start with at.
func under(segs, at []segment) ([]segment, bool) {
	if len(segs) < len(at) {
		return nil, false
	}
	for i := range at {
		if segs[i] != at[i] {
			return nil, false
		}
	}
	return segs[len(at):], true
}

// UnknownKey is a setting key a chart does not know, and the nearest key it does
// ("" when none is near).
type UnknownKey struct {
	Key        string
	Suggestion string
}

// Unknown returns the keys, in order, that the chart knows of neither in its default
// values (its values.yaml and its subcharts', coalesced as Helm does) nor in its
// values.schema.json and its subcharts': most often a typo, which Helm would take
// without a word and the chart would never read. Each comes with the nearest key the
// chart does know, by edit distance. Keys under an empty mapping or list, or under
// null, in the defaults, and under an object or list whose schema does not declare
// its members, are the chart's to take and count as known. keys must be valid
// (ValidateKey).
func Unknown(ch *chart.Chart, keys []string) ([]UnknownKey, error) {
	defaults, schemas, err := chartShape(ch)
	if err != nil {
		return nil, err
	}
	var out []UnknownKey
	var known []string
	for _, k := range keys {
		if knows(defaults, schemas, segments(k)) {
			continue
		}
		if known == nil {
			known = chartKeys(defaults, schemas)
		}
		out = append(out, UnknownKey{Key: k, Suggestion: nearest(k, known)})
	}
	return out, nil
}

// chartShape is what a chart says of its values: its defaults, coalesced with its
// subcharts' as Helm does, and its compiled schemas.
func chartShape(ch *chart.Chart) (map[string]any, []chartSchema, error) {
	defaults, err := chartutil.CoalesceValues(ch, map[string]any{})
	if err != nil {
		return nil, nil, fmt.Errorf("reading the default values of chart %s: %w", chartName(ch), err)
	}
	schemas, err := schemas(ch, nil)
	if err != nil {
		return nil, nil, err
	}
	return defaults, schemas, nil
}

// knows tells whether the chart's defaults or one of its schemas hold segs. The top
// of the defaults is not open even when empty: a chart that declares no values takes
// none.
func knows(defaults map[string]any, schemas []chartSchema, segs []segment) bool {
	if len(segs) == 0 {
		return true
	}
	if v, ok := defaults[segs[0].name]; ok && segs[0].index < 0 && valuesKnow(v, segs[1:]) {
		return true
	}
	for _, s := range schemas {
		if rest, ok := under(segs, s.at); ok && schemaKnows(s.schema, rest) {
			return true
		}
	}
	return false
}

// maxKeyDepth bounds how deep chartKeys follows a schema, which may refer to itself.
const maxKeyDepth = 12

// chartKeys lists every key the chart knows, at every depth: the paths of its
// defaults (a list by its first element, [0]) and the properties its schemas declare.
func chartKeys(defaults map[string]any, schemas []chartSchema) []string {
	seen := map[string]bool{}
	var out []string
	add := func(k string) {
		if k != "" && !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	var fromValues func(prefix string, node any, depth int)
	fromValues = func(prefix string, node any, depth int) {
		add(prefix)
		if depth > maxKeyDepth {
			return
		}
		switch n := node.(type) {
		case chartutil.Values:
			fromValues(prefix, map[string]any(n), depth)
		case map[string]any:
			for name, v := range n {
				fromValues(join(prefix, name), v, depth+1)
			}
		case []any:
			if len(n) > 0 {
				fromValues(prefix+"[0]", n[0], depth+1)
			}
		}
	}
	fromValues("", defaults, 0)
	var fromSchema func(prefix string, s *jsonschema.Schema, depth int)
	fromSchema = func(prefix string, s *jsonschema.Schema, depth int) {
		add(prefix)
		if depth > maxKeyDepth {
			return
		}
		for _, m := range closure(s) {
			for name, p := range m.Properties {
				fromSchema(join(prefix, name), p, depth+1)
			}
			if items, ok := m.Items.(*jsonschema.Schema); ok {
				fromSchema(prefix+"[0]", items, depth+1)
			}
			if m.Items2020 != nil {
				fromSchema(prefix+"[0]", m.Items2020, depth+1)
			}
		}
	}
	for _, s := range schemas {
		fromSchema(keyOfSegments(s.at), s.schema, len(s.at))
	}
	return out
}

func join(prefix, name string) string {
	if prefix == "" {
		return escapeName(name)
	}
	return prefix + "." + escapeName(name)
}

func keyOfSegments(segs []segment) string {
	k := ""
	for _, s := range segs {
		if s.index >= 0 {
			k += fmt.Sprintf("[%d]", s.index)
			continue
		}
		k = join(k, s.name)
	}
	return k
}

// anyIndex matches the list indexes of a key, which a suggestion compares as [0].
var anyIndex = regexp.MustCompile(`\[[0-9]+\]`)

// nearest is the known key nearest to key by edit distance, ignoring case and which
// list element is meant; "" when the nearest is too far to be a typo of it (more
// than two edits, or a quarter of the key for a long one). Ties go to the key first
// in sort order, so the suggestion does not change between runs.
func nearest(key string, known []string) string {
	norm := strings.ToLower(anyIndex.ReplaceAllString(key, "[0]"))
	limit := max(2, len(norm)/4)
	best, bestDist := "", limit+1
	for _, k := range known {
		d := levenshtein.ComputeDistance(norm, strings.ToLower(k))
		if d < bestDist || d == bestDist && k < best {
			best, bestDist = k, d
		}
	}
	return best
}

// Setting is one setting a chart takes, as `kubectl ext type show --settings` lists
// it.
type Setting struct {
	// Key is the setting key (a.b.c).
	Key string `json:"key"`
	// Type is the schema's type (types joined by |), else the default's JSON type;
	// "" when neither says.
	Type string `json:"type,omitempty"`
	// Default is the chart's default value (values.yaml, else the schema's default).
	Default any `json:"default,omitempty"`
	// Description is the schema's description, else its title.
	Description string `json:"description,omitempty"`
	// Protected marks a key whose name looks like a secret (LooksProtected): its value
	// belongs in the protected settings.
	Protected bool `json:"protected,omitempty"`
}

// Describe lists the settings a chart takes, sorted by key: each leaf of its default
// values (a scalar, a list, an empty mapping) and of its schemas' properties, with
// its type, default and description. Lists are one setting each; their elements are
// set with indexed keys (key[0]).
func Describe(ch *chart.Chart) ([]Setting, error) {
	defaults, schemas, err := chartShape(ch)
	if err != nil {
		return nil, err
	}
	var out []Setting
	var walk func(at []segment, value any, hasValue bool, ss []*jsonschema.Schema, depth int)
	walk = func(at []segment, value any, hasValue bool, ss []*jsonschema.Schema, depth int) {
		for _, s := range schemas {
			if equalSegments(s.at, at) {
				ss = append(ss, s.schema)
			}
		}
		var all []*jsonschema.Schema
		for _, s := range ss {
			all = append(all, closure(s)...)
		}
		names := map[string]bool{}
		if m, ok := asMap(value); ok {
			for n := range m {
				names[n] = true
			}
		}
		if depth < maxKeyDepth {
			for _, s := range all {
				for n := range s.Properties {
					names[n] = true
				}
			}
		}
		if len(names) == 0 || depth >= maxKeyDepth {
			out = append(out, leaf(at, value, hasValue, all))
			return
		}
		for _, n := range sortedKeys(names) {
			if n == "global" && len(at) > 0 {
				// Helm copies the top chart's globals into each subchart's values.
				continue
			}
			m, _ := asMap(value)
			v, has := m[n]
			var next []*jsonschema.Schema
			for _, s := range ss {
				p, _ := propertySchemas(s, n)
				next = append(next, p...)
			}
			walk(append(append([]segment(nil), at...), segment{name: n, index: -1}), v, has, next, depth+1)
		}
	}
	walk(nil, defaults, true, nil, 0)
	return out, nil
}

// leaf is the Setting at path at.
func leaf(at []segment, value any, hasValue bool, schemas []*jsonschema.Schema) Setting {
	s := Setting{Key: keyOfSegments(at), Protected: LooksProtected(keyOfSegments(at))}
	var types []string
	seen := map[string]bool{}
	for _, m := range schemas {
		if m.Types != nil {
			for _, t := range m.Types.ToStrings() {
				if !seen[t] {
					seen[t] = true
					types = append(types, t)
				}
			}
		}
		if s.Description == "" {
			s.Description = strings.TrimSpace(m.Description)
		}
		if s.Description == "" {
			s.Description = strings.TrimSpace(m.Title)
		}
		if !hasValue && s.Default == nil && m.Default != nil {
			s.Default = *m.Default
		}
	}
	if hasValue {
		s.Default = value
	}
	s.Type = strings.Join(types, "|")
	if s.Type == "" && hasValue {
		s.Type = jsonType(value)
	}
	return s
}

// jsonType names the JSON type of a default value as Helm loads values.yaml.
func jsonType(v any) string {
	switch n := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case int, int32, int64, uint, uint32, uint64:
		return "integer"
	case float64:
		if n == float64(int64(n)) {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	}
	if _, ok := asMap(v); ok {
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

func asMap(v any) (map[string]any, bool) {
	switch m := v.(type) {
	case map[string]any:
		return m, true
	case chartutil.Values:
		return m, true
	}
	return nil, false
}

func equalSegments(a, b []segment) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// protectedWords are the words of a key's last name that say its value is a secret.
var protectedWords = map[string]bool{
	"password": true, "passwd": true, "passphrase": true, "secret": true, "token": true, "key": true,
	"apikey": true, "cert": true, "certificate": true, "credential": true, "credentials": true, "pem": true,
	"privatekey": true, "pwd": true,
}

// notSecretWords end a name that only refers to a secret: existingSecret's name,
// tls.certFile's path, auth.tokenTTL, certManager.enabled.
var notSecretWords = map[string]bool{
	"name": true, "names": true, "ref": true, "enabled": true, "create": true, "namespace": true,
	"path": true, "file": true, "ttl": true, "mount": true, "annotations": true, "labels": true,
	"manager": true, "issuer": true, "duration": true, "size": true, "type": true, "id": true,
}

// nameWord splits a camelCase, snake_case or kebab-case name into its words.
var nameWord = regexp.MustCompile(`[A-Z]+[a-z0-9]*|[a-z0-9]+`)

// LooksProtected tells whether a setting key's last name looks like it holds a
// secret (password, token, apiKey, tls.key, clientSecret, caCert...), unless it only
// refers to one (existingSecret, tls.certFile, auth.tokenTTL). It is a hint for
// the user, who decides what goes to the protected settings.
func LooksProtected(key string) bool {
	segs := segments(key)
	for len(segs) > 0 && segs[len(segs)-1].index >= 0 {
		segs = segs[:len(segs)-1]
	}
	if len(segs) == 0 {
		return false
	}
	words := nameWord.FindAllString(segs[len(segs)-1].name, -1)
	if len(words) == 0 || notSecretWords[strings.ToLower(words[len(words)-1])] || strings.EqualFold(words[0], "existing") {
		return false
	}
	for _, w := range words {
		if protectedWords[strings.ToLower(w)] {
			return true
		}
	}
	return false
}

// secretValues are the protected settings' values as Values types them ("2" the
// integer 2), so that they can be found among the values the schema judged.
func secretValues(secrets []string) []any {
	out := make([]any, 0, len(secrets))
	for _, s := range secrets {
		if v, err := Values(map[string]string{"x": s}); err == nil {
			out = append(out, v["x"])
		}
	}
	return out
}

// holdsSecret tells whether node is, or holds, one of the secrets.
func holdsSecret(node any, secrets []any) bool {
	switch n := node.(type) {
	case map[string]any:
		for _, v := range n {
			if holdsSecret(v, secrets) {
				return true
			}
		}
		return false
	case []any:
		for _, v := range n {
			if holdsSecret(v, secrets) {
				return true
			}
		}
		return false
	case nil:
		return false
	}
	for _, s := range secrets {
		if reflect.DeepEqual(node, s) || fmt.Sprint(node) == fmt.Sprint(s) {
			return true
		}
	}
	return false
}

var (
	// quotedValue is the validator's complaint that starts with the value, quoted:
	// "'v' does not match pattern 'p'", "'v' is not valid 'email'".
	quotedValue = regexp.MustCompile(`^'(?:[^'\\]|\\.)*' (.*)$`)
	// boundGot is a bound's complaint: "maximum: got 123,456, want 9,999".
	boundGot = regexp.MustCompile(`^([A-Za-z]+): got .*, want (.*)$`)
	// typeGot names types only: "got string, want integer".
	typeGot = regexp.MustCompile(`^got [a-z]+, want [a-z, ]+$`)
	// boundWords say what a bound's complaint means, without the value.
	boundWords = map[string]string{
		"maximum": "is above", "exclusiveMaximum": "is not below", "minimum": "is below",
		"exclusiveMinimum": "is not above", "maxLength": "has more characters than", "minLength": "has fewer characters than",
		"multipleOf": "is not a multiple of", "maxItems": "has more items than", "minItems": "has fewer items than",
	}
)

// protectedComplaint rewrites a complaint about a protected value so that only the
// schema's side of it is left: what the value failed, never the value. A complaint of
// a shape it does not know is left out whole.
func protectedComplaint(c string) string {
	if m := quotedValue.FindStringSubmatch(c); m != nil {
		return "the protected value " + m[1]
	}
	if m := boundGot.FindStringSubmatch(c); m != nil {
		if words, ok := boundWords[m[1]]; ok {
			return m[1] + ": the protected value " + words + " " + m[2]
		}
		return m[1] + ": the protected value is refused, want " + m[2]
	}
	if typeGot.MatchString(c) || strings.HasPrefix(c, "value must be ") {
		return c
	}
	return "the schema refuses the protected value (its message is left out, as it may quote the value)"
}
