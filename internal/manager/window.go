package manager

import (
	"fmt"
	"strings"
	"time"
)

// Window is a weekly maintenance window, as AKS planned maintenance has them: a
// weekday, a start time of day and a duration, in UTC. Auto-upgrades start only inside
// it. The zero Window is "any time".
type Window struct {
	Day      time.Weekday
	Start    time.Duration // since midnight UTC
	Duration time.Duration
	set      bool
}

// ParseWindow reads "DAY HH:MM DURATION" ("Sat 02:00 4h", "saturday 22:30 90m"); ""
// is any time. A window longer than a week is refused: it would always be open.
func ParseWindow(s string) (Window, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Window{}, nil
	}
	f := strings.Fields(s)
	if len(f) != 3 {
		return Window{}, fmt.Errorf("maintenance window %q: want DAY HH:MM DURATION, e.g. \"Sat 02:00 4h\" (UTC)", s)
	}
	day, ok := weekday(f[0])
	if !ok {
		return Window{}, fmt.Errorf("maintenance window %q: %q is not a weekday (Mon, Tue, ... or Monday, ...)", s, f[0])
	}
	clock, err := time.Parse("15:04", f[1])
	if err != nil {
		return Window{}, fmt.Errorf("maintenance window %q: start %q is not HH:MM (24-hour, UTC)", s, f[1])
	}
	d, err := time.ParseDuration(f[2])
	if err != nil || d <= 0 {
		return Window{}, fmt.Errorf("maintenance window %q: duration %q is not a positive Go duration such as 4h or 90m", s, f[2])
	}
	if d > 7*24*time.Hour {
		return Window{}, fmt.Errorf("maintenance window %q: a duration over a week is always open; leave the window out instead", s)
	}
	return Window{Day: day, Start: time.Duration(clock.Hour())*time.Hour + time.Duration(clock.Minute())*time.Minute, Duration: d, set: true}, nil
}

func weekday(s string) (time.Weekday, bool) {
	s = strings.ToLower(s)
	for d := time.Sunday; d <= time.Saturday; d++ {
		name := strings.ToLower(d.String())
		if s == name || s == name[:3] {
			return d, true
		}
	}
	return 0, false
}

// IsZero reports whether the window is "any time".
func (w Window) IsZero() bool { return !w.set }

// String is the window as ParseWindow reads it.
func (w Window) String() string {
	if !w.set {
		return "any time"
	}
	return fmt.Sprintf("%s %02d:%02d %s UTC", w.Day.String()[:3], int(w.Start.Hours()), int(w.Start.Minutes())%60, w.Duration)
}

// lastOpening is the most recent opening of the window at or before t.
func (w Window) lastOpening(t time.Time) time.Time {
	t = t.UTC()
	midnight := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	back := (int(t.Weekday()) - int(w.Day) + 7) % 7
	open := midnight.AddDate(0, 0, -back).Add(w.Start)
	if open.After(t) {
		open = open.AddDate(0, 0, -7)
	}
	return open
}

// Contains reports whether t is inside the window; always true for "any time".
func (w Window) Contains(t time.Time) bool {
	if !w.set {
		return true
	}
	return t.UTC().Before(w.lastOpening(t).Add(w.Duration))
}

// Next is when the window next opens after t (t itself when it is open).
func (w Window) Next(t time.Time) time.Time {
	if w.Contains(t) {
		return t
	}
	return w.lastOpening(t).AddDate(0, 0, 7)
}
