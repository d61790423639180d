package main

import (
	"slices"
	"time"
)

// Summary is what one run of one target measured.
type Summary struct {
	Requests int
	RPS      float64
	P50, P99 time.Duration
}

// summarize computes the throughput over the measured window and the latency
// percentiles of the samples (which it sorts in place).
func summarize(samples []time.Duration, window time.Duration) Summary {
	s := Summary{Requests: len(samples)}
	if window > 0 {
		s.RPS = float64(len(samples)) / window.Seconds()
	}
	slices.Sort(samples)
	s.P50 = percentile(samples, 50)
	s.P99 = percentile(samples, 99)
	return s
}

// percentile is the nearest-rank percentile p (0 < p <= 100) of sorted: the smallest
// sample that at least p % of the samples do not exceed. Nearest rank, not
// interpolation, so that every figure reported is a latency some request had.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	// rank = ceil(p/100 * n), computed in integers to avoid float rounding at exact
	// multiples (p99 of 100 samples is the 99th, not the 100th).
	n := len(sorted)
	rank := (int(p*100)*n + 9999) / 10000
	rank = max(rank, 1)
	rank = min(rank, n)
	return sorted[rank-1]
}

// median of the runs of one target: each figure's median on its own, as the rounds
// are interleaved with the other targets' to cancel drift of the machine.
func median(runs []Summary) Summary {
	if len(runs) == 0 {
		return Summary{}
	}
	pick := func(key func(Summary) float64) float64 {
		v := make([]float64, len(runs))
		for i, r := range runs {
			v[i] = key(r)
		}
		slices.Sort(v)
		if len(v)%2 == 1 {
			return v[len(v)/2]
		}
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	return Summary{
		Requests: int(pick(func(s Summary) float64 { return float64(s.Requests) })),
		RPS:      pick(func(s Summary) float64 { return s.RPS }),
		P50:      time.Duration(pick(func(s Summary) float64 { return float64(s.P50) })),
		P99:      time.Duration(pick(func(s Summary) float64 { return float64(s.P99) })),
	}
}
