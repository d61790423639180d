package chartsourcetest

// PodinfoSchema is a values.schema.json for the podinfo test chart: replicaCount an
// integer of at least 1, message and image strings, fail a boolean, and auth.password
// (not in the default values) a string of at least 8 characters. Each has a
// description, which `kubectl ext type show --settings` lists.
const PodinfoSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "properties": {
    "replicaCount": {"type": "integer", "minimum": 1, "description": "How many pods run."},
    "message": {"type": "string", "description": "What the pods say."},
    "image": {"type": "string", "description": "The pods' image."},
    "fail": {"type": "boolean", "description": "Make rendering fail (for tests)."},
    "auth": {
      "type": "object",
      "properties": {
        "password": {"type": "string", "minLength": 8, "description": "The admin password."}
      }
    }
  }
}`

// WithSchema returns specs with PodinfoSchema as each chart's values.schema.json.
func WithSchema(specs []Spec) []Spec {
	out := make([]Spec, len(specs))
	for i, s := range specs {
		s.Schema = PodinfoSchema
		out[i] = s
	}
	return out
}

// schemaBytes is a Spec's schema as the chart holds it: nil for none.
func schemaBytes(schema string) []byte {
	if schema == "" {
		return nil
	}
	return []byte(schema)
}
