package manager

import (
	"strings"
	"testing"
	"time"
)

func TestParseWindow(t *testing.T) {
	for _, tc := range []struct {
		in, want, err string
	}{
		{in: "", want: "any time"},
		{in: "Sat 02:00 4h", want: "Sat 02:00 4h0m0s UTC"},
		{in: "saturday 22:30 90m", want: "Sat 22:30 1h30m0s UTC"},
		{in: "SUN 00:00 168h", want: "Sun 00:00 168h0m0s UTC"},
		{in: "Sat 02:00", err: "want DAY HH:MM DURATION"},
		{in: "Someday 02:00 4h", err: "is not a weekday"},
		{in: "Sat 2am 4h", err: "is not HH:MM"},
		{in: "Sat 25:00 4h", err: "is not HH:MM"},
		{in: "Sat 02:00 forever", err: "positive Go duration"},
		{in: "Sat 02:00 -1h", err: "positive Go duration"},
		{in: "Sat 02:00 169h", err: "over a week"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			w, err := ParseWindow(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("ParseWindow(%q) = %v, %v; want an error containing %q", tc.in, w, err, tc.err)
				}
				return
			}
			if err != nil || w.String() != tc.want {
				t.Fatalf("ParseWindow(%q) = %q, %v; want %q", tc.in, w, err, tc.want)
			}
		})
	}
}

func TestWindowContainsAndNext(t *testing.T) {
	// 2026-11-28 is a Saturday.
	at := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	sat, err := ParseWindow("Sat 22:00 4h") // crosses midnight into Sunday
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		w    Window
		now  string
		in   bool
		next string
	}{
		{w: Window{}, now: "2026-11-25T10:00:00Z", in: true, next: "2026-11-25T10:00:00Z"},
		{w: sat, now: "2026-11-28T21:59:59Z", in: false, next: "2026-11-28T22:00:00Z"},
		{w: sat, now: "2026-11-28T22:00:00Z", in: true, next: "2026-11-28T22:00:00Z"},
		{w: sat, now: "2026-11-29T01:59:59Z", in: true, next: "2026-11-29T01:59:59Z"},
		{w: sat, now: "2026-11-29T02:00:00Z", in: false, next: "2026-12-05T22:00:00Z"},
		{w: sat, now: "2026-12-02T12:00:00Z", in: false, next: "2026-12-05T22:00:00Z"},
		// Another time zone is the same instant.
		{w: sat, now: "2026-11-28T23:30:00+01:00", in: true, next: "2026-11-28T22:30:00Z"},
	} {
		t.Run(tc.w.String()+"@"+tc.now, func(t *testing.T) {
			now := at(tc.now)
			if got := tc.w.Contains(now); got != tc.in {
				t.Errorf("Contains = %v, want %v", got, tc.in)
			}
			if got := tc.w.Next(now); !got.Equal(at(tc.next)) {
				t.Errorf("Next = %s, want %s", got.UTC().Format(time.RFC3339), tc.next)
			}
		})
	}
}

func TestBackoffDoublesUpToTheMaximumAndResets(t *testing.T) {
	now := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	b := newBackoff(30*time.Second, 4*time.Minute, func() time.Time { return now })
	var got []time.Duration
	for range 6 {
		got = append(got, b.fail("x"))
	}
	want := []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 4 * time.Minute, 4 * time.Minute}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("delays = %v, want %v", got, want)
		}
	}
	if w := b.wait("x"); w != 4*time.Minute {
		t.Errorf("wait = %s, want 4m", w)
	}
	if w := b.wait("y"); w != 0 {
		t.Errorf("another key waits %s", w)
	}
	now = now.Add(5 * time.Minute)
	if w := b.wait("x"); w != 0 {
		t.Errorf("after the delay, wait = %s", w)
	}
	b.reset("x")
	if d := b.fail("x"); d != 30*time.Second {
		t.Errorf("after reset, first delay = %s", d)
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*Options)
		err    string
	}{
		{name: "defaults", mutate: func(*Options) {}},
		{name: "context and contexts", mutate: func(o *Options) { o.Context, o.Contexts = "a", []string{"b"} }, err: "--context names one cluster"},
		{name: "contexts and all", mutate: func(o *Options) { o.Contexts, o.AllContexts = []string{"b"}, true }, err: "not both"},
		{name: "bad window", mutate: func(o *Options) { o.Window = "someday" }, err: "--maintenance-window"},
		{name: "bad selector", mutate: func(o *Options) { o.Selector = "a=(" }, err: "--selector"},
		{name: "negative interval", mutate: func(o *Options) { o.UpgradeInterval = -time.Second }, err: "--upgrade-interval must not be negative"},
		{name: "zero backoff", mutate: func(o *Options) { o.RetryBackoff = 0 }, err: "--retry-backoff"},
		{name: "no workers", mutate: func(o *Options) { o.MaxConcurrentReconciles = 0 }, err: "--max-concurrent-reconciles"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := DefaultOptions()
			tc.mutate(&o)
			err := o.Validate()
			if tc.err == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("Validate = %v, want an error containing %q", err, tc.err)
			}
		})
	}
}

func TestNextPassMeetsTheWindow(t *testing.T) {
	sat, err := ParseWindow("Sat 02:00 4h")
	if err != nil {
		t.Fatal(err)
	}
	// 2026-11-28 is a Saturday.
	for _, tc := range []struct {
		name  string
		now   time.Time
		after time.Duration
		want  time.Duration
	}{
		{name: "a manager started at 00:30 wakes at the opening, not at 06:30",
			now: time.Date(2026, 11, 28, 0, 30, 0, 0, time.UTC), after: 6 * time.Hour, want: 90*time.Minute + time.Second},
		{name: "inside the window the interval holds", now: time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC), after: 6 * time.Hour, want: 6 * time.Hour},
		{name: "a sooner backoff end holds", now: time.Date(2026, 11, 28, 0, 30, 0, 0, time.UTC), after: time.Minute, want: time.Minute},
		{name: "any time", now: time.Date(2026, 11, 28, 0, 30, 0, 0, time.UTC), after: 6 * time.Hour, want: 6 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := sat
			if tc.name == "any time" {
				w = Window{}
			}
			if got := nextPass(tc.after, tc.now, w); got != tc.want {
				t.Errorf("nextPass = %s, want %s", got, tc.want)
			}
		})
	}
}
