package azflags

import (
	"errors"
	"fmt"

	"github.com/spf13/pflag"
	"k8s.io/utils/ptr"

	"github.com/kubeext/kubectl-ext/internal/lifecycle"
)

// Update is the flags of `az k8s-extension update`, and the plugin's --adopt-release
// and --dry-run, as given. --extension-type and --scope change nothing: az's update
// examples give them, and each must equal the extension's own.
type Update struct {
	ExtensionType         ExtensionType
	Scope                 string
	AutoUpgrade           string
	Version, ReleaseTrain string
	AdoptRelease          bool
	DryRun                string
	Settings              Settings
	Wait                  Wait
	Marketplace           Marketplace
}

// ErrNothingToUpdate is Request's error when no flag changes anything. The request it
// returns with it still holds --extension-type and --scope, which change nothing but
// are refused when they are not the extension's own.
var ErrNothingToUpdate = errors.New("nothing to update: give at least one of --auto-upgrade-minor-version, --version, --release-train, --configuration-settings[-file], --configuration-protected-settings[-file] or --adopt-release")

// AddFlags registers update's flags on fs. Confirmation (--yes) is the command's.
func (u *Update) AddFlags(fs *pflag.FlagSet) {
	AddExtensionTypeFlag(fs, &u.ExtensionType, "The extension's type, as az's update examples give it: it must be the extension's own (the type is immutable).")
	fs.StringVar(&u.Scope, "scope", "", "The extension's scope, cluster or namespace (any case), as az's update examples give it: it must be the extension's own (the scope is immutable).")
	fs.StringVar(&u.AutoUpgrade, "auto-upgrade-minor-version", "", "true keeps the extension current within its train; false pins --version.")
	fs.StringVar(&u.AutoUpgrade, "auto-upgrade", "", "Alias of --auto-upgrade-minor-version.")
	fs.StringVar(&u.Version, "version", "", "Version to pin: needs --auto-upgrade-minor-version false unless the extension is pinned already.")
	fs.StringVar(&u.ReleaseTrain, "release-train", "", "Release train to take versions from; only with auto-upgrade.")
	fs.BoolVar(&u.AdoptRelease, "adopt-release", false, "Replace the stored Helm release when it does not match what kubectl ext recorded: its records are dropped (nothing they list is touched) and the extension's own chart and values installed afresh. Inspect the release first (docs/security.md, \"Release records\").")
	fs.StringVar(&u.DryRun, "dry-run", "none", `"none", "client" or "server".`)
	fs.Lookup("dry-run").NoOptDefVal = "client"
	u.Settings.AddFlags(fs)
	u.Wait.AddFlags(fs)
	u.Marketplace.AddFlags(fs)
}

// Request checks the flags, before anything is read from or written to the cluster,
// and turns them into the request to update the extension name. changed tells which
// flags were given: only those change the extension, and an empty value given on
// purpose is refused rather than read as "not given".
func (u *Update) Request(name string, changed func(string) bool) (lifecycle.UpdateRequest, error) {
	req := lifecycle.UpdateRequest{Name: name, Wait: !u.Wait.NoWait, Timeout: u.Wait.Timeout}
	typ, err := u.ExtensionType.Value()
	if err != nil {
		return req, err
	}
	req.ExtensionType = typ
	if req.Scope, err = ParseScope(u.Scope); err != nil {
		return req, err
	}
	if err := u.Marketplace.Validate(changed); err != nil {
		return req, err
	}
	given := false
	if changed("auto-upgrade-minor-version") || changed("auto-upgrade") {
		b, err := ParseBool("auto-upgrade-minor-version", u.AutoUpgrade)
		if err != nil {
			return req, err
		}
		req.AutoUpgrade, given = ptr.To(b), true
	}
	if changed("version") {
		if u.Version == "" {
			return req, fmt.Errorf("--version needs a value")
		}
		// Without --auto-upgrade-minor-version, --version keeps a pinned extension
		// pinned; an auto-upgrading one is refused once it has been read.
		if req.AutoUpgrade != nil && *req.AutoUpgrade {
			return req, fmt.Errorf("--version pins the extension, so it cannot go with --auto-upgrade-minor-version true")
		}
		req.Version, given = ptr.To(u.Version), true
	} else if req.AutoUpgrade != nil && !*req.AutoUpgrade {
		return req, fmt.Errorf("--auto-upgrade-minor-version false needs --version: name the version to pin")
	}
	if changed("release-train") {
		if u.ReleaseTrain == "" {
			return req, fmt.Errorf("--release-train needs a value")
		}
		// Whether a train may be set depends on the extension's auto-upgrade when the
		// request leaves it as it is: lifecycle checks that once it has read it.
		if req.AutoUpgrade != nil && !*req.AutoUpgrade {
			return req, errTrainPinned
		}
		req.ReleaseTrain, given = ptr.To(u.ReleaseTrain), true
	}
	s, err := u.Settings.Parse(false, ProtectedGiven(changed))
	if err != nil {
		return req, err
	}
	req.Settings, req.Protected = s.Settings, s.Protected
	if len(s.Settings) > 0 || s.Protected != nil {
		given = true
	}
	if u.AdoptRelease {
		req.AdoptRelease, given = true, true
	}
	if !given {
		// req keeps the type and scope given: the caller checks them against the
		// extension, so that another type or scope is refused naming the field.
		return req, ErrNothingToUpdate
	}
	if req.DryRun, err = ParseDryRun(u.DryRun); err != nil {
		return req, err
	}
	if err := u.Wait.Validate(); err != nil {
		return req, err
	}
	return req, nil
}
