package settings

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// ParsePairs reads inline settings as az does: each argument is one key=value
// pair, split at the first '=', so the value keeps any further '=' and any spaces
// (`--config message="hello world"` reaches us as message=hello world). Several
// pairs after one flag arrive as several arguments. A key given twice keeps its
// last value. With no arguments it returns a nil map, which ForCreate and ForUpdate
// read as "not given"; an argument that is empty or only whitespace gives no pair.
//
// Errors name the argument by position and the key, never a value.
func ParsePairs(args []string) (map[string]string, error) {
	if len(args) == 0 {
		return nil, nil
	}
	out := make(map[string]string)
	for i, arg := range args {
		if err := parseArg(arg, out); err != nil {
			return nil, fmt.Errorf("configuration setting argument %d: %w", i+1, err)
		}
	}
	return out, nil
}

// parseArg reads the one pair of an argument into out.
func parseArg(arg string, out map[string]string) error {
	if strings.TrimSpace(arg) == "" {
		return nil
	}
	key, value, ok := strings.Cut(arg, "=")
	if !ok {
		// Never repeat the text: it may be a value given without its key.
		return fmt.Errorf("expected key=value, found text without '='")
	}
	if err := ValidateKey(key); err != nil {
		return err
	}
	if !utf8.ValidString(value) {
		return fmt.Errorf("value of %q is not valid UTF-8", key)
	}
	out[key] = value
	return nil
}
