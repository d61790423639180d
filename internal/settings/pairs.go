package settings

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// ParsePairs reads inline settings: each argument holds one or more key=value
// pairs separated by unquoted whitespace (see the package documentation for
// quoting). A key given twice keeps its last value. With no arguments it
// returns a nil map, which ForCreate and ForUpdate read as "not given"; an
// argument that is empty or only whitespace gives no pairs.
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

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// parseArg reads the pairs of one argument into out.
func parseArg(arg string, out map[string]string) error {
	prevKey := "" // the key of the previous pair in this argument
	i := 0
	for {
		for i < len(arg) && isSpace(arg[i]) {
			i++
		}
		if i == len(arg) {
			return nil
		}

		// The key runs to the first '='; a piece without one is an error that
		// must not repeat the piece, since it may be part of a value.
		start := i
		for i < len(arg) && arg[i] != '=' && !isSpace(arg[i]) {
			i++
		}
		if i == len(arg) || arg[i] != '=' {
			if prevKey == "" {
				return fmt.Errorf("expected key=value, found text without '='")
			}
			return fmt.Errorf("expected key=value after the value of %q, found text without '='; "+
				"quote a value that contains spaces: %s=\"a b\"", prevKey, prevKey)
		}
		key := arg[start:i]
		if err := ValidateKey(key); err != nil {
			return err
		}
		i++ // '='

		var value string
		if i < len(arg) && (arg[i] == '"' || arg[i] == '\'') {
			v, n, err := quoted(arg[i:])
			if err != nil {
				return fmt.Errorf("value of %q: %s", key, err)
			}
			value = v
			i += n
			if i < len(arg) && !isSpace(arg[i]) {
				return fmt.Errorf("value of %q: text follows the closing quote; "+
					"separate pairs with a space or quote the whole value", key)
			}
		} else {
			vstart := i
			for i < len(arg) && !isSpace(arg[i]) {
				i++
			}
			value = arg[vstart:i]
		}
		if !utf8.ValidString(value) {
			return fmt.Errorf("value of %q is not valid UTF-8", key)
		}
		out[key] = value
		prevKey = key
	}
}

// quoted reads a quoted value at the start of s and returns it unquoted and the
// number of bytes read, closing quote included.
func quoted(s string) (string, int, error) {
	q := s[0]
	if q == '\'' {
		end := strings.IndexByte(s[1:], '\'')
		if end < 0 {
			return "", 0, fmt.Errorf("the quote is not closed")
		}
		return s[1 : 1+end], end + 2, nil
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			return b.String(), i + 1, nil
		case c == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\'):
			b.WriteByte(s[i+1])
			i++
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, fmt.Errorf("the quote is not closed")
}
