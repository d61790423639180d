// Package krew checks a krew plugin manifest, and the archives it names, by the rules
// krew applies: the structural validation of the index (sigs.k8s.io/krew
// internal/index/validation), the platform checks of cmd/validate-krew-manifest (every
// selector matches a platform, no platform is matched twice, a LICENSE is installed), the
// installer's handling of archives and `files`, and the krew-index review guidelines for
// the descriptions. Each check is a pure function returning a wrapped error.
package krew

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"path"
	"regexp"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/version"
	"sigs.k8s.io/yaml"
)

// The manifest's type, and the krew-index guidelines' limits on its descriptions.
const (
	APIVersion = "krew.googlecontainertools.github.com/v1alpha2"
	Kind       = "Plugin"

	MaxShortDescription   = 50
	MaxDescriptionColumns = 80
)

// Plugin is a krew plugin manifest (krew's pkg/index.Plugin).
type Plugin struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec PluginSpec `json:"spec"`
}

// PluginSpec is the body of a manifest.
type PluginSpec struct {
	Version          string     `json:"version,omitempty"`
	ShortDescription string     `json:"shortDescription,omitempty"`
	Description      string     `json:"description,omitempty"`
	Caveats          string     `json:"caveats,omitempty"`
	Homepage         string     `json:"homepage,omitempty"`
	Platforms        []Platform `json:"platforms,omitempty"`
}

// Platform says where the archive for the platforms its selector matches is, and how to
// install it.
type Platform struct {
	URI      string                `json:"uri,omitempty"`
	Sha256   string                `json:"sha256,omitempty"`
	Selector *metav1.LabelSelector `json:"selector,omitempty"`
	Files    []FileOperation       `json:"files"`
	Bin      string                `json:"bin"`
}

// FileOperation copies files matching From (a file or a glob) in the archive to To in
// the installation directory.
type FileOperation struct {
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
}

// OSArch is one platform, as krew's selectors see it.
type OSArch struct {
	OS, Arch string
}

func (p OSArch) String() string { return p.OS + "/" + p.Arch }

// KrewPlatforms returns the platforms krew itself is distributed for: a selector that
// matches none of them is dead, and two selectors matching one of them overlap.
func KrewPlatforms() []OSArch {
	return []OSArch{
		{"windows", "386"}, {"windows", "amd64"}, {"windows", "arm64"},
		{"linux", "386"}, {"linux", "amd64"}, {"linux", "arm"}, {"linux", "arm64"}, {"linux", "ppc64le"},
		{"darwin", "386"}, {"darwin", "amd64"}, {"darwin", "arm64"},
	}
}

// ReleasePlatforms returns the platforms kubectl-ext is released for.
func ReleasePlatforms() []OSArch {
	return []OSArch{
		{"linux", "amd64"}, {"linux", "arm64"},
		{"darwin", "amd64"}, {"darwin", "arm64"},
		{"windows", "amd64"}, {"windows", "arm64"},
	}
}

var (
	safePluginName = regexp.MustCompile(`^[\w-]+$`)
	validSHA256    = regexp.MustCompile(`^[a-f0-9]{64}$`)
	// Names Windows refuses for a file, which a plugin name becomes.
	windowsForbidden = []string{"CON", "PRN", "AUX", "NUL",
		"COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9",
		"LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9"}
	// The names krew's validate-krew-manifest accepts as a license, lower-cased.
	licenseFiles = []string{"license", "license.txt", "license.md",
		"licenses", "licenses.txt", "licenses.md", "copying", "copying.txt"}
)

// Decode reads a manifest. Unlike krew it refuses unknown fields: a misspelt key in our
// own template should fail here rather than be ignored by krew.
func Decode(data []byte) (Plugin, error) {
	var p Plugin
	if err := yaml.UnmarshalStrict(data, &p); err != nil {
		return Plugin{}, fmt.Errorf("decoding plugin manifest: %w", err)
	}
	return p, nil
}

// IsSafePluginName reports whether name may name a plugin (and so a file on every OS).
func IsSafePluginName(name string) bool {
	if !safePluginName.MatchString(name) {
		return false
	}
	return !slices.ContainsFunc(windowsForbidden, func(f string) bool { return strings.EqualFold(f, name) })
}

// ParseVersion parses a plugin version the way krew does: semver with a leading v.
func ParseVersion(s string) (*version.Version, error) {
	if !strings.HasPrefix(s, "v") {
		return nil, fmt.Errorf("version %q does not start with 'v'", s)
	}
	return version.ParseSemantic(s)
}

// ValidatePlugin checks the structure of a manifest that must be named name.
func ValidatePlugin(name string, p Plugin) error {
	if p.APIVersion != APIVersion {
		return fmt.Errorf("plugin manifest has apiVersion=%q, want %q", p.APIVersion, APIVersion)
	}
	if p.Kind != Kind {
		return fmt.Errorf("plugin manifest has kind=%q, want %q", p.Kind, Kind)
	}
	if !IsSafePluginName(name) {
		return fmt.Errorf("the plugin name %q is not allowed, must match %q and not be a reserved Windows file name", name, safePluginName)
	}
	if p.Name != name {
		return fmt.Errorf("plugin should be named %q, not %q", name, p.Name)
	}
	if err := validateShortDescription(p.Spec.ShortDescription); err != nil {
		return fmt.Errorf("shortDescription: %w", err)
	}
	if err := validateDescription(p.Spec.Description); err != nil {
		return fmt.Errorf("description: %w", err)
	}
	if p.Spec.Homepage == "" {
		return errors.New("should have a homepage")
	}
	if p.Spec.Version == "" {
		return errors.New("should have a version specified")
	}
	if _, err := ParseVersion(p.Spec.Version); err != nil {
		return fmt.Errorf("failed to parse plugin version: %w", err)
	}
	if len(p.Spec.Platforms) == 0 {
		return errors.New("should have a platform specified")
	}
	for i, pl := range p.Spec.Platforms {
		if err := validatePlatform(pl); err != nil {
			return fmt.Errorf("spec.platforms[%d] is badly constructed: %w", i, err)
		}
	}
	return nil
}

func validateShortDescription(s string) error {
	switch {
	case s == "":
		return errors.New("should be set")
	case strings.ContainsAny(s, "\r\n"):
		return errors.New("should not have line breaks")
	case len([]rune(s)) > MaxShortDescription:
		return fmt.Errorf("has %d characters, more than %d", len([]rune(s)), MaxShortDescription)
	}
	return nil
}

func validateDescription(s string) error {
	if strings.TrimSpace(s) == "" {
		return errors.New("should be set")
	}
	for i, line := range strings.Split(s, "\n") {
		if n := len([]rune(line)); n > MaxDescriptionColumns {
			return fmt.Errorf("line %d has %d columns, more than %d: %q", i+1, n, MaxDescriptionColumns, line)
		}
	}
	return nil
}

func validatePlatform(p Platform) error {
	if p.URI == "" {
		return errors.New("`uri` has to be set")
	}
	if !strings.HasSuffix(p.URI, ".tar.gz") && !strings.HasSuffix(p.URI, ".zip") {
		return fmt.Errorf("`uri` %s should name a .tar.gz or .zip archive", p.URI)
	}
	if p.Sha256 == "" {
		return errors.New("`sha256` sum has to be set")
	}
	if !validSHA256.MatchString(p.Sha256) {
		return fmt.Errorf("`sha256` value %s is not valid, must match pattern %s", p.Sha256, validSHA256)
	}
	if p.Bin == "" {
		return errors.New("`bin` has to be set")
	}
	if err := validateFiles(p.Files); err != nil {
		return fmt.Errorf("`files` is invalid: %w", err)
	}
	if err := validateSelector(p.Selector); err != nil {
		return fmt.Errorf("invalid platform selector: %w", err)
	}
	return nil
}

func validateFiles(ops []FileOperation) error {
	if ops == nil {
		return nil // krew then installs every file of the archive
	}
	if len(ops) == 0 {
		return errors.New("`files` has to be unspecified or non-empty")
	}
	for _, op := range ops {
		switch {
		case op.From == "":
			return errors.New("`from` field has to be set")
		case op.To == "":
			return errors.New("`to` field has to be set")
		case op.To != path.Clean(op.To):
			return fmt.Errorf("`to` path %q is not clean, should be %q", op.To, path.Clean(op.To))
		}
	}
	return nil
}

func validateSelector(sel *metav1.LabelSelector) error {
	if sel == nil {
		return errors.New("nil selector is not supported")
	}
	if sel.MatchLabels == nil && len(sel.MatchExpressions) == 0 {
		return errors.New("empty selector is not supported")
	}
	if sel.MatchLabels != nil && len(sel.MatchLabels) == 0 {
		return errors.New("`matchLabels` specified but empty")
	}
	if sel.MatchExpressions != nil && len(sel.MatchExpressions) == 0 {
		return errors.New("`matchExpressions` specified but empty")
	}
	for k := range sel.MatchLabels {
		if k != "os" && k != "arch" {
			return fmt.Errorf("key %q not supported", k)
		}
	}
	for _, e := range sel.MatchExpressions {
		if e.Key != "os" && e.Key != "arch" {
			return fmt.Errorf("key %q not supported", e.Key)
		}
	}
	if _, err := metav1.LabelSelectorAsSelector(sel); err != nil {
		return err
	}
	return nil
}

// Matches reports whether a platform's selector selects env.
func Matches(sel *metav1.LabelSelector, env OSArch) (bool, error) {
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return false, fmt.Errorf("compiling label selector: %w", err)
	}
	return s.Matches(labels.Set{"os": env.OS, "arch": env.Arch}), nil
}

// ValidateSelectors checks that every platform's selector matches a platform krew knows,
// that no platform is matched by two selectors, and that each of want is matched. It
// returns, for each of want, the index of the platform that serves it.
func ValidateSelectors(platforms []Platform, want []OSArch) (map[OSArch]int, error) {
	matched := map[OSArch][]int{}
	known := slices.Clone(KrewPlatforms())
	for _, w := range want {
		if !slices.Contains(known, w) {
			known = append(known, w)
		}
	}
	for i, p := range platforms {
		hit := false
		for _, env := range known {
			ok, err := Matches(p.Selector, env)
			if err != nil {
				return nil, fmt.Errorf("spec.platforms[%d]: %w", i, err)
			}
			if ok {
				matched[env] = append(matched[env], i)
				hit = true
			}
		}
		if !hit {
			return nil, fmt.Errorf("spec.platforms[%d]'s selector (%v) doesn't match any supported platform", i, p.Selector)
		}
	}
	for _, env := range known {
		if idx := matched[env]; len(idx) > 1 {
			return nil, fmt.Errorf("multiple spec.platforms (at indexes %v) have overlapping selectors that select %s", idx, env)
		}
	}
	serving := map[OSArch]int{}
	for _, env := range want {
		idx := matched[env]
		if len(idx) == 0 {
			return nil, fmt.Errorf("no spec.platforms selector selects %s", env)
		}
		serving[env] = idx[0]
	}
	return serving, nil
}

// ArchiveFile is a regular file in a plugin archive.
type ArchiveFile struct {
	Name string
	Mode int64
}

// ReadArchive lists the regular files of a .tar.gz or .zip plugin archive. Like krew's
// installer it recognises the format by content, not by name, and refuses entries that
// would land outside the installation directory and entries that are neither a file nor a
// directory.
func ReadArchive(data []byte) (format string, files []ArchiveFile, err error) {
	switch ct := strings.Split(http.DetectContentType(data), ";")[0]; ct {
	case "application/x-gzip":
		files, err = readTarGz(data)
		return ".tar.gz", files, err
	case "application/zip":
		files, err = readZip(data)
		return ".zip", files, err
	default:
		return "", nil, fmt.Errorf("mime type %q of the archive is not a supported archive format", ct)
	}
}

func readTarGz(data []byte) ([]ArchiveFile, error) {
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("reading gzip: %w", err)
	}
	tr := tar.NewReader(gz)
	var files []ArchiveFile
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return files, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading tar: %w", err)
		}
		if err := suspiciousPath(hdr.Name); err != nil {
			return nil, err
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
		case tar.TypeReg:
			files = append(files, ArchiveFile{Name: path.Clean(hdr.Name), Mode: hdr.Mode})
		default:
			return nil, fmt.Errorf("unable to handle file type %d for %q in tar", hdr.Typeflag, hdr.Name)
		}
	}
}

func readZip(data []byte) ([]ArchiveFile, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("reading zip: %w", err)
	}
	var files []ArchiveFile
	for _, f := range zr.File {
		if err := suspiciousPath(f.Name); err != nil {
			return nil, err
		}
		if !f.FileInfo().IsDir() {
			files = append(files, ArchiveFile{Name: path.Clean(f.Name), Mode: int64(f.Mode().Perm())})
		}
	}
	return files, nil
}

func suspiciousPath(p string) error {
	if strings.Contains(p, "..") {
		return fmt.Errorf("refusing to unpack archive with suspicious entry %q", p)
	}
	if strings.HasPrefix(p, "/") || strings.HasPrefix(p, `\`) {
		return fmt.Errorf("refusing to unpack archive with absolute entry %q", p)
	}
	return nil
}

// Install applies a platform's file operations to the files of its archive and returns
// the installed files by their path in the installation directory.
func Install(ops []FileOperation, files []ArchiveFile) (map[string]ArchiveFile, error) {
	if ops == nil {
		ops = []FileOperation{{From: "*", To: "."}}
	}
	installed := map[string]ArchiveFile{}
	for _, op := range ops {
		from := path.Clean(op.From)
		if i := slices.IndexFunc(files, func(f ArchiveFile) bool { return f.Name == from }); i >= 0 {
			to := op.To
			if path.Clean(to) == "." {
				to = path.Base(from)
			}
			installed[path.Clean(to)] = files[i]
			continue
		}
		n := 0
		for _, f := range files {
			ok, err := path.Match(from, f.Name)
			if err != nil {
				return nil, fmt.Errorf("`from` %q is not a valid glob: %w", op.From, err)
			}
			if ok {
				installed[path.Join(op.To, path.Base(f.Name))] = f
				n++
			}
		}
		if n == 0 {
			return nil, fmt.Errorf("no files in the plugin archive matched the glob pattern=%s", op.From)
		}
	}
	return installed, nil
}

// VerifyArchive checks the archive that platform p serves to env: its sha256 is the
// manifest's, its format is the one its uri names, and installing it yields the bin (an
// executable, and a .exe on windows) and a license file.
func VerifyArchive(p Platform, env OSArch, data []byte) error {
	sum := sha256.Sum256(data)
	if got := hex.EncodeToString(sum[:]); got != p.Sha256 {
		return fmt.Errorf("archive has sha256 %s, the manifest says %s", got, p.Sha256)
	}
	format, files, err := ReadArchive(data)
	if err != nil {
		return err
	}
	if !strings.HasSuffix(p.URI, format) {
		return fmt.Errorf("`uri` %s does not end with %s, the archive's format", p.URI, format)
	}
	installed, err := Install(p.Files, files)
	if err != nil {
		return fmt.Errorf("installing: %w", err)
	}
	bin, ok := installed[path.Clean(p.Bin)]
	if !ok {
		return fmt.Errorf("`bin` %q is not among the installed files %v", p.Bin, slices.Sorted(maps.Keys(installed)))
	}
	if env.OS == "windows" {
		if !strings.HasSuffix(p.Bin, ".exe") {
			return fmt.Errorf("`bin` %q should end with .exe on windows", p.Bin)
		}
	} else if bin.Mode&0o111 == 0 {
		return fmt.Errorf("`bin` %q is not executable (mode %o)", p.Bin, bin.Mode)
	}
	for name := range installed {
		if slices.Contains(licenseFiles, strings.ToLower(path.Base(name))) {
			return nil
		}
	}
	return fmt.Errorf("no LICENSE (or alike) file among the installed files %v", slices.Sorted(maps.Keys(installed)))
}
