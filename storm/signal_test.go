package storm

import (
	"strings"
	"testing"
	"time"
)

func TestContextSignal(t *testing.T) {
	tests := []struct {
		name     string
		triggers []string
		// wantShutdown is whether the warning starts a countdown.
		wantShutdown bool
	}{
		{"context only arms the watch by default", nil, false},
		{"context source named in ContextTriggers", []string{"nws"}, true},
		{"another context source named", []string{"owm"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEngine(t, func(c *Config) { c.ContextTriggers = tc.triggers }, blitz, nws)
			e.Observe(at("19:40:00"), quiet("blitzortung", at("19:40:00")))
			acts := e.Observe(at("19:45:00"), thunder("nws", "Severe Thunderstorm Warning", at("19:45:00"), at("20:15:00")))
			sd := only[Shutdown](acts)
			if got := len(sd) == 1; got != tc.wantShutdown || len(sd) > 1 {
				t.Fatalf("shutdowns = %v, want shutdown %v", sd, tc.wantShutdown)
			}
			if tc.wantShutdown {
				wantPhase(t, e, PhaseCountdown)
				want := "Severe Thunderstorm Warning (nws) at 19:45Z; powering down at 19:50Z unless cancelled on CANCEL"
				if sd[0].Reason != want {
					t.Errorf("reason %q, want %q", sd[0].Reason, want)
				}
				// The same warning polled again starts nothing new.
				wantShutdowns(t, e.Observe(at("19:50:00"), thunder("nws", "Severe Thunderstorm Warning", at("19:50:00"), at("20:15:00"))), 0)
				return
			}
			wantPhase(t, e, PhaseWatch)
			if w := eventsOf(acts, EventWatch); len(w) != 1 || !strings.Contains(w[0], "Severe Thunderstorm Warning") {
				t.Errorf("watch events = %v, want one naming the warning", w)
			}
			// A strike inside the radius from a trigger source still triggers.
			wantShutdowns(t, e.Observe(at("19:46:00"), hit("blitzortung", 10, at("19:46:00"))), 1)
		})
	}
}

func TestContextStrikeOnlyArmsWatch(t *testing.T) {
	e := newEngine(t, nil, blitz, nws)
	wantShutdowns(t, e.Observe(at("19:45:00"), hit("nws", 3, at("19:45:00"))), 0)
	wantPhase(t, e, PhaseWatch)
}

func TestWatchEnds(t *testing.T) {
	tests := []struct {
		name string
		feed func(e *Engine)
		// last is the latest moment the watch may still be on.
		last time.Time
	}{
		{"strike inside the watch radius", func(e *Engine) {
			e.Observe(at("19:45:00"), hit("blitzortung", 30, at("19:45:00")))
		}, at("20:14:59")},
		{"warning with an end time", func(e *Engine) {
			e.Observe(at("19:45:00"), thunder("nws", "Severe Thunderstorm Watch", at("19:45:00"), at("20:20:00")))
		}, at("20:49:59")},
		{"forecast code without an end time", func(e *Engine) {
			e.Observe(at("19:45:00"), thunder("nws", "weather code 95", at("19:45:00"), time.Time{}))
		}, at("20:14:59")},
		{"warning withdrawn by the next poll", func(e *Engine) {
			e.Observe(at("19:45:00"), thunder("nws", "Severe Thunderstorm Watch", at("19:45:00"), at("21:00:00")))
			e.Observe(at("19:50:00"), quiet("nws", at("19:50:00")))
		}, at("20:19:59")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEngine(t, nil, blitz, nws)
			keepAlive(e, "blitzortung", at("19:40:00"), at("19:45:00"))
			tc.feed(e)
			wantPhase(t, e, PhaseWatch)
			keepAlive(e, "blitzortung", at("19:46:00"), tc.last)
			e.Tick(tc.last)
			wantPhase(t, e, PhaseWatch)
			acts := e.Tick(tc.last.Add(time.Second))
			wantPhase(t, e, PhaseClear)
			if len(only[AllClear](acts)) != 0 {
				t.Errorf("a watch that never triggered announced an all clear: %v", acts)
			}
		})
	}
}

func TestExactRadiusNotInside(t *testing.T) {
	tests := []struct {
		name      string
		km        float64
		wantPhase Phase
	}{
		{"exactly the shutdown radius", 16.0, PhaseWatch},
		{"just inside the shutdown radius", 15.999, PhaseCountdown},
		{"exactly the watch radius", 40.0, PhaseClear},
		{"just inside the watch radius", 39.999, PhaseWatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEngine(t, nil, blitz)
			e.Observe(at("19:45:00"), hit("blitzortung", tc.km, at("19:45:00")))
			wantPhase(t, e, tc.wantPhase)
		})
	}
}

func TestStaleStrikeIgnored(t *testing.T) {
	e := newEngine(t, nil, blitz)
	// A strike from 31 minutes ago, say from a replay after a reconnect, is over.
	wantShutdowns(t, e.Observe(at("20:00:00"), hit("blitzortung", 5, at("19:29:00"))), 0)
	wantPhase(t, e, PhaseClear)
}
