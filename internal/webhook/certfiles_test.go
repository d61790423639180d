package webhook

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWriteCertPair(t *testing.T) {
	dir := t.TempDir()
	// A pair left as plain files (by an older version, or by hand) is replaced too.
	if err := os.WriteFile(filepath.Join(dir, "tls.crt"), []byte("plain crt"), 0o644); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name        string
		crt, key    string
		wantChanged bool
	}{
		{"replaces plain files", "crt-1", "key-1", true},
		{"the same pair again changes nothing", "crt-1", "key-1", false},
		{"a new pair switches both files", "crt-2", "key-2", true},
		{"a new key alone is written", "crt-2", "key-3", true},
	}
	for _, s := range steps {
		changed, err := writeCertPair(dir, []byte(s.crt), []byte(s.key))
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if changed != s.wantChanged {
			t.Errorf("%s: changed = %v, want %v", s.name, changed, s.wantChanged)
		}
		for name, want := range map[string]string{"tls.crt": s.crt, "tls.key": s.key} {
			got, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil || string(got) != want {
				t.Errorf("%s: %s = %q (%v), want %q", s.name, name, got, err, want)
			}
		}
		// Only the current pair is kept: the links, the data link and one directory.
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 4 {
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			t.Errorf("%s: the cert dir holds %v, want tls.crt, tls.key, ..data and one pair", s.name, names)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, "tls.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("tls.key mode = %v (%v), want 0600", fi.Mode().Perm(), err)
	}
}
