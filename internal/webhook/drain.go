package webhook

import (
	"context"
	"net/http"
	"time"
)

// Bounds of a review's own deadline. The API server sends its webhook timeout as the
// "timeout" query parameter (timeoutSeconds: 1 to 30, 10 by default).
const (
	defaultReviewTimeout = 10 * time.Second
	maxReviewTimeout     = 30 * time.Second
)

// drainable lets reviews in flight finish when the server shuts down.
//
// controller-runtime's webhook server derives every request's context from the
// server's own, so shutdown cancels the reviews it is waiting for: they would end in
// errors, and with failurePolicy Fail so would the writes behind them. Here a review's
// context ends only when the API server hangs up (while the server runs) or when the
// API server's timeout for it passes; a shutdown leaves it alone, and the manager's
// grace period bounds the wait.
func drainable(serving context.Context, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), reviewTimeout(r))
		defer cancel()
		stop := context.AfterFunc(r.Context(), func() {
			if serving.Err() == nil {
				cancel() // the API server hung up; nobody waits for the answer
			}
		})
		defer stop()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// reviewTimeout reads the API server's timeout for this call.
func reviewTimeout(r *http.Request) time.Duration {
	d, err := time.ParseDuration(r.URL.Query().Get("timeout"))
	switch {
	case err != nil || d <= 0:
		return defaultReviewTimeout
	case d > maxReviewTimeout:
		return maxReviewTimeout
	default:
		return d
	}
}
