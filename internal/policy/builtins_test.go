package policy

import "testing"

func TestSemverSatisfiesReadsConstraintsAsHelmDoes(t *testing.T) {
	tests := []struct {
		name                string
		version, constraint string
		want                bool
	}{
		{name: "a release inside a range satisfies it", version: "1.36.2", constraint: ">=1.30.0-0", want: true},
		{name: "a prerelease satisfies a range ending in -0", version: "1.37.0-alpha.1", constraint: ">=1.30.0-0", want: true},
		{name: "a prerelease does not satisfy a range without prerelease", version: "1.37.0-alpha.1", constraint: ">=1.30.0", want: false},
		{name: "a tilde range keeps the minor", version: "1.4.9", constraint: "~1.4", want: true},
		{name: "a tilde range excludes the next minor", version: "1.5.0", constraint: "~1.4", want: false},
		{name: "an upper bound excludes the cluster", version: "1.36.0", constraint: ">=1.28.0-0 <1.36.0-0", want: false},
		{name: "an or of ranges is read", version: "2.1.0", constraint: "~1.4 || ^2.0", want: true},
		{name: "a constraint that does not parse is not satisfied", version: "1.4.0", constraint: ">>1", want: false},
		{name: "a version that does not parse satisfies nothing", version: "one", constraint: "*", want: false},
		{name: "an empty constraint is not satisfied", version: "1.4.0", constraint: "", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 2 { // the second time from the cache
				if got := SemverSatisfies(tt.version, tt.constraint); got != tt.want {
					t.Fatalf("SemverSatisfies(%q, %q) = %v, want %v", tt.version, tt.constraint, got, tt.want)
				}
			}
		})
	}
}

func TestCapabilitiesLeaveOutTheNetwork(t *testing.T) {
	caps := Capabilities()
	found := map[string]bool{}
	for _, b := range caps.Builtins {
		found[b.Name] = true
	}
	for _, name := range []string{"http.send", "net.lookup_ip_addr", "opa.runtime"} {
		if found[name] {
			t.Errorf("capabilities keep %s", name)
		}
	}
	for _, name := range []string{SemverSatisfiesName, "semver.compare", "sprintf"} {
		if !found[name] {
			t.Errorf("capabilities lack %s", name)
		}
	}
	if caps.AllowNet == nil || len(caps.AllowNet) != 0 {
		t.Errorf("AllowNet = %#v, want an empty list", caps.AllowNet)
	}
}
