package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/utils/ptr"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/catalog"
	"github.com/kubeext/kubectl-ext/internal/describe"
	"github.com/kubeext/kubectl-ext/internal/settings"
)

// typeSettingsFlags are the flags of `type show --settings`.
type typeSettingsFlags struct {
	settings bool
	version  string
}

func (s *typeSettingsFlags) addFlags(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.BoolVar(&s.settings, "settings", false,
		"List the settings the type's chart takes (key, type, default, description) instead of the type; -o json|yaml for scripts.")
	fs.StringVar(&s.version, "version", "", "With --settings: the chart version to read (default: the newest the Stable train offers).")
}

// TypeSettings is what `type show --settings -o json|yaml` prints.
type TypeSettings struct {
	ExtensionType string `json:"extensionType"`
	Chart         string `json:"chart"`
	Version       string `json:"version"`
	// Schema tells whether the chart has a values.schema.json, which create and
	// update check settings against.
	Schema   bool               `json:"schema"`
	Settings []settings.Setting `json:"settings"`
}

// validate checks the flags that go with --settings before anything is read.
func (s *typeSettingsFlags) validate(output string) error {
	if !s.settings {
		if s.version != "" {
			return fmt.Errorf("--version needs --settings: it names the chart version whose settings are listed")
		}
		return nil
	}
	if err := describe.CheckDataFormat(output); err != nil {
		return fmt.Errorf("with --settings, %w", err)
	}
	return nil
}

// runSettings lists the settings of the type's chart at the version asked for, or
// at the newest the Stable train (else the type's first train) offers.
func (o *TypeShowOptions) runSettings(cmd *cobra.Command) error {
	output := ptr.Deref(o.print.OutputFormat, "")
	if err := o.typeSettings.validate(output); err != nil {
		return err
	}
	ctx := cmd.Context()
	cat, err := o.f.catalog(o.ErrOut)
	if err != nil {
		return err
	}
	t, err := cat.Get(ctx, o.Name)
	if err != nil {
		return err
	}
	if err := cat.EnsureSynced(ctx, t); err != nil {
		return err
	}
	version, err := settingsVersion(t, o.typeSettings.version)
	if err != nil {
		return err
	}
	src, err := cat.Charts(t.Spec.Chart)
	if err != nil {
		return err
	}
	ch, err := src.Load(ctx, version)
	if err != nil {
		return err
	}
	rows, err := settings.Describe(ch)
	if err != nil {
		return err
	}
	res := TypeSettings{ExtensionType: t.Name, Chart: t.Spec.Chart.Name, Version: version, Schema: len(ch.Schema) > 0, Settings: rows}
	if res.Settings == nil {
		res.Settings = []settings.Setting{}
	}
	if output != "" {
		return describe.Data(o.Out, res, output)
	}
	schema := "no values.schema.json: types are those of the defaults"
	if res.Schema {
		schema = "create and update check settings against its values.schema.json"
	}
	fmt.Fprintf(o.ErrOut, "Settings of chart %s %s (extension type %s; %s).\n", res.Chart, version, t.Name, schema)
	if len(rows) == 0 {
		fmt.Fprintln(o.ErrOut, "The chart declares no settings.")
		return nil
	}
	if err := settingsTable(o.Out, rows); err != nil {
		return err
	}
	for _, r := range rows {
		if r.Protected {
			fmt.Fprintln(o.ErrOut, "Keys marked PROTECTED look like secrets: give them with --configuration-protected-settings, which keeps them in a Secret.")
			break
		}
	}
	return nil
}

// settingsVersion is the version whose settings are listed: the one asked for, which
// the type must list, or the newest its Stable train (else its first train) offers.
func settingsVersion(t *v1alpha1.ExtensionType, asked string) (string, error) {
	if asked != "" {
		v := strings.TrimPrefix(asked, "v")
		if _, ok := catalog.Lookup(t, v); !ok {
			return "", fmt.Errorf("extension type %s has no version %q (its versions: %s; `kubectl ext type sync %s` reads them again)",
				t.Name, asked, strings.Join(catalog.Names(t.Status.Versions), ", "), t.Name)
		}
		return v, nil
	}
	train, err := catalog.ResolveTrain(t, "")
	if err != nil {
		return "", err
	}
	cands := catalog.Candidates(t, train, "")
	if len(cands) == 0 {
		return "", fmt.Errorf("the %s train of extension type %s offers no version; name one with --version (its versions: %s)",
			train, t.Name, strings.Join(catalog.Names(t.Status.Versions), ", "))
	}
	return cands[0].Version, nil
}

// maxDefaultWidth bounds the DEFAULT column; -o json shows defaults whole.
const maxDefaultWidth = 40

// settingsTable writes KEY TYPE DEFAULT PROTECTED DESCRIPTION, defaults as JSON.
func settingsTable(out io.Writer, rows []settings.Setting) error {
	w := printers.GetNewTabWriter(out)
	fmt.Fprintln(w, "KEY\tTYPE\tDEFAULT\tPROTECTED\tDESCRIPTION")
	for _, r := range rows {
		def := "-"
		if r.Default != nil {
			b, err := json.Marshal(r.Default)
			if err != nil {
				return err
			}
			def = string(b)
			if utf8.RuneCountInString(def) > maxDefaultWidth {
				def = string([]rune(def)[:maxDefaultWidth-3]) + "..."
			}
		}
		protected := "-"
		if r.Protected {
			protected = "yes"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", r.Key, orDash(r.Type), def, protected, orDash(oneLineText(r.Description)))
	}
	return w.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// oneLineText keeps a description on its row.
func oneLineText(s string) string { return strings.Join(strings.Fields(s), " ") }
