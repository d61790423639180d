package settings

import (
	"fmt"
	"sort"
	"strings"

	"helm.sh/helm/v3/pkg/strvals"
)

// maxListSlots bounds the list elements the indexes of all settings may ask
// Helm to allocate (a[65536] allocates 65537).
const maxListSlots = 1 << 20

// Values turns settings into Helm values with the semantics of helm --set:
// each key is a --set path and each value is typed the way --set types it
// ("2" becomes the integer 2, "true" and "false" booleans, "null" removes the
// key from the chart's defaults, anything else stays a string). A value is
// always one scalar: commas, backslashes and a leading '{' are escaped, so a
// value never splits into several settings or turns into a list; a list is
// set with indexed keys (k[0]=a, k[1]=b).
//
// Settings that both set a key and nest under it (a=1 and a.b=2), or use one
// key as both a list and a mapping, are an error naming the keys. Errors never
// hold a value.
func Values(settings map[string]string) (map[string]interface{}, error) {
	keys := make([]string, 0, len(settings))
	for k := range settings {
		if err := ValidateKey(k); err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	slots := 0
	for _, k := range keys {
		if slots += indexSum(k); slots > maxListSlots {
			return nil, fmt.Errorf("setting %q: the settings' list indexes add up to more than %d list elements", k, maxListSlots)
		}
	}
	for _, k := range keys {
		for _, p := range parents(k) {
			if _, ok := settings[p]; ok {
				return nil, fmt.Errorf("settings %q and %q conflict: %q cannot hold both a value and nested settings", p, k, p)
			}
		}
	}
	vals := make(map[string]interface{})
	for _, k := range keys {
		// The trailing comma ends the value explicitly: strvals drops an
		// empty value that ends the input inside a list element (a[0].b=).
		if err := strvals.ParseInto(k+"="+escapeValue(settings[k])+",", vals); err != nil {
			// strvals fails here only on a key used as both a list and a
			// mapping; its message is not shown since it is not ours to vet.
			return nil, fmt.Errorf("setting %q conflicts with another setting: a key cannot be both a list and a mapping", k)
		}
	}
	return vals, nil
}

var valueEscaper = strings.NewReplacer(`\`, `\\`, `,`, `\,`)

// escapeValue makes v one scalar value for strvals.
func escapeValue(v string) string {
	v = valueEscaper.Replace(v)
	if strings.HasPrefix(v, "{") {
		v = `\` + v
	}
	return v
}
