package testenv

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestScratchChartCacheKeepsGoBuildCache: the scratch XDG_CACHE_HOME must not move Go's
// build cache, or every binary the tests build is compiled from nothing.
func TestScratchChartCacheKeepsGoBuildCache(t *testing.T) {
	for _, k := range []string{"GOCACHE", "XDG_CACHE_HOME", CacheDirEnv} {
		t.Setenv(k, os.Getenv(k)) // restored when the test ends
	}
	os.Unsetenv("GOCACHE")
	before, err := exec.Command("go", "env", "GOCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	cleanup, err := ScratchChartCache()
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	after, err := exec.Command("go", "env", "GOCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(after)) != strings.TrimSpace(string(before)) {
		t.Errorf("go env GOCACHE after ScratchChartCache = %q, want %q (the build cache moved with XDG_CACHE_HOME)", after, before)
	}
	if !strings.HasPrefix(os.Getenv("XDG_CACHE_HOME"), os.TempDir()) {
		t.Errorf("XDG_CACHE_HOME = %q, want a scratch directory", os.Getenv("XDG_CACHE_HOME"))
	}
}
