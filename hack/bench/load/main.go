// Command load posts one request body to one or more HTTPS or HTTP endpoints from N
// workers for a fixed time and prints, per target, the throughput and the p50 and p99
// latency: `make bench`'s load generator for the webhooks and the OPA server.
//
// Each worker owns one HTTP/1.1 keep-alive connection per target (the API server keeps
// its connections to a webhook alive the same way); HTTP/2 is switched off so that 8
// workers are 8 connections and not 8 streams on one. Targets are run in rounds, one
// after the other within a round, so that a drift of the machine's speed spreads over
// all of them; each figure is the median over the rounds.
//
//	load -workers 8 -duration 3s -rounds 3 -target noop=https://127.0.0.1:9443/validate=review.json ...
//
// Output, one line per target: NAME RPS P50_MS P99_MS (tab-separated).
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

type target struct {
	name, url string
	body      []byte
	client    *http.Client
}

type targetList []string

func (l *targetList) String() string     { return strings.Join(*l, " ") }
func (l *targetList) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "load: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	var targets targetList
	workers := flag.Int("workers", 1, "concurrent workers, each with its own keep-alive connection")
	duration := flag.Duration("duration", 3*time.Second, "measured time per target and round")
	warmup := flag.Duration("warmup", time.Second, "unmeasured time before each measurement")
	rounds := flag.Int("rounds", 3, "rounds over all targets; the figures are the medians")
	expectAllowed := flag.Bool("expect-allowed", true, "fail unless each target allows the request (checked once before the load)")
	flag.Var(&targets, "target", "NAME=URL=BODYFILE, repeatable")
	flag.Parse()
	if len(targets) == 0 || *workers < 1 || *rounds < 1 {
		flag.Usage()
		return errors.New("at least one -target, one worker and one round are needed")
	}
	ts := make([]*target, 0, len(targets))
	for _, spec := range targets {
		t, err := parseTarget(spec, *workers)
		if err != nil {
			return err
		}
		allowed, err := probe(t)
		if err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
		if allowed != *expectAllowed {
			return fmt.Errorf("%s: the probe request was answered allowed=%v, want %v: the targets do not judge it alike", t.name, allowed, *expectAllowed)
		}
		ts = append(ts, t)
	}
	runs := make(map[string][]Summary, len(ts))
	for range *rounds {
		for _, t := range ts {
			s, err := measure(t, *workers, *warmup, *duration)
			if err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
			runs[t.name] = append(runs[t.name], s)
		}
	}
	for _, t := range ts {
		m := median(runs[t.name])
		fmt.Printf("%s\t%.0f\t%.3f\t%.3f\n", t.name, m.RPS, ms(m.P50), ms(m.P99))
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func parseTarget(spec string, workers int) (*target, error) {
	name, rest, ok1 := strings.Cut(spec, "=")
	i := strings.LastIndex(rest, "=")
	if !ok1 || i < 0 {
		return nil, fmt.Errorf("-target %q: want NAME=URL=BODYFILE", spec)
	}
	body, err := os.ReadFile(rest[i+1:])
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{
		// The servers present the local control plane's throwaway serving certificate,
		// whose CA the benchmark does not hold; the handshake happens once per
		// connection, outside the measured requests, so verifying it would change no
		// figure.
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // see above
		TLSNextProto:        map[string]func(string, *tls.Conn) http.RoundTripper{},
		ForceAttemptHTTP2:   false,
		MaxIdleConnsPerHost: workers,
		MaxConnsPerHost:     workers,
		DisableCompression:  true,
		IdleConnTimeout:     time.Minute,
	}
	return &target{name: name, url: rest[:i], body: body, client: &http.Client{Transport: tr, Timeout: 10 * time.Second}}, nil
}

func post(ctx context.Context, t *target) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(t.body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := t.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	// Read to the end: a connection is reused only once its body was consumed.
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %d: %.300s", resp.StatusCode, b)
	}
	return b, nil
}

// probe posts the body once and reads the verdict: an AdmissionReview's
// response.allowed, or an OPA decision's empty result.deny.
func probe(t *target) (bool, error) {
	b, err := post(context.Background(), t)
	if err != nil {
		return false, err
	}
	var v struct {
		Response *struct {
			Allowed bool `json:"allowed"`
		} `json:"response"`
		Result *struct {
			Deny []json.RawMessage `json:"deny"`
		} `json:"result"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return false, fmt.Errorf("the answer is not JSON: %w: %.300s", err, b)
	}
	switch {
	case v.Response != nil:
		return v.Response.Allowed, nil
	case v.Result != nil:
		if len(v.Result.Deny) > 0 {
			fmt.Fprintf(os.Stderr, "load: %s denies: %s\n", t.name, v.Result.Deny)
		}
		return len(v.Result.Deny) == 0, nil
	default:
		return false, fmt.Errorf("the answer is neither an AdmissionReview nor an OPA decision: %.300s", b)
	}
}

// measure runs the workers for warmup+duration and keeps the latencies of the
// requests that started and ended within the measured window.
func measure(t *target, workers int, warmup, duration time.Duration) (Summary, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := time.Now().Add(warmup)
	end := start.Add(duration)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		all      []time.Duration
		firstErr error
	)
	for range workers {
		wg.Go(func() {
			samples := make([]time.Duration, 0, 4096)
			for {
				t0 := time.Now()
				if !t0.Before(end) {
					break
				}
				if _, err := post(ctx, t); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					cancel()
					return
				}
				if t1 := time.Now(); !t0.Before(start) && !t1.After(end) {
					samples = append(samples, t1.Sub(t0))
				}
			}
			mu.Lock()
			all = append(all, samples...)
			mu.Unlock()
		})
	}
	wg.Wait()
	if firstErr != nil {
		return Summary{}, firstErr
	}
	return summarize(all, duration), nil
}
