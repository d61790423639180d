package webhook

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestReviewTimeout(t *testing.T) {
	tests := []struct {
		query string
		want  time.Duration
	}{
		{"", defaultReviewTimeout},
		{"?timeout=5s", 5 * time.Second},
		{"?timeout=30s", 30 * time.Second},
		{"?timeout=45s", maxReviewTimeout},
		{"?timeout=soon", defaultReviewTimeout},
		{"?timeout=-1s", defaultReviewTimeout},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodPost, ValidatePath+tt.query, nil)
		if got := reviewTimeout(r); got != tt.want {
			t.Errorf("reviewTimeout(%q) = %s, want %s", tt.query, got, tt.want)
		}
	}
}

// TestDrainable: a review's context ends when the API server hangs up while the server
// runs, but not when the server shuts down; then only the API server's timeout ends it.
func TestDrainable(t *testing.T) {
	tests := []struct {
		name         string
		shutdown     bool // cancel the server's context
		hangUp       bool // cancel the request's context
		wantCanceled bool // the review's context ends before its deadline
	}{
		{name: "the API server hangs up while the server runs", hangUp: true, wantCanceled: true},
		{name: "the server shuts down", shutdown: true, hangUp: true},
		{name: "nothing happens", wantCanceled: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			serving, stopServing := context.WithCancel(context.Background())
			defer stopServing()
			reqCtx, hangUp := context.WithCancel(serving) // as net/http's BaseContext does
			defer hangUp()
			inHandler := make(chan struct{})
			ended := make(chan error, 1)
			h := drainable(serving, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				close(inHandler)
				<-r.Context().Done()
				ended <- r.Context().Err()
			}))
			r := httptest.NewRequest(http.MethodPost, ValidatePath+"?timeout=1s", nil).WithContext(reqCtx)
			go h.ServeHTTP(httptest.NewRecorder(), r)
			<-inHandler
			if tt.shutdown {
				stopServing()
			}
			if tt.hangUp {
				hangUp()
			}
			err := <-ended
			if got := errors.Is(err, context.Canceled); got != tt.wantCanceled {
				t.Errorf("the review's context ended with %v; want canceled early: %v", err, tt.wantCanceled)
			}
		})
	}
}
