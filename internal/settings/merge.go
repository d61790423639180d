package settings

import "errors"

// ErrInlineAndFile is returned by ForCreate when settings are given both inline
// and from a file.
var ErrInlineAndFile = errors.New("configuration settings can be given inline or from a file on create, not both")

// Merge returns a new map with the settings of base and override; override
// wins where both have a key. Either may be nil.
func Merge(base, override map[string]string) map[string]string {
	out := make(map[string]string, len(base)+len(override))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range override {
		out[k] = v
	}
	return out
}

// ForCreate returns the settings of a create from the inline pairs or the
// file's settings. A nil map means that source was not given (ParsePairs
// returns nil for no arguments); giving both is ErrInlineAndFile. The result is
// never nil.
func ForCreate(inline, file map[string]string) (map[string]string, error) {
	if inline != nil && file != nil {
		return nil, ErrInlineAndFile
	}
	if file != nil {
		return Merge(nil, file), nil
	}
	return Merge(nil, inline), nil
}

// ForUpdate returns the settings an update gives: the file's settings first,
// then the inline pairs, which win where both have a key. The caller merges
// the result onto the extension's current configurationSettings with Merge, or
// uses it as the whole new set of protected settings. It returns nil when
// neither source was given.
func ForUpdate(inline, file map[string]string) map[string]string {
	if inline == nil && file == nil {
		return nil
	}
	return Merge(file, inline)
}
