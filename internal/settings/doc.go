// Package settings reads an extension's configuration settings the way
// `az k8s-extension` takes them, and turns them into Helm values.
//
// A setting is a key and a string value. The key is a Helm --set path, the value
// is a plain string; Values gives them Helm --set semantics. Both the plain
// configurationSettings and the configurationProtectedSettings go through the
// same functions.
//
// # Keys
//
// A key is one or more names separated by dots, each name optionally followed
// by list indexes: replicaCount, image.tag, ingress.hosts[0].name, matrix[1][2].
// A name holds letters, digits, '_', '-' and '/'; a dot that belongs to a name
// is escaped with a backslash, as with helm --set:
// podAnnotations.prometheus\.io/scrape. An index is a decimal number no greater
// than strvals.MaxIndex, and a key nests at most strvals.MaxNestedNameLevel
// levels (dots and indexes together).
//
// # Inline pairs (ParsePairs)
//
// Each argument is one key=value pair, as az k8s-extension reads them: the key
// runs to the first '=' and the value is everything after it, '=' and spaces
// included, so `--configuration-settings message="hello world"` gives the value
// hello world. Several pairs after one flag (`--config a=1 b=2`) arrive as several
// arguments; the CLI folds them back into the flag. Quotes are the shell's
// business: a value keeps any quote characters the shell passes through. A key
// given twice keeps its last value.
//
// # Files (ParseFile)
//
// A settings file holds one JSON object (files named *.json) or one YAML
// mapping (any other name; YAML also reads most JSON). Nested mappings become
// dotted keys, lists become [i] indexes, and scalars become strings: integers
// in decimal, other numbers in plain decimal notation without an exponent,
// booleans as true/false, null as "". Dots inside a mapping key are escaped in
// the resulting key (prometheus.io/scrape becomes prometheus\.io/scrape). Empty
// mappings and lists give no settings, since --set cannot express them. YAML
// anchors, aliases and merge keys (<<) are followed; a key given twice keeps
// its last value.
//
// # Create and update
//
// On create, settings come from inline pairs or from a file, never both:
// ForCreate returns ErrInlineAndFile when both are given. On update both may be
// given: ForUpdate applies the file first and the inline pairs override it. The
// caller then merges the result onto the extension's current settings with
// Merge (plain settings), or uses it as the whole new set (protected settings).
//
// # Secrets
//
// No error of this package contains a setting's value: errors name keys,
// arguments by position and file lines, so protected settings can be parsed
// with the same code and the errors shown as they are. The one exception is
// Validate, whose complaints are the schema validator's and may quote a value
// the schema refuses: it redacts the protected values it is given.
//
// # Charts (schema.go)
//
// Before anything is installed, settings are checked against the chart they are
// for: Validate judges their values with the chart's values.schema.json through
// Helm's own validator, Unknown finds the keys the chart knows of neither in
// its values.yaml nor in its schema (with the nearest key it does know), and
// Describe lists the settings a chart takes.
package settings
