package policy

import (
	"context"
	"fmt"
	"testing"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
)

// typicalUpdate is a pinned extension moving from 1.4.1 to 1.4.2 in a cluster with
// 20 other extensions, with a handful of settings and an annotation.
func typicalUpdate() Input {
	settings := map[string]string{}
	for i := range 10 {
		settings[fmt.Sprintf("podinfo.replicaCount%d", i)] = "2"
	}
	withSettings := func(e *v1alpha1.Extension) { e.Spec.ConfigurationSettings = settings }
	old := newExtension(version("1.4.1"), installedAt("1.4.1"), withSettings)
	obj := newExtension(version("1.4.2"), installedAt("1.4.1"), withSettings, annotated("team", "platform"))
	in := updateInput(old, obj)
	for i := range 20 {
		in.Extensions = append(in.Extensions, *newExtension(named(fmt.Sprintf("ext-%d", i)), targetNamespace(fmt.Sprintf("team-%d", i)), installedAt("1.4.2")))
	}
	return in
}

func BenchmarkEvaluate(b *testing.B) {
	e := newEngine(b, Options{})
	in := typicalUpdate()
	ctx := context.Background()
	if d, err := e.Evaluate(ctx, in); err != nil || !d.Allowed() {
		b.Fatalf("typical update: %+v, %v", d, err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Evaluate(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEvaluateParallel(b *testing.B) {
	e := newEngine(b, Options{})
	in := typicalUpdate()
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := e.Evaluate(ctx, in); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkEvaluateInput is the input-building part of BenchmarkEvaluate alone (the
// JSON round trip into Rego's input document), so that the two tell where the time
// goes: the difference is the evaluation of the policies.
func BenchmarkEvaluateInput(b *testing.B) {
	e := newEngine(b, Options{})
	in := typicalUpdate()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.inputValue(in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNew compiles and prepares the embedded policies, as every webhook process
// and every plugin command (once per cluster of a fleet) does.
func BenchmarkNew(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := New(context.Background(), Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
