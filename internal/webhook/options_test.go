package webhook

import (
	"strings"
	"testing"
)

// TestOptionsValidateMetrics: metrics go through authenticated HTTPS by default; plain
// HTTP is allowed only on a loopback address, where no other pod can reach it.
func TestOptionsValidateMetrics(t *testing.T) {
	tests := []struct {
		name    string
		addr    string
		secure  bool
		wantErr string
	}{
		{name: "the defaults are valid", addr: NewOptions().MetricsAddr, secure: NewOptions().MetricsSecure},
		{name: "secure metrics on every interface", addr: ":8443", secure: true},
		{name: "plain metrics on 127.0.0.1", addr: "127.0.0.1:8080"},
		{name: "plain metrics on localhost", addr: "localhost:8080"},
		{name: "plain metrics on ::1", addr: "[::1]:8080"},
		{name: "plain metrics disabled", addr: "0"},
		{name: "plain metrics on every interface are refused", addr: ":8080", wantErr: "loopback"},
		{name: "plain metrics on a pod address are refused", addr: "10.0.0.5:8080", wantErr: "loopback"},
		{name: "an address without a port is refused", addr: "localhost", wantErr: "loopback"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := NewOptions()
			o.MetricsAddr, o.MetricsSecure = tt.addr, tt.secure
			err := o.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Validate: %v, want an error mentioning %q", err, tt.wantErr)
			}
		})
	}
	if o := NewOptions(); !o.MetricsSecure || o.MetricsAddr != ":8443" {
		t.Errorf("default metrics: secure=%v on %q, want secure on :8443", o.MetricsSecure, o.MetricsAddr)
	}
}
