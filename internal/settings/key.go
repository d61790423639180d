package settings

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"helm.sh/helm/v3/pkg/strvals"
)

// ValidateKey reports whether key is a Helm --set path this package accepts
// (see the package documentation). The error names the key and why it is
// refused.
func ValidateKey(key string) error {
	if err := checkKey(key); err != nil {
		return fmt.Errorf("invalid setting key %q: %w", key, err)
	}
	return nil
}

// checkKey returns why key is not a valid --set path, as a bare reason.
func checkKey(key string) error {
	if key == "" {
		return fmt.Errorf("the key is empty")
	}
	levels := 0  // dots and indexes
	nameLen := 0 // characters of the current name
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case isNameChar(c):
			nameLen++
		case c == '\\':
			if i+1 >= len(key) || key[i+1] != '.' {
				return fmt.Errorf(`a backslash may only escape a dot (\.)`)
			}
			i++
			nameLen++
		case c == '.':
			if nameLen == 0 {
				return fmt.Errorf("a name before a dot is empty")
			}
			if i == len(key)-1 {
				return fmt.Errorf("the key ends with a dot")
			}
			levels++
			if levels > strvals.MaxNestedNameLevel {
				return fmt.Errorf("the key nests deeper than %d levels", strvals.MaxNestedNameLevel)
			}
			nameLen = 0
			// After a dot comes a name, which must not start with an index.
			if key[i+1] == '[' {
				return fmt.Errorf("a name before an index is empty")
			}
		case c == '[':
			if nameLen == 0 {
				return fmt.Errorf("a name before an index is empty")
			}
			end := strings.IndexByte(key[i:], ']')
			if end < 0 {
				return fmt.Errorf("an index has no closing ]")
			}
			digits := key[i+1 : i+end]
			if digits == "" || strings.Trim(digits, "0123456789") != "" {
				return fmt.Errorf("an index is not a non-negative decimal number")
			}
			n, err := strconv.Atoi(digits)
			if err != nil || n > strvals.MaxIndex {
				return fmt.Errorf("an index is greater than %d", strvals.MaxIndex)
			}
			i += end
			levels++
			if levels > strvals.MaxNestedNameLevel {
				return fmt.Errorf("the key nests deeper than %d levels", strvals.MaxNestedNameLevel)
			}
			// An index is followed by the end, a dot or another index.
			if i+1 < len(key) && key[i+1] != '.' && key[i+1] != '[' {
				return fmt.Errorf("an index must be followed by a dot, another index or the end of the key")
			}
		default:
			r, _ := utf8.DecodeRuneInString(key[i:])
			return fmt.Errorf("it contains %q; a key holds letters, digits, '_', '-', '/', dots, escaped dots (\\.) and [n] indexes", r)
		}
	}
	return nil
}

func isNameChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '_' || c == '-' || c == '/'
}

// escapeName escapes the dots of one mapping key so that it stays one name of a
// --set path.
func escapeName(name string) string {
	return strings.ReplaceAll(name, ".", `\.`)
}

// indexSum returns the sum of index+1 over the indexes of a valid key: the
// list slots Helm allocates for it at most.
func indexSum(key string) int {
	sum := 0
	for i := 0; i < len(key); i++ {
		switch key[i] {
		case '\\':
			i++
		case '[':
			end := strings.IndexByte(key[i:], ']')
			n, _ := strconv.Atoi(key[i+1 : i+end])
			sum += n + 1
			i += end
		}
	}
	return sum
}

// parents returns the keys that hold key: for a.b[0].c they are a, a.b and a.b[0].
// key must be valid.
func parents(key string) []string {
	var out []string
	for i := 0; i < len(key); i++ {
		switch key[i] {
		case '\\':
			i++
		case '.', '[':
			out = append(out, key[:i])
		}
	}
	return out
}
