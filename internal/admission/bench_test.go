package admission

import (
	"context"
	"fmt"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
)

// The figures of docs/operations.md's "Limits" come from these benchmarks:
//
//	go test ./internal/admission -run '^$' -bench Handle -benchtime 2s

// settingsOf returns n settings of about 64 bytes each.
func settingsOf(n int) map[string]string {
	s := make(map[string]string, n)
	for i := range n {
		s[fmt.Sprintf("podinfo.values.key%06d", i)] = strings.Repeat("v", 40)
	}
	return s
}

func benchUpdate(b *testing.B, settings map[string]string) admission.Request {
	b.Helper()
	old := ext("podinfo", func(e *v1alpha1.Extension) { e.Spec.ConfigurationSettings = settings })
	obj := ext("podinfo", func(e *v1alpha1.Extension) {
		e.Spec.ConfigurationSettings = settings
		e.Labels = map[string]string{"team": "platform"}
	})
	req := request(admissionv1.Update, "", raw(b, obj), raw(b, old))
	b.SetBytes(int64(len(req.Object.Raw) + len(req.OldObject.Raw)))
	return req
}

func benchHandle(b *testing.B, req admission.Request) {
	h := testHandler(b)
	b.ResetTimer()
	for b.Loop() {
		if resp := h.Handle(context.Background(), req); !resp.Allowed {
			b.Fatalf("denied: %v", resp.Result)
		}
	}
}

// BenchmarkHandle is a typical update: a handful of settings.
func BenchmarkHandle(b *testing.B) { benchHandle(b, benchUpdate(b, settingsOf(10))) }

// BenchmarkHandleLarge is the largest review the API server can send: etcd stores
// objects up to 1.5 MiB, and an update carries the object and the old object.
func BenchmarkHandleLarge(b *testing.B) { benchHandle(b, benchUpdate(b, settingsOf(22000))) }

// BenchmarkHandleParallel is typical updates from as many goroutines as
// GOMAXPROCS, through the handler's --max-concurrent-reviews slots.
func BenchmarkHandleParallel(b *testing.B) {
	req := benchUpdate(b, settingsOf(10))
	h := testHandler(b)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if resp := h.Handle(context.Background(), req); !resp.Allowed {
				b.Errorf("denied: %v", resp.Result)
				return
			}
		}
	})
}
