package krew

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"cmp"
	"compress/gzip"
	"crypto/sha256"
	"debug/buildinfo"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The release the test builds. The version has a prerelease and build metadata, to show
// both survive the script, the file names and the manifest.
const (
	testVersion = "v0.0.0-krewtest.1+build.7"
	testCommit  = "cafe123"
	homepage    = "https://github.com/kubeext/kubectl-ext"
	releaseURI  = homepage + "/releases/download/%[1]s/kubectl-ext_%[1]s_%[2]s_%[3]s.tar.gz"
)

// distRun is a directory hack/dist.sh writes into, and what its last run said.
type distRun struct {
	dir      string // DIST_DIR
	manifest string // KREW_OUT
	output   string
	took     time.Duration
}

// newDistRun makes a fresh directory for hack/dist.sh that outlives the test (the runs
// are shared between tests and removed by TestMain).
func newDistRun() (*distRun, error) {
	dir, err := os.MkdirTemp(scratch, "dist-")
	if err != nil {
		return nil, err
	}
	return &distRun{dir: filepath.Join(dir, "dist"), manifest: filepath.Join(dir, "out", "krew.yaml")}, nil
}

// run runs hack/dist.sh into r's directory with env added to the test's environment.
func (r *distRun) run(env ...string) error {
	cmd := exec.Command("bash", filepath.Join(repoRoot, "hack", "dist.sh"))
	cmd.Env = append(os.Environ(), "DIST_DIR="+r.dir, "KREW_OUT="+r.manifest, "PLATFORMS=", "SOURCE_DATE_EPOCH=", "RENDER_ONLY=")
	cmd.Env = append(cmd.Env, env...)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	r.took, r.output = time.Since(start), string(out)
	if err != nil {
		return fmt.Errorf("hack/dist.sh: %w\n%s", err, out)
	}
	return nil
}

// runDist runs hack/dist.sh once into a fresh directory.
func runDist(env ...string) (*distRun, error) {
	r, err := newDistRun()
	if err != nil {
		return nil, err
	}
	return r, r.run(env...)
}

// hostPlatform is the one release platform the tests build: the host's, so that its
// binary can be run, or linux/amd64 on a host kubectl-ext is not released for.
func hostPlatform() OSArch {
	host := OSArch{runtime.GOOS, runtime.GOARCH}
	if slices.Contains(ReleasePlatforms(), host) {
		return host
	}
	return OSArch{"linux", "amd64"}
}

func archiveName(version string, env OSArch) string {
	return fmt.Sprintf("kubectl-ext_%s_%s_%s.tar.gz", version, env.OS, env.Arch)
}

// standInSum is the checksum the test's manifest carries for a platform it did not build.
func standInSum(env OSArch) string { return sum("not built by the test: " + env.String()) }

var (
	repoRoot, _ = filepath.Abs(filepath.Join("..", ".."))
	scratch     string

	// hostDist builds the host platform's archive once, for the tests that look at a
	// release, and renders the manifest through hack/dist.sh from its checksum and a
	// stand-in checksum for each of the other five platforms. Cross-compiling all six
	// from a cold build cache took 29 minutes on a 2-core machine, longer than
	// `make test`'s timeout; `make dist` builds them, and TestDistArchives checks its
	// dist/ when there is one.
	hostDist = sync.OnceValues(func() (*distRun, error) {
		host := hostPlatform()
		r, err := runDist("VERSION="+testVersion, "COMMIT="+testCommit, "PLATFORMS="+host.String())
		if err != nil {
			return nil, err
		}
		built := r.took
		sums, err := os.OpenFile(filepath.Join(r.dir, "checksums.txt"), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			return nil, err
		}
		for _, env := range ReleasePlatforms() {
			if env != host {
				fmt.Fprintf(sums, "%s  %s\n", standInSum(env), archiveName(testVersion, env))
			}
		}
		if err := sums.Close(); err != nil {
			return nil, err
		}
		if err := r.run("VERSION="+testVersion, "RENDER_ONLY=true"); err != nil {
			return nil, err
		}
		r.took += built
		return r, nil
	})
)

func TestMain(m *testing.M) {
	var err error
	if scratch, err = os.MkdirTemp("", "krew-test-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(scratch)
	os.Exit(code)
}

func release(t *testing.T) *distRun {
	t.Helper()
	if testing.Short() {
		// Only on request: `make test` and CI never pass -short, so these tests always
		// run there. The unit tier (-short) must finish in a minute.
		t.Skip("-short: this test builds the release archive of the host platform (seconds on a warm build cache, minutes on a cold one); `make test` runs it")
	}
	r, err := hostDist()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestDistManifest validates the manifest hack/dist.sh renders, and the archive of the
// host platform it names, by krew's rules. The other five platforms' entries are checked
// for their selector, uri and checksum line; their archives are make dist's job.
func TestDistManifest(t *testing.T) {
	r := release(t)
	host := hostPlatform()
	t.Logf("validated the %s archive hack/dist.sh built here in %s; the other five platforms carry stand-in checksums (make dist builds them, TestDistArchives checks dist/)",
		host, r.took.Round(time.Second))

	p := readManifest(t, r.manifest)
	if p.Spec.Version != testVersion {
		t.Errorf("spec.version = %q, want %q", p.Spec.Version, testVersion)
	}
	if p.Spec.Homepage != homepage {
		t.Errorf("spec.homepage = %q, want %q", p.Spec.Homepage, homepage)
	}
	if !strings.Contains(p.Spec.Caveats, "kubectl ext init") {
		t.Errorf("spec.caveats does not mention kubectl ext init:\n%s", p.Spec.Caveats)
	}
	sums := readChecksums(t, filepath.Join(r.dir, "checksums.txt"))
	for _, env := range ReleasePlatforms() {
		t.Run(env.OS+"_"+env.Arch, func(t *testing.T) {
			pl := platformFor(t, p, env)
			name := path.Base(pl.URI)
			if sums[name] != pl.Sha256 {
				t.Errorf("checksums.txt has %s for %s, the manifest %s", sums[name], name, pl.Sha256)
			}
			if env != host {
				if pl.Sha256 != standInSum(env) {
					t.Errorf("sha256 = %s, want the stand-in %s the test wrote into checksums.txt", pl.Sha256, standInSum(env))
				}
				return
			}
			archive, err := os.ReadFile(filepath.Join(r.dir, name))
			if err != nil {
				t.Fatal(err)
			}
			if err := VerifyArchive(pl, env, archive); err != nil {
				t.Fatal(err)
			}
			checkReleaseArchive(t, env, pl, archive, testVersion, testCommit)
		})
	}
}

// TestDistArchives validates the dist/ and krew.yaml a `make dist` left in the
// repository, all six archives of them, when there is a dist/ whose checksums are the
// manifest's. A fresh clone has none: then the test says so and checks nothing more
// than TestDistManifest did.
func TestDistArchives(t *testing.T) {
	dir := filepath.Join(repoRoot, "dist")
	sums, why := usableDist(dir, filepath.Join(repoRoot, "krew.yaml"))
	if why != "" {
		t.Logf("not checking dist/: %s; TestDistManifest checked the %s archive built here", why, hostPlatform())
		return
	}
	t.Logf("checking the six archives of dist/ (from make dist) against krew.yaml")
	p := readManifest(t, filepath.Join(repoRoot, "krew.yaml"))
	for _, env := range ReleasePlatforms() {
		t.Run(env.OS+"_"+env.Arch, func(t *testing.T) {
			pl := platformFor(t, p, env)
			name := path.Base(pl.URI)
			archive, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			if err := VerifyArchive(pl, env, archive); err != nil {
				t.Fatal(err)
			}
			if sums[name] != pl.Sha256 {
				t.Errorf("dist/checksums.txt has %s for %s, krew.yaml %s", sums[name], name, pl.Sha256)
			}
			// The commit make dist stamped is not known here; the version is the manifest's.
			checkReleaseArchive(t, env, pl, archive, p.Spec.Version, "")
		})
	}
}

// usableDist reads dir/checksums.txt when it lists an archive of the manifest's version
// for each release platform with the manifest's checksum, and otherwise says why not: a
// dist/ from another build (or a krew.yaml checked out since) is not this manifest's.
func usableDist(dir, manifest string) (map[string]string, string) {
	b, err := os.ReadFile(filepath.Join(dir, "checksums.txt"))
	if err != nil {
		return nil, "there is no dist/checksums.txt (run make dist to build all six platforms)"
	}
	sums, err := parseChecksums(b)
	if err != nil {
		return nil, "dist/checksums.txt: " + err.Error()
	}
	m, err := os.ReadFile(manifest)
	if err != nil {
		return nil, err.Error()
	}
	p, err := Decode(m)
	if err != nil {
		return nil, err.Error()
	}
	for _, env := range ReleasePlatforms() {
		name := archiveName(p.Spec.Version, env)
		i := slices.IndexFunc(p.Spec.Platforms, func(pl Platform) bool { return path.Base(pl.URI) == name })
		if i < 0 || sums[name] == "" || sums[name] != p.Spec.Platforms[i].Sha256 {
			return nil, fmt.Sprintf("dist/checksums.txt and krew.yaml disagree on %s (another build's dist/: run make dist again)", name)
		}
	}
	return sums, ""
}

// readManifest decodes a manifest and validates its structure and platforms.
func readManifest(t *testing.T, file string) Plugin {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if err := ValidatePlugin("ext", p); err != nil {
		t.Fatal(err)
	}
	if _, err := ValidateSelectors(p.Spec.Platforms, ReleasePlatforms()); err != nil {
		t.Fatal(err)
	}
	if len(p.Spec.Platforms) != len(ReleasePlatforms()) {
		t.Errorf("%d platforms, want one for each of %v", len(p.Spec.Platforms), ReleasePlatforms())
	}
	return p
}

// platformFor returns the platform serving env, which must be selected by matchLabels
// alone (stricter than krew: exactly one platform per release target) and served from
// the release's uri.
func platformFor(t *testing.T, p Plugin, env OSArch) Platform {
	t.Helper()
	serving, err := ValidateSelectors(p.Spec.Platforms, []OSArch{env})
	if err != nil {
		t.Fatal(err)
	}
	pl := p.Spec.Platforms[serving[env]]
	if want := map[string]string{"os": env.OS, "arch": env.Arch}; !maps.Equal(pl.Selector.MatchLabels, want) || len(pl.Selector.MatchExpressions) > 0 {
		t.Errorf("selector = %v, want matchLabels %v only", pl.Selector, want)
	}
	if want := fmt.Sprintf(releaseURI, p.Spec.Version, env.OS, env.Arch); pl.URI != want {
		t.Errorf("uri = %s, want %s", pl.URI, want)
	}
	return pl
}

// checkReleaseArchive checks what krew does not: the archive is reproducible (names in
// byte order, one mtime, owner and group 0), it carries README.md and, off windows, the
// completion helper, and the binary was built for env with -trimpath, without cgo,
// stripped, and with version and commit (unless "") stamped in.
func checkReleaseArchive(t *testing.T, env OSArch, pl Platform, archive []byte, version, commit string) {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(archive))
	if err != nil {
		t.Fatal(err)
	}
	if !gz.ModTime.IsZero() || gz.Name != "" {
		t.Errorf("gzip header records name %q and time %v, want neither (gzip -n)", gz.Name, gz.ModTime)
	}
	tr := tar.NewReader(gz)
	var names []string
	var mtime time.Time
	files := map[string][]byte{}
	for {
		hdr, err := tr.Next()
		if err != nil {
			break
		}
		names = append(names, hdr.Name)
		if hdr.Uid != 0 || hdr.Gid != 0 || hdr.Uname != "" && hdr.Uname != "root" {
			t.Errorf("%s: owner %d:%d (%s), want 0:0", hdr.Name, hdr.Uid, hdr.Gid, hdr.Uname)
		}
		if mtime.IsZero() {
			mtime = hdr.ModTime
		} else if !hdr.ModTime.Equal(mtime) {
			t.Errorf("%s: mtime %v, want %v like the first entry", hdr.Name, hdr.ModTime, mtime)
		}
		b := new(bytes.Buffer)
		if _, err := b.ReadFrom(tr); err != nil {
			t.Fatal(err)
		}
		files[hdr.Name] = b.Bytes()
	}
	want := []string{"LICENSE", "README.md", pl.Bin}
	if env.OS != "windows" {
		want = append(want, "kubectl_complete-ext")
	}
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Errorf("archive entries = %v, want %v in this order", names, want)
	}

	bi, err := buildinfo.Read(bytes.NewReader(files[pl.Bin]))
	if err != nil {
		t.Fatalf("reading the build info of %s: %v", pl.Bin, err)
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	for k, v := range map[string]string{"GOOS": env.OS, "GOARCH": env.Arch, "CGO_ENABLED": "0", "-trimpath": "true"} {
		if settings[k] != v {
			t.Errorf("binary built with %s=%q, want %q", k, settings[k], v)
		}
	}
	// -trimpath keeps -ldflags out of the build info: look for what they did instead.
	for _, stamp := range []string{version, commit} {
		if stamp != "" && !bytes.Contains(files[pl.Bin], []byte(stamp)) {
			t.Errorf("%s does not contain %q: not built with -X ...internal/version", pl.Bin, stamp)
		}
	}
	if env.OS == "linux" {
		f, err := elf.NewFile(bytes.NewReader(files[pl.Bin]))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{".symtab", ".debug_info"} {
			if f.Section(s) != nil {
				t.Errorf("%s has a %s section: not built with -ldflags \"-s -w\"", pl.Bin, s)
			}
		}
	}

	if env.OS == runtime.GOOS && env.Arch == runtime.GOARCH {
		bin := filepath.Join(t.TempDir(), pl.Bin)
		if err := os.WriteFile(bin, files[pl.Bin], 0o755); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(bin, "version", "-o", "json").Output()
		if err != nil {
			t.Fatalf("%s version: %v", pl.Bin, err)
		}
		var info struct{ Version, GitCommit string }
		if err := json.Unmarshal(out, &info); err != nil {
			t.Fatalf("%s version -o json: %v\n%s", pl.Bin, err, out)
		}
		if info.Version != version || commit != "" && info.GitCommit != commit {
			t.Errorf("%s version says %s (commit %s), want %s (commit %q)", pl.Bin, info.Version, info.GitCommit, version, commit)
		}
	}
}

// TestDistReproducible builds the host platform again into another directory: the
// archive's bytes must not change, and a one-platform build renders no manifest.
func TestDistReproducible(t *testing.T) {
	first := release(t)
	host := hostPlatform()
	again, err := runDist("VERSION="+testVersion, "COMMIT="+testCommit, "PLATFORMS="+host.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("hack/dist.sh rebuilt %s in %s", host, again.took.Round(time.Second))
	name := archiveName(testVersion, host)
	a, errA := os.ReadFile(filepath.Join(first.dir, name))
	b, errB := os.ReadFile(filepath.Join(again.dir, name))
	if err := errors.Join(errA, errB); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Errorf("%s differs between two builds of the same sources (%d and %d bytes)", name, len(a), len(b))
	}
	if _, err := os.Stat(again.manifest); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a one-platform build wrote %s (stat: %v); the manifest needs all six", again.manifest, err)
	}
	if !strings.Contains(again.output, "not rendering") {
		t.Errorf("a one-platform build does not say it skipped the manifest:\n%s", again.output)
	}
}

// TestDistRenderOnly checks that RENDER_ONLY=true renders nothing but from a complete
// checksums.txt of the release's version, and builds nothing.
func TestDistRenderOnly(t *testing.T) {
	var all []string
	for _, env := range ReleasePlatforms() {
		all = append(all, standInSum(env)+"  "+archiveName(testVersion, env))
	}
	for _, tc := range []struct {
		name  string
		lines []string
		want  string
	}{
		{"no checksums.txt", nil, "needs"},
		{"a platform missing", all[1:], "placeholders nothing filled in: __SHA256_LINUX_AMD64__"},
		{"another version's archive", append(slices.Clone(all), sum("x")+"  "+archiveName("v9.9.9", hostPlatform())), "not an archive of " + testVersion},
		{"all six", all, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := newDistRun()
			if err != nil {
				t.Fatal(err)
			}
			if tc.lines != nil {
				must(os.MkdirAll(r.dir, 0o755))
				must(os.WriteFile(filepath.Join(r.dir, "checksums.txt"), []byte(strings.Join(tc.lines, "\n")+"\n"), 0o644))
			}
			err = r.run("VERSION="+testVersion, "RENDER_ONLY=true")
			if tc.want != "" {
				if err == nil || !strings.Contains(r.output, tc.want) {
					t.Fatalf("want a refusal saying %q, got %v:\n%s", tc.want, err, r.output)
				}
				if _, err := os.Stat(r.manifest); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("a refused render wrote %s", r.manifest)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			p := readManifest(t, r.manifest)
			for _, env := range ReleasePlatforms() {
				if got := platformFor(t, p, env).Sha256; got != standInSum(env) {
					t.Errorf("%s: sha256 %s, want %s from checksums.txt", env, got, standInSum(env))
				}
			}
			entries, err := os.ReadDir(r.dir)
			if err != nil || len(entries) != 1 {
				t.Errorf("RENDER_ONLY wrote into %s: %v (%v)", r.dir, entries, err)
			}
		})
	}
}

var sha256Line = regexp.MustCompile(`(?m)^(\s*sha256:) [a-f0-9]{64}$`)

// TestCommittedManifest checks the krew.yaml at the top of the repository: it is valid,
// and it is the template rendered (only its version and checksums, those of the local
// build that rendered it, may differ from this test's build).
func TestCommittedManifest(t *testing.T) {
	p := readManifest(t, filepath.Join(repoRoot, "krew.yaml"))
	committed, err := os.ReadFile(filepath.Join(repoRoot, "krew.yaml"))
	if err != nil {
		t.Fatal(err)
	}

	r := release(t)
	rendered, err := os.ReadFile(r.manifest)
	if err != nil {
		t.Fatal(err)
	}
	normalize := func(b []byte, version string) string {
		return sha256Line.ReplaceAllString(strings.ReplaceAll(string(b), version, "VERSION"), "$1 SHA256")
	}
	if got, want := normalize(committed, p.Spec.Version), normalize(rendered, testVersion); got != want {
		t.Errorf("krew.yaml is not hack/krew.yaml.tmpl rendered: run make dist.\n--- krew.yaml\n%s\n--- rendered\n%s", got, want)
	}
}

// TestDistRefusesBadVersions checks that hack/dist.sh stops, before building anything,
// on a version krew would refuse.
func TestDistRefusesBadVersions(t *testing.T) {
	for _, tc := range []struct{ name, version, want string }{
		{"an unset version", "", "VERSION is not set"},
		{"a version without its v", "0.1.0", "must start with v"},
		{"a version with two parts", "v0.1", "is not semver"},
		{"a version with four parts", "v1.2.3.4", "is not semver"},
		{"a leading zero", "v01.2.3", "is not semver"},
		{"an empty prerelease", "v1.2.3-", "is not semver"},
		{"an underscore in the prerelease", "v1.2.3-rc_1", "is not semver"},
		{"a word", "vlatest", "is not semver"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := runDist("VERSION=" + tc.version)
			if err == nil {
				t.Fatalf("hack/dist.sh accepted VERSION=%q:\n%s", tc.version, r.output)
			}
			if !strings.Contains(r.output, tc.want) {
				t.Errorf("output does not say %q:\n%s", tc.want, r.output)
			}
			if _, err := os.Stat(r.dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("hack/dist.sh created %s before refusing (stat: %v)", r.dir, err)
			}
		})
	}
}

func TestValidatePlugin(t *testing.T) {
	for _, tc := range []struct {
		name   string
		plugin string // the name the manifest must have; "ext" when empty
		mutate func(*Plugin)
		want   string // a part of the error; "" for none
	}{
		{name: "a valid manifest passes"},
		{name: "a platform without files installs the whole archive", mutate: func(p *Plugin) { p.Spec.Platforms[0].Files = nil }},
		{name: "a selector by matchExpressions passes", mutate: func(p *Plugin) {
			p.Spec.Platforms[0].Selector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "os", Operator: metav1.LabelSelectorOpIn, Values: []string{"linux"}}}}
		}},
		{name: "another apiVersion", mutate: func(p *Plugin) { p.APIVersion = "krew.googlecontainertools.github.com/v1alpha1" }, want: "apiVersion="},
		{name: "another kind", mutate: func(p *Plugin) { p.Kind = "Plugins" }, want: "kind="},
		{name: "a name other than the file's", mutate: func(p *Plugin) { p.Name = "extension" }, want: `should be named "ext"`},
		{name: "a name with a dot", plugin: "e.xt", mutate: func(p *Plugin) { p.Name = "e.xt" }, want: "is not allowed"},
		{name: "a reserved Windows name", plugin: "con", mutate: func(p *Plugin) { p.Name = "con" }, want: "is not allowed"},
		{name: "no shortDescription", mutate: func(p *Plugin) { p.Spec.ShortDescription = "" }, want: "shortDescription: should be set"},
		{name: "a shortDescription on two lines", mutate: func(p *Plugin) { p.Spec.ShortDescription = "Manage\nextensions" }, want: "line breaks"},
		{name: "a shortDescription of 51 characters", mutate: func(p *Plugin) { p.Spec.ShortDescription = strings.Repeat("x", 51) }, want: "51 characters, more than 50"},
		{name: "no description", mutate: func(p *Plugin) { p.Spec.Description = "\n" }, want: "description: should be set"},
		{name: "a description line of 81 columns", mutate: func(p *Plugin) { p.Spec.Description += strings.Repeat("é", 81) + "\n" }, want: "81 columns, more than 80"},
		{name: "no homepage", mutate: func(p *Plugin) { p.Spec.Homepage = "" }, want: "homepage"},
		{name: "no version", mutate: func(p *Plugin) { p.Spec.Version = "" }, want: "should have a version"},
		{name: "a version without its v", mutate: func(p *Plugin) { p.Spec.Version = "1.2.3" }, want: "does not start with 'v'"},
		{name: "a version that is not semver", mutate: func(p *Plugin) { p.Spec.Version = "v1.2" }, want: "failed to parse plugin version"},
		{name: "no platforms", mutate: func(p *Plugin) { p.Spec.Platforms = nil }, want: "should have a platform"},
		{name: "no uri", mutate: func(p *Plugin) { p.Spec.Platforms[2].URI = "" }, want: "spec.platforms[2] is badly constructed: `uri` has to be set"},
		{name: "a uri to a .tgz", mutate: func(p *Plugin) { p.Spec.Platforms[0].URI = "https://example.org/x.tgz" }, want: "should name a .tar.gz or .zip"},
		{name: "no sha256", mutate: func(p *Plugin) { p.Spec.Platforms[0].Sha256 = "" }, want: "`sha256` sum has to be set"},
		{name: "an upper-case sha256", mutate: func(p *Plugin) { p.Spec.Platforms[0].Sha256 = strings.ToUpper(sum("x")) }, want: "is not valid"},
		{name: "a short sha256", mutate: func(p *Plugin) { p.Spec.Platforms[0].Sha256 = sum("x")[:63] }, want: "is not valid"},
		{name: "no bin", mutate: func(p *Plugin) { p.Spec.Platforms[0].Bin = "" }, want: "`bin` has to be set"},
		{name: "an empty files list", mutate: func(p *Plugin) { p.Spec.Platforms[0].Files = []FileOperation{} }, want: "unspecified or non-empty"},
		{name: "a file without from", mutate: func(p *Plugin) { p.Spec.Platforms[0].Files[0].From = "" }, want: "`from` field has to be set"},
		{name: "a file without to", mutate: func(p *Plugin) { p.Spec.Platforms[0].Files[0].To = "" }, want: "`to` field has to be set"},
		{name: "a file to an unclean path", mutate: func(p *Plugin) { p.Spec.Platforms[0].Files[0].To = "./bin/" }, want: "is not clean"},
		{name: "no selector", mutate: func(p *Plugin) { p.Spec.Platforms[0].Selector = nil }, want: "nil selector"},
		{name: "an empty selector", mutate: func(p *Plugin) { p.Spec.Platforms[0].Selector = &metav1.LabelSelector{} }, want: "empty selector"},
		{name: "empty matchLabels beside an expression", mutate: func(p *Plugin) {
			p.Spec.Platforms[0].Selector = &metav1.LabelSelector{MatchLabels: map[string]string{}, MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "os", Operator: metav1.LabelSelectorOpExists}}}
		}, want: "`matchLabels` specified but empty"},
		{name: "empty matchExpressions beside labels", mutate: func(p *Plugin) {
			p.Spec.Platforms[0].Selector.MatchExpressions = []metav1.LabelSelectorRequirement{}
		}, want: "`matchExpressions` specified but empty"},
		{name: "a label other than os and arch", mutate: func(p *Plugin) { p.Spec.Platforms[0].Selector.MatchLabels["distro"] = "debian" }, want: `key "distro" not supported`},
		{name: "an expression on another key", mutate: func(p *Plugin) {
			p.Spec.Platforms[0].Selector.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: "libc", Operator: metav1.LabelSelectorOpExists}}
		}, want: `key "libc" not supported`},
		{name: "an expression with a bad operator", mutate: func(p *Plugin) {
			p.Spec.Platforms[0].Selector.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: "os", Operator: "Is", Values: []string{"linux"}}}
		}, want: "not a valid label selector operator"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := validPlugin()
			if tc.mutate != nil {
				tc.mutate(&p)
			}
			name := cmp.Or(tc.plugin, "ext")
			checkErr(t, ValidatePlugin(name, p), tc.want)
		})
	}
}

func TestValidateSelectors(t *testing.T) {
	labels := func(kv ...string) *metav1.LabelSelector {
		s := &metav1.LabelSelector{MatchLabels: map[string]string{}}
		for i := 0; i < len(kv); i += 2 {
			s.MatchLabels[kv[i]] = kv[i+1]
		}
		return s
	}
	in := func(key string, values ...string) *metav1.LabelSelector {
		return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: key, Operator: metav1.LabelSelectorOpIn, Values: values}}}
	}
	for _, tc := range []struct {
		name   string
		mutate func([]Platform) []Platform
		want   string
	}{
		{name: "one selector per platform passes", mutate: func(ps []Platform) []Platform { return ps }},
		{name: "one selector for several platforms passes", mutate: func(ps []Platform) []Platform {
			ps = ps[:5]
			ps[4].Selector = in("os", "windows")
			return ps
		}},
		{name: "a selector for a platform krew does not know", mutate: func(ps []Platform) []Platform {
			return append(ps, platform("plan9", "amd64"))
		}, want: "spec.platforms[6]'s selector"},
		{name: "two selectors for linux/amd64", mutate: func(ps []Platform) []Platform {
			return append(ps, Platform{URI: "https://example.org/l.zip", Sha256: sum("l"), Bin: "kubectl-ext", Selector: labels("os", "linux")})
		}, want: "overlapping selectors that select linux/amd64"},
		{name: "an expression overlapping a label selector", mutate: func(ps []Platform) []Platform {
			ps[0].Selector = in("arch", "arm64")
			return ps
		}, want: "overlapping selectors that select windows/arm64"},
		{name: "windows/arm64 missing", mutate: func(ps []Platform) []Platform { return ps[:5] }, want: "no spec.platforms selector selects windows/arm64"},
		{name: "darwin/arm64 selected as darwin/386", mutate: func(ps []Platform) []Platform {
			ps[3].Selector = labels("os", "darwin", "arch", "386")
			return ps
		}, want: "no spec.platforms selector selects darwin/arm64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ValidateSelectors(tc.mutate(validPlugin().Spec.Platforms), ReleasePlatforms())
			checkErr(t, err, tc.want)
		})
	}
}

func TestVerifyArchive(t *testing.T) {
	linux, windows := OSArch{"linux", "amd64"}, OSArch{"windows", "amd64"}
	good := []entry{{"LICENSE", 0o644, ""}, {"README.md", 0o644, ""}, {"kubectl-ext", 0o755, ""}, {"kubectl_complete-ext", 0o755, ""}}
	for _, tc := range []struct {
		name    string
		env     OSArch
		archive []byte
		mutate  func(*Platform)
		want    string
	}{
		{name: "a release archive passes", env: linux, archive: tarGz(good...)},
		{name: "a zip named .zip passes", env: windows, archive: zipOf(entry{"LICENSE.txt", 0o644, ""}, entry{"kubectl-ext.exe", 0o644, ""}), mutate: func(p *Platform) {
			p.URI = strings.Replace(p.URI, ".tar.gz", ".zip", 1)
			p.Files = []FileOperation{{From: "*", To: "."}}
		}},
		{name: "a glob installs into a directory", env: linux, archive: tarGz(entry{"bin/kubectl-ext", 0o755, ""}, entry{"COPYING", 0o644, ""}), mutate: func(p *Platform) {
			p.Files = []FileOperation{{From: "bin/*", To: "sbin"}, {From: "COPYING", To: "."}}
			p.Bin = "sbin/kubectl-ext"
		}},
		{name: "a sha256 of other bytes", env: linux, archive: tarGz(good...), mutate: func(p *Platform) { p.Sha256 = sum("other") }, want: "the manifest says"},
		{name: "a zip behind a .tar.gz uri", env: linux, archive: zipOf(good...), want: "does not end with .zip"},
		{name: "a tar.gz behind a .zip uri", env: linux, archive: tarGz(good...), mutate: func(p *Platform) { p.URI += ".zip" }, want: "does not end with .tar.gz"},
		{name: "not an archive", env: linux, archive: []byte("#!/bin/sh\necho hi\n"), want: "not a supported archive format"},
		{name: "an entry out of the directory", env: linux, archive: tarGz(append(good, entry{"../kubectl-ext", 0o755, ""})...), want: "suspicious entry"},
		{name: "an absolute entry", env: linux, archive: tarGz(append(good, entry{"/usr/bin/kubectl-ext", 0o755, ""})...), want: "absolute entry"},
		{name: "a symbolic link", env: linux, archive: tarGz(append(good, entry{"kubectl", 0o777, "kubectl-ext"})...), want: "unable to handle file type"},
		{name: "a file the archive lacks", env: linux, archive: tarGz(good[:3]...), want: "matched the glob pattern=kubectl_complete-ext"},
		{name: "no LICENSE in the archive", env: linux, archive: tarGz(good[1:]...), want: "pattern=LICENSE"},
		{name: "a LICENSE that is not installed", env: linux, archive: tarGz(good...), mutate: func(p *Platform) { p.Files = slices.Delete(p.Files, 1, 2) }, want: "no LICENSE"},
		{name: "a bin that is not installed", env: linux, archive: tarGz(good...), mutate: func(p *Platform) { p.Bin = "kubectl-ext2" }, want: `"kubectl-ext2" is not among the installed files`},
		{name: "a bin that cannot run", env: linux, archive: tarGz(entry{"LICENSE", 0o644, ""}, entry{"kubectl-ext", 0o644, ""}, entry{"kubectl_complete-ext", 0o755, ""}), want: "is not executable"},
		{name: "a windows bin without .exe", env: windows, archive: tarGz(good...), mutate: func(p *Platform) {
			p.Bin, p.Files = "kubectl-ext", platform("linux", "amd64").Files
		}, want: "should end with .exe"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := platform(tc.env.OS, tc.env.Arch)
			p.Sha256 = sumBytes(tc.archive)
			if tc.mutate != nil {
				tc.mutate(&p)
			}
			checkErr(t, VerifyArchive(p, tc.env, tc.archive), tc.want)
		})
	}
}

func TestDecodeRefusesUnknownFields(t *testing.T) {
	_, err := Decode([]byte("apiVersion: " + APIVersion + "\nkind: Plugin\nmetadata: {name: ext}\nspec: {shortDesc: x}\n"))
	checkErr(t, err, `unknown field "shortDesc"`)
}

// validPlugin builds a manifest that passes every rule, one platform per release target.
func validPlugin() Plugin {
	p := Plugin{
		TypeMeta:   metav1.TypeMeta{APIVersion: APIVersion, Kind: Kind},
		ObjectMeta: metav1.ObjectMeta{Name: "ext"},
		Spec: PluginSpec{
			Version:          "v1.2.3",
			Homepage:         homepage,
			ShortDescription: "Manage cluster extensions",
			Description:      "Cluster extensions for any cluster.\n",
		},
	}
	for _, env := range ReleasePlatforms() {
		p.Spec.Platforms = append(p.Spec.Platforms, platform(env.OS, env.Arch))
	}
	return p
}

// platform builds the platform entry of a release target, as the template writes it.
func platform(os, arch string) Platform {
	bin := "kubectl-ext"
	files := []FileOperation{{From: bin, To: "."}, {From: "LICENSE", To: "."}, {From: "kubectl_complete-ext", To: "."}}
	if os == "windows" {
		bin += ".exe"
		files = []FileOperation{{From: bin, To: "."}, {From: "LICENSE", To: "."}}
	}
	return Platform{
		URI:      fmt.Sprintf(releaseURI, "v1.2.3", os, arch),
		Sha256:   sum(os + arch),
		Bin:      bin,
		Files:    files,
		Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"os": os, "arch": arch}},
	}
}

// entry is a file in an archive built by tarGz or zipOf; a link when target is set.
type entry struct {
	name   string
	mode   int64
	target string
}

func tarGz(entries ...entry) []byte {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Mode: e.mode, Typeflag: tar.TypeReg, Size: int64(len(e.name))}
		if e.target != "" {
			hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeSymlink, e.target, 0
		}
		must(tw.WriteHeader(hdr))
		if hdr.Size > 0 {
			_, err := tw.Write([]byte(e.name))
			must(err)
		}
	}
	must(tw.Close())
	must(gz.Close())
	return buf.Bytes()
}

func zipOf(entries ...entry) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		h.SetMode(os.FileMode(e.mode))
		w, err := zw.CreateHeader(h)
		must(err)
		_, err = w.Write([]byte(e.name))
		must(err)
	}
	must(zw.Close())
	return buf.Bytes()
}

func readChecksums(t *testing.T, file string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	sums, err := parseChecksums(b)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return sums
}

// parseChecksums reads sha256sum's output: archive name -> checksum.
func parseChecksums(b []byte) (map[string]string, error) {
	sums := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		sum, name, ok := strings.Cut(line, "  ")
		if !ok {
			return nil, fmt.Errorf("line %q is not in sha256sum format", line)
		}
		sums[name] = sum
	}
	return sums, nil
}

func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case want != "" && err == nil:
		t.Fatalf("no error, want one containing %q", want)
	case want != "" && !strings.Contains(err.Error(), want):
		t.Fatalf("error %q does not contain %q", err, want)
	}
}

func sum(s string) string { return sumBytes([]byte(s)) }

func sumBytes(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}
