package scheduler

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stormguard/stormguard/weather"
)

func wantNextRun(t *testing.T, s *Scheduler, name string, want time.Time) {
	t.Helper()
	got, err := s.NextRun(name)
	if err != nil {
		t.Fatalf("NextRun: %v", err)
	}
	if !got.Equal(want) {
		t.Fatalf("next run %v, want %v", got.Sub(t0), want.Sub(t0))
	}
}

func TestRunsAtInterval(t *testing.T) {
	h := newHarness(t, nil)
	p := &fakePoller{name: "xweather", poll: func(context.Context, int) (weather.Report, error) {
		return weather.Report{Detail: "ok"}, nil
	}}
	if err := h.s.Add(p, 10*time.Minute, time.Minute); err != nil {
		t.Fatal(err)
	}
	h.s.Start()
	for i := range 4 {
		if i > 0 {
			h.step(10*time.Minute, "xweather")
		}
		r := h.waitRun()
		if want := t0.Add(time.Duration(i) * 10 * time.Minute); !r.polled || !r.at.Equal(want) {
			t.Fatalf("run %d = %+v, want a poll at %v", i, r, want.Sub(t0))
		}
		rep := h.waitReport()
		if rep.name != "xweather" || rep.r.Source != "xweather" || rep.err != nil {
			t.Fatalf("report %d = %+v, want xweather's report, source filled in", i, rep)
		}
		if got, want := h.scheduled("xweather"), r.at.Add(10*time.Minute); !got.Equal(want) {
			t.Fatalf("next run %v, want %v", got.Sub(t0), want.Sub(t0))
		}
	}
}

func TestWatchInterval(t *testing.T) {
	h := newHarness(t, nil)
	for _, name := range []string{"xweather", "openmeteo"} {
		if err := h.s.Add(&fakePoller{name: name}, 10*time.Minute, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	h.s.Start()
	h.waitRun()
	h.waitRun()
	h.due(10*time.Minute, "xweather", "openmeteo")

	if err := h.s.SetWatch(true); err != nil {
		t.Fatal(err)
	}
	wantNextRun(t, h.s, "xweather", t0.Add(time.Minute))
	wantNextRun(t, h.s, "openmeteo", t0.Add(time.Minute))
	for i := 1; i <= 3; i++ {
		h.step(time.Minute, "xweather", "openmeteo")
		for range 2 {
			if r := h.waitRun(); !r.polled || !r.at.Equal(t0.Add(time.Duration(i)*time.Minute)) {
				t.Fatalf("watch run = %+v, want a poll at %dm", r, i)
			}
		}
	}

	// Let gocron finish rescheduling the 3m runs before the switch.
	h.due(time.Minute, "xweather", "openmeteo")
	if err := h.s.SetWatch(false); err != nil {
		t.Fatal(err)
	}
	wantNextRun(t, h.s, "xweather", t0.Add(13*time.Minute))
	h.step(10*time.Minute, "xweather", "openmeteo")
	for range 2 {
		if r := h.waitRun(); !r.at.Equal(t0.Add(13 * time.Minute)) {
			t.Fatalf("back to normal: run at %v, want 13m", r.at.Sub(t0))
		}
	}
}

func TestJitterSpreadsRuns(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Jitter = DefaultJitter })
	names := []string{"a", "b", "c", "d", "e", "f", "g", "h"}
	for _, name := range names {
		if err := h.s.Add(&fakePoller{name: name}, 10*time.Minute, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	h.s.Start()
	for range names {
		h.waitRun()
	}
	seen := map[time.Time]bool{}
	for _, name := range names {
		next := h.scheduled(name)
		if d := next.Sub(t0); d < 9*time.Minute || d > 11*time.Minute {
			t.Errorf("%s next run after %v, want 9m to 11m", name, d)
		}
		seen[next] = true
	}
	if len(seen) == 1 {
		t.Errorf("all %d sources due at the same moment despite jitter", len(names))
	}
}

func TestOptionsAndAddRejects(t *testing.T) {
	report := func(string, weather.Report, error) {}
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"no report callback", Options{}, "Report"},
		{"jitter too large", Options{Report: report, Jitter: 1}, "Jitter"},
		{"negative jitter", Options{Report: report, Jitter: -0.1}, "Jitter"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, want an error about %s", err, tc.want)
			}
		})
	}

	h := newHarness(t, nil)
	if err := h.s.Add(&fakePoller{name: "nws"}, 0, 0); err == nil {
		t.Error("Add accepted a zero interval")
	}
	if err := h.s.Add(&fakePoller{name: "nws"}, time.Minute, 0); err != nil {
		t.Fatal(err)
	}
	if err := h.s.Add(&fakePoller{name: "nws"}, time.Minute, 0); err == nil {
		t.Error("Add accepted a second source named nws")
	}
	if _, err := h.s.NextRun("owm"); err == nil {
		t.Error("NextRun of an unknown source gave no error")
	}
}
