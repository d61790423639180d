package main

import (
	"testing"
	"time"
)

func msOf(v ...int) []time.Duration {
	out := make([]time.Duration, len(v))
	for i, x := range v {
		out[i] = time.Duration(x) * time.Millisecond
	}
	return out
}

func seq(n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = time.Duration(n-i) * time.Millisecond // descending: summarize must sort
	}
	return out
}

func TestPercentile(t *testing.T) {
	tests := []struct {
		name    string
		samples []time.Duration
		p       float64
		want    time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one sample is every percentile", msOf(7), 99, 7 * time.Millisecond},
		{"p50 of four is the second", msOf(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"p50 of five is the third", msOf(1, 2, 3, 4, 5), 50, 3 * time.Millisecond},
		{"p99 of 100 is the 99th, not the largest", seq(100), 99, 99 * time.Millisecond},
		{"p99 of 101 is the 100th (rank ceil(99.99))", seq(101), 99, 100 * time.Millisecond},
		{"p99 of 1000 is the 990th", seq(1000), 99, 990 * time.Millisecond},
		{"p100 is the largest", msOf(1, 9, 4), 100, 9 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := summarize(tt.samples, time.Second)
			var got time.Duration
			switch tt.p {
			case 50:
				got = s.P50
			case 99:
				got = s.P99
			default:
				got = percentile(tt.samples, tt.p) // summarize sorted them
			}
			if got != tt.want {
				t.Errorf("p%v = %v, want %v", tt.p, got, tt.want)
			}
		})
	}
}

func TestSummarizeRPS(t *testing.T) {
	tests := []struct {
		n      int
		window time.Duration
		want   float64
	}{
		{1000, 2 * time.Second, 500},
		{3, 1500 * time.Millisecond, 2},
		{5, 0, 0}, // no window, no rate (and no division by zero)
	}
	for _, tt := range tests {
		if got := summarize(seq(tt.n), tt.window).RPS; got != tt.want {
			t.Errorf("%d requests in %v: %v rps, want %v", tt.n, tt.window, got, tt.want)
		}
	}
}

func TestMedian(t *testing.T) {
	runs := []Summary{
		{Requests: 10, RPS: 300, P50: 3 * time.Millisecond, P99: 9 * time.Millisecond},
		{Requests: 30, RPS: 100, P50: 1 * time.Millisecond, P99: 30 * time.Millisecond},
		{Requests: 20, RPS: 200, P50: 2 * time.Millisecond, P99: 10 * time.Millisecond},
	}
	got := median(runs)
	want := Summary{Requests: 20, RPS: 200, P50: 2 * time.Millisecond, P99: 10 * time.Millisecond}
	if got != want {
		t.Errorf("median = %+v, want %+v (each figure's own median)", got, want)
	}
	if got := median(runs[:2]); got.RPS != 200 || got.P50 != 2*time.Millisecond {
		t.Errorf("median of two = %+v, want the means of the middle pair", got)
	}
	if got := median(nil); got != (Summary{}) {
		t.Errorf("median of nothing = %+v", got)
	}
}
