package settings

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestValues(t *testing.T) {
	tests := []struct {
		name     string
		settings map[string]string
		want     map[string]interface{}
	}{
		{
			name:     "no settings give empty values",
			settings: nil,
			want:     map[string]interface{}{},
		},
		{
			name:     "integers and booleans are typed as helm --set types them",
			settings: map[string]string{"replicaCount": "2", "zero": "0", "on": "true", "off": "false", "octal": "007", "float": "1.5"},
			want: map[string]interface{}{
				"replicaCount": int64(2), "zero": int64(0), "on": true, "off": false, "octal": "007", "float": "1.5",
			},
		},
		{
			name:     "null removes a key the way helm --set does",
			settings: map[string]string{"gone": "null"},
			want:     map[string]interface{}{"gone": nil},
		},
		{
			name:     "dotted keys nest and indexes build lists",
			settings: map[string]string{"image.tag": "v1", "hosts[1].name": "b", "hosts[0].name": "a", "m[0][1]": "x"},
			want: map[string]interface{}{
				"image": map[string]interface{}{"tag": "v1"},
				"hosts": []interface{}{map[string]interface{}{"name": "a"}, map[string]interface{}{"name": "b"}},
				"m":     []interface{}{[]interface{}{nil, "x"}},
			},
		},
		{
			name:     "an escaped dot stays inside one name",
			settings: map[string]string{`podAnnotations.prometheus\.io/scrape`: "true"},
			want: map[string]interface{}{
				"podAnnotations": map[string]interface{}{"prometheus.io/scrape": true},
			},
		},
		{
			name: "commas, backslashes, equals signs and braces stay in one value",
			settings: map[string]string{
				"list":   "a,b,c",
				"path":   `C:\temp\,x`,
				"conn":   "host=db,user=x",
				"braces": "{a,b}",
				"json":   `{"a":1}`,
				"inner":  "x{y}",
				"empty":  "",
			},
			want: map[string]interface{}{
				"list":   "a,b,c",
				"path":   `C:\temp\,x`,
				"conn":   "host=db,user=x",
				"braces": "{a,b}",
				"json":   `{"a":1}`,
				"inner":  "x{y}",
				"empty":  "",
			},
		},
		{
			name:     "an empty value inside a list element is kept",
			settings: map[string]string{"a[0].b": "", "c[1]": ""},
			want: map[string]interface{}{
				"a": []interface{}{map[string]interface{}{"b": ""}},
				"c": []interface{}{nil, ""},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Values(tt.settings)
			if err != nil {
				t.Fatalf("Values(%v) failed: %v", tt.settings, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Values(%v) = %#v, want %#v", tt.settings, got, tt.want)
			}
		})
	}
}

func TestValuesErrors(t *testing.T) {
	tests := []struct {
		name     string
		settings map[string]string
		wantIn   []string
	}{
		{
			name:     "an invalid key is named",
			settings: map[string]string{"bad key": "s3cr3t"},
			wantIn:   []string{`"bad key"`},
		},
		{
			name:     "a key that holds a value and nested settings is a conflict naming both",
			settings: map[string]string{"image": "s3cr3t", "image.tag": "s3cr3t"},
			wantIn:   []string{`"image"`, `"image.tag"`, "conflict"},
		},
		{
			name:     "a list element that holds a value and nested settings is a conflict",
			settings: map[string]string{"hosts[0]": "s3cr3t", "hosts[0].name": "s3cr3t"},
			wantIn:   []string{`"hosts[0]"`, "conflict"},
		},
		{
			name:     "a key used as a list and as a mapping is a conflict",
			settings: map[string]string{"hosts[0]": "s3cr3t", "hosts.name": "s3cr3t"},
			wantIn:   []string{"hosts", "both a list and a mapping"},
		},
		{
			name:     "a nested list used as a mapping is a conflict",
			settings: map[string]string{"m[0][0]": "s3cr3t", "m[0].a": "s3cr3t"},
			wantIn:   []string{"m[0]", "both a list and a mapping"},
		},
		{
			name:     "list indexes that would allocate too many elements in total are refused",
			settings: map[string]string{"a[65536]": "s3cr3t", "b[65536][65536]": "s3cr3t", "c[65536][65536][65536]": "s3cr3t", "d[65536][65536][65536][65536][65536][65536][65536][65536][65536][65536][65536][65536][65536][65536][65536]": "s3cr3t"},
			wantIn:   []string{"list elements"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Values(tt.settings)
			if err == nil {
				t.Fatalf("Values(%v) = %v, want an error", tt.settings, got)
			}
			for _, w := range tt.wantIn {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error %q leaks a value", err)
			}
		})
	}
}

func TestMergeAndSources(t *testing.T) {
	t.Run("merge lets the override win and changes neither input", func(t *testing.T) {
		base := map[string]string{"a": "1", "b": "1"}
		over := map[string]string{"b": "2", "c": "2"}
		got := Merge(base, over)
		want := map[string]string{"a": "1", "b": "2", "c": "2"}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Merge = %v, want %v", got, want)
		}
		if len(base) != 2 || len(over) != 2 {
			t.Errorf("Merge changed its inputs: %v, %v", base, over)
		}
	})
	t.Run("create refuses inline and file settings together", func(t *testing.T) {
		_, err := ForCreate(map[string]string{"a": "1"}, map[string]string{})
		if !errors.Is(err, ErrInlineAndFile) {
			t.Fatalf("ForCreate error = %v, want ErrInlineAndFile", err)
		}
	})
	t.Run("create takes whichever source was given", func(t *testing.T) {
		for _, tc := range []struct{ inline, file, want map[string]string }{
			{inline: map[string]string{"a": "1"}, want: map[string]string{"a": "1"}},
			{file: map[string]string{"b": "2"}, want: map[string]string{"b": "2"}},
			{want: map[string]string{}},
		} {
			got, err := ForCreate(tc.inline, tc.file)
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ForCreate(%v, %v) = %v, %v; want %v", tc.inline, tc.file, got, err, tc.want)
			}
		}
	})
	t.Run("update applies the file first and lets inline pairs override it", func(t *testing.T) {
		got := ForUpdate(map[string]string{"a": "inline"}, map[string]string{"a": "file", "b": "file"})
		want := map[string]string{"a": "inline", "b": "file"}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("ForUpdate = %v, want %v", got, want)
		}
	})
	t.Run("update with neither source gives nil", func(t *testing.T) {
		if got := ForUpdate(nil, nil); got != nil {
			t.Errorf("ForUpdate(nil, nil) = %v, want nil", got)
		}
	})
}

func TestParsedSettingsBecomeValues(t *testing.T) {
	pairs, err := ParsePairs([]string{"replicaCount=3", "message=a, b", "hosts[0]=x"})
	if err != nil {
		t.Fatal(err)
	}
	file, err := ParseFile("testdata/settings.yaml")
	if err != nil {
		t.Fatal(err)
	}
	vals, err := Values(ForUpdate(pairs, file))
	if err != nil {
		t.Fatalf("Values failed: %v", err)
	}
	if vals["replicaCount"] != int64(3) || vals["message"] != "a, b" {
		t.Errorf("values = %v, want replicaCount 3 and message %q", vals, "a, b")
	}
	limits, _ := vals["limits"].(map[string]interface{})
	if limits["memory"] != "128Mi" || limits["cpu"] != "100m" {
		t.Errorf("limits = %v, want the merged mapping", limits)
	}
}
