package settings

import (
	"reflect"
	"strings"
	"testing"
)

func TestParsePairs(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want map[string]string
	}{
		{
			name: "no arguments give a nil map, meaning the settings were not given",
			args: nil,
			want: nil,
		},
		{
			name: "an empty argument gives an empty but non-nil map",
			args: []string{""},
			want: map[string]string{},
		},
		{
			name: "one pair per argument, as az passes them",
			args: []string{"replicaCount=2", "image.tag=v1"},
			want: map[string]string{"replicaCount": "2", "image.tag": "v1"},
		},
		{
			name: "one argument is one pair: the value keeps its spaces, as az reads it",
			args: []string{"message=hello big world", "b=x y=z"},
			want: map[string]string{"message": "hello big world", "b": "x y=z"},
		},
		{
			name: "quote characters the shell passed through stay in the value",
			args: []string{`message="quoted"`, `single='s'`},
			want: map[string]string{"message": `"quoted"`, "single": "'s'"},
		},
		{
			name: "a value keeps every equals sign after the first",
			args: []string{"conn=host=db;user=x=y"},
			want: map[string]string{"conn": "host=db;user=x=y"},
		},
		{
			name: "an empty value is allowed",
			args: []string{"message="},
			want: map[string]string{"message": ""},
		},
		{
			name: "a quote inside a value is an ordinary character",
			args: []string{`json={"a":1}`, `w=it's`},
			want: map[string]string{"json": `{"a":1}`, "w": "it's"},
		},
		{
			name: "commas and backslashes stay in the value",
			args: []string{`list=a,b,c`, `path=C:\temp`},
			want: map[string]string{"list": "a,b,c", "path": `C:\temp`},
		},
		{
			name: "a key given twice keeps its last value, across arguments too",
			args: []string{"a=1", "a=2", "b=1", "b=3"},
			want: map[string]string{"a": "2", "b": "3"},
		},
		{
			name: "keys may use indexes, escaped dots, dashes, underscores and slashes",
			args: []string{"ingress.hosts[0].name=x", `podAnnotations.prometheus\.io/scrape=true`, "m[1][2]=z", "my-key_2=k"},
			want: map[string]string{
				"ingress.hosts[0].name":                "x",
				`podAnnotations.prometheus\.io/scrape`: "true",
				"m[1][2]":                              "z",
				"my-key_2":                             "k",
			},
		},
		{
			name: "non-ASCII text is allowed in values",
			args: []string{"greeting=grüß-dich"},
			want: map[string]string{"greeting": "grüß-dich"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePairs(tt.args)
			if err != nil {
				t.Fatalf("ParsePairs(%q) failed: %v", tt.args, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParsePairs(%q) = %#v, want %#v", tt.args, got, tt.want)
			}
			if (got == nil) != (tt.want == nil) {
				t.Errorf("ParsePairs(%q) nil = %v, want nil = %v", tt.args, got == nil, tt.want == nil)
			}
		})
	}
}

func TestParsePairsErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		// wantIn must appear in the error; secret must not.
		wantIn []string
		secret string
	}{
		{
			name:   "a word without an equals sign is refused without repeating it",
			args:   []string{"s3cr3t-word"},
			wantIn: []string{"argument 1", "expected key=value"},
			secret: "s3cr3t-word",
		},
		{
			name:   "a key with a space is refused without repeating the value",
			args:   []string{"ok=1", "pass word=hunter2-s3cr3t"},
			wantIn: []string{"argument 2", `"pass word"`},
			secret: "hunter2-s3cr3t",
		},
		{
			name:   "an empty key is refused",
			args:   []string{"=value-here"},
			wantIn: []string{"key is empty"},
			secret: "value-here",
		},
		{
			name:   "a key with a space-free invalid character names the key",
			args:   []string{"bad$key=s3cr3t"},
			wantIn: []string{`"bad$key"`, `'$'`},
			secret: "s3cr3t",
		},
		{
			name:   "a key ending with a dot is refused",
			args:   []string{"image.=s3cr3t"},
			wantIn: []string{`"image."`, "ends with a dot"},
			secret: "s3cr3t",
		},
		{
			name:   "a key with a non-numeric index is refused",
			args:   []string{"hosts[x]=s3cr3t"},
			wantIn: []string{`"hosts[x]"`, "index"},
			secret: "s3cr3t",
		},
		{
			name:   "a key with an index larger than Helm allows is refused",
			args:   []string{"hosts[9999999]=s3cr3t"},
			wantIn: []string{`"hosts[9999999]"`, "greater than"},
			secret: "s3cr3t",
		},
		{
			name:   "a key with text after an index is refused",
			args:   []string{"hosts[0]x=s3cr3t"},
			wantIn: []string{`"hosts[0]x"`, "followed by"},
			secret: "s3cr3t",
		},
		{
			name:   "a backslash that does not escape a dot is refused",
			args:   []string{`a\b=s3cr3t`},
			wantIn: []string{"backslash"},
			secret: "s3cr3t",
		},
		{
			name:   "a key nested deeper than Helm allows is refused",
			args:   []string{strings.Repeat("a.", 31) + "a=s3cr3t"},
			wantIn: []string{"nests deeper than 30"},
			secret: "s3cr3t",
		},
		{
			name:   "a value that is not UTF-8 is refused",
			args:   []string{"token=\xff\xfesecret"},
			wantIn: []string{`"token"`, "UTF-8"},
			secret: "secret",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePairs(tt.args)
			if err == nil {
				t.Fatalf("ParsePairs(%q) = %v, want an error", tt.args, got)
			}
			for _, w := range tt.wantIn {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if tt.secret != "" && strings.Contains(err.Error(), tt.secret) {
				t.Errorf("error %q leaks the value %q", err, tt.secret)
			}
		})
	}
}

func TestValidateKey(t *testing.T) {
	valid := []string{
		"a", "A-b_c", "a.b.c", "a[0]", "a[0][1]", "a[0].b", `a\.b`, `a\.b.c/d`,
		"a[65536]", strings.Repeat("a.", 30) + "a", "a" + strings.Repeat("[0]", 30), "0", "-",
	}
	for _, k := range valid {
		if err := ValidateKey(k); err != nil {
			t.Errorf("ValidateKey(%q) = %v, want nil", k, err)
		}
	}
	invalid := []string{
		"", ".", "a.", ".a", "a..b", "[0]", "a.[0]", "a[]", "a[-1]", "a[1", "a[0]b", "a[65537]",
		`a\`, `a\b`, "a b", "a=b", "a,b", "ä", strings.Repeat("a.", 31) + "a", "a" + strings.Repeat("[0]", 31),
		strings.Repeat("a.", 20) + "a" + strings.Repeat("[0]", 11),
	}
	for _, k := range invalid {
		if err := ValidateKey(k); err == nil {
			t.Errorf("ValidateKey(%q) = nil, want an error", k)
		}
	}
}
