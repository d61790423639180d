package policy

import (
	"context"
	"fmt"
	"testing"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
)

// typicalUpdate is a pinned extension moving from 1.4.1 to 1.4.2 in a cluster with
// others other extensions, with a handful of settings and an annotation.
func typicalUpdate(others int) scenario {
	settings := map[string]string{}
	for i := range 10 {
		settings[fmt.Sprintf("podinfo.replicaCount%d", i)] = "2"
	}
	withSettings := func(e *v1alpha1.Extension) { e.Spec.ConfigurationSettings = settings }
	old := newExtension(version("1.4.1"), installedAt("1.4.1"), withSettings)
	obj := newExtension(version("1.4.2"), installedAt("1.4.1"), withSettings, annotated("team", "platform"))
	in := updateInput(old, obj)
	for i := range others {
		in.Extensions = append(in.Extensions, *newExtension(named(fmt.Sprintf("ext-%d", i)), targetNamespace(fmt.Sprintf("team-%d", i)), installedAt("1.4.2")))
	}
	return in
}

// loaded is an engine whose inventory holds s's type and other extensions.
func loaded(b *testing.B, s scenario) *Engine {
	e := newEngine(b, Options{})
	if d, err := evaluate(e, context.Background(), s); err != nil || !d.Allowed() {
		b.Fatalf("typical update: %+v, %v", d, err)
	}
	return e
}

// BenchmarkEvaluate is one review: the input built from the write and the policies
// evaluated, in a cluster of 20 other extensions held in the engine's inventory.
func BenchmarkEvaluate(b *testing.B) { benchEvaluate(b, 20) }

// BenchmarkEvaluateScale is BenchmarkEvaluate with 10, 100 and 1,000 other
// extensions: a review costs the same in any cluster.
func BenchmarkEvaluateScale(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("extensions=%d", n), func(b *testing.B) { benchEvaluate(b, n) })
	}
}

func benchEvaluate(b *testing.B, others int) {
	s := typicalUpdate(others)
	e := loaded(b, s)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Evaluate(ctx, s.Input); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEvaluateParallel(b *testing.B) {
	s := typicalUpdate(20)
	e := loaded(b, s)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := e.Evaluate(ctx, s.Input); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkEvaluateInput is the input-building part of BenchmarkEvaluate alone, so
// that the two tell where the time goes: the difference is the evaluation.
func BenchmarkEvaluateInput(b *testing.B) {
	e := newEngine(b, Options{})
	s := typicalUpdate(20)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.inputValue(s.Input); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSetExtension is what one informer event costs the webhook: an extension
// moved to another namespace and back, in a cluster of 1,000.
func BenchmarkSetExtension(b *testing.B) {
	s := typicalUpdate(1000)
	e := loaded(b, s)
	moved := s.Extensions[500].DeepCopy()
	moved.Spec.Scope.Namespace.TargetNamespace = "elsewhere"
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		ext := moved
		if i%2 == 1 {
			ext = &s.Extensions[500]
		}
		if err := e.SetExtension(ext); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNew makes an engine, as the webhook once and the plugin once per cluster
// it judges a write on: the policies are compiled once per process, so this is the
// preparation of the queries against a store of the engine's own.
func BenchmarkNew(b *testing.B) {
	if _, err := embeddedCompiled(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := New(context.Background(), Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCompile compiles the embedded policies, what the first New of a process
// pays.
func BenchmarkCompile(b *testing.B) {
	set, err := loadModules("")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := compileSet(context.Background(), set); err != nil {
			b.Fatal(err)
		}
	}
}
