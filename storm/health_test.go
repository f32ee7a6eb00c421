package storm

import (
	"strings"
	"testing"
	"time"

	"github.com/stormguard/stormguard/weather"
)

func TestSourceStatus(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
		feed func(e *Engine)
		tick string
		want Status
	}{
		{"new source not yet silent", nil, func(e *Engine) {}, "19:09:59", StatusUnknown},
		{"new source never reporting goes silent", nil, func(e *Engine) {}, "19:10:00", StatusSilent},
		{"reporting source is ok", nil, func(e *Engine) {
			e.Observe(at("19:30:00"), quiet("xweather", at("19:30:00")))
		}, "19:39:59", StatusOK},
		{"quiet for SilentAfter is silent", nil, func(e *Engine) {
			e.Observe(at("19:30:00"), quiet("xweather", at("19:30:00")))
		}, "19:40:00", StatusSilent},
		{"per-source silence limit", func(c *Config) {
			c.SilentAfterBySource = map[string]time.Duration{"xweather": 30 * time.Minute}
		}, func(e *Engine) {
			e.Observe(at("19:30:00"), quiet("xweather", at("19:30:00")))
		}, "19:45:00", StatusOK},
		{"errors are a sign of life, not silence", nil, func(e *Engine) {
			e.Observe(at("19:30:00"), quiet("xweather", at("19:30:00")))
			e.SourceFailed(at("19:38:00"), "xweather", weather.Trigger, errHTTP)
		}, "19:45:00", StatusOK},
		{"FailAfter errors in a row is failing", nil, func(e *Engine) {
			e.Observe(at("19:30:00"), quiet("xweather", at("19:30:00")))
			for _, m := range []string{"19:31:00", "19:32:00", "19:33:00"} {
				e.SourceFailed(at(m), "xweather", weather.Trigger, errHTTP)
			}
		}, "19:34:00", StatusFailing},
		{"a report ends the failures", nil, func(e *Engine) {
			for _, m := range []string{"19:31:00", "19:32:00", "19:33:00"} {
				e.SourceFailed(at(m), "xweather", weather.Trigger, errHTTP)
			}
			e.Observe(at("19:34:00"), quiet("xweather", at("19:34:00")))
		}, "19:35:00", StatusOK},
		{"source says it cannot see", nil, func(e *Engine) {
			e.Observe(at("19:30:00"), weather.Report{Source: "xweather", Blind: true, Detail: "power mode 3"})
		}, "19:31:00", StatusBlind},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEngine(t, tc.mod, xw)
			tc.feed(e)
			e.Tick(at(tc.tick))
			if got := e.State().Sources["xweather"].Status; got != tc.want {
				t.Errorf("status = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestSilentSourceWarns(t *testing.T) {
	e := newEngine(t, nil, xw, blitz)
	keepAlive(e, "blitzortung", at("19:00:00"), at("19:20:00"))
	e.Observe(at("19:05:00"), quiet("xweather", at("19:05:00")))
	acts := e.Tick(at("19:15:00"))
	warn := eventsOf(acts, EventWarn)
	if len(warn) != 1 || !strings.Contains(warn[0], "xweather silent") {
		t.Fatalf("warnings = %v, want one saying xweather is silent", warn)
	}
	if e.State().Blind {
		t.Error("blind although blitzortung still reports")
	}
	if acts := e.Tick(at("19:15:30")); len(eventsOf(acts, EventWarn)) != 0 {
		t.Errorf("silence warned twice: %v", acts)
	}
}

// TestBlindHoldsAllClear: a failed source is never a clear sky.
func TestBlindHoldsAllClear(t *testing.T) {
	e := countdownAt9(t, nil)
	keepAlive(e, "blitzortung", at("19:59:00"), at("20:20:00"))
	var acts []Action
	for _, m := range []string{"20:20:00", "20:21:00", "20:22:00"} {
		acts = append(acts, e.SourceFailed(at(m), "blitzortung", weather.Trigger, errHTTP)...)
	}
	st := e.State()
	if !st.Blind || !strings.Contains(st.BlindText, "BLIND") || !strings.Contains(st.BlindText, "http 503") {
		t.Fatalf("blind = %v text %q, want a loud text naming the error", st.Blind, st.BlindText)
	}
	if w := eventsOf(acts, EventWarn); len(w) < 2 {
		t.Errorf("warnings = %v, want the failing source and the blindness", w)
	}
	acts = e.Tick(at("20:40:00"))
	if len(only[AllClear](acts)) != 0 {
		t.Fatalf("all clear while blind: %v", acts)
	}
	if w := eventsOf(acts, EventWarn); !strings.Contains(strings.Join(w, "\n"), "all clear held: BLIND") {
		t.Errorf("warnings = %v, want one saying the all clear is held", w)
	}
	if w := eventsOf(e.Tick(at("20:41:00")), EventWarn); len(w) != 0 {
		t.Errorf("held all clear warned again: %v", w)
	}
	wantPhase(t, e, PhaseShutdown)

	// Sight returns at 20:45: the all clear counts from then.
	e.Observe(at("20:45:00"), quiet("blitzortung", at("20:45:00")))
	if st := e.State(); st.Blind || !st.AllClearAt.Equal(at("21:15:00")) {
		t.Fatalf("after recovery blind=%v AllClearAt=%v, want seeing and 21:15", st.Blind, st.AllClearAt)
	}
	keepAlive(e, "blitzortung", at("20:46:00"), at("21:15:00"))
	wantPhase(t, e, PhaseShutdown)
	if len(only[AllClear](e.Tick(at("21:15:00")))) != 1 {
		t.Fatal("no all clear 30 min after sight returned")
	}
}

func TestBlindPolicy(t *testing.T) {
	tests := []struct {
		name   string
		policy BlindPolicy
		want   int
	}{
		{"hold", BlindHold, 0},
		{"shutdown", BlindShutdown, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEngine(t, func(c *Config) { c.BlindPolicy = tc.policy }, blitz, xw, nws)
			for _, src := range []string{"blitzortung", "xweather", "nws"} {
				keepAlive(e, src, at("19:00:00"), at("19:10:00"))
			}
			var acts []Action
			for _, m := range []string{"19:10:00", "19:11:00", "19:12:00"} {
				acts = append(acts, e.Observe(at(m), quiet("nws", at(m)))...)
				acts = append(acts, e.Observe(at(m), weather.Report{Source: "blitzortung", Blind: true, Detail: "offline"})...)
				acts = append(acts, e.SourceFailed(at(m), "xweather", weather.Trigger, errHTTP)...)
			}
			// A context source still reporting does not make the engine see.
			if !e.State().Blind {
				t.Fatal("not blind with every trigger source blind or failing")
			}
			sd := wantShutdowns(t, acts, tc.want)
			if tc.want == 0 {
				wantPhase(t, e, PhaseClear)
				return
			}
			if !strings.Contains(sd[0].Reason, "no lightning source can see") {
				t.Errorf("reason %q does not say why", sd[0].Reason)
			}
			// Blindness going on starts no second countdown.
			wantShutdowns(t, e.Tick(at("19:20:00")), 0)
		})
	}
}

func TestNoTriggerSourceIsBlind(t *testing.T) {
	e := newEngine(t, nil, nws)
	acts := e.Tick(at("19:00:01"))
	if !e.State().Blind {
		t.Fatal("engine with only context sources is not blind")
	}
	if w := eventsOf(acts, EventWarn); len(w) != 1 || !strings.Contains(w[0], "no trigger-capable") {
		t.Errorf("warnings = %v", w)
	}
	// A context source named in ContextTriggers can see.
	e = newEngine(t, func(c *Config) { c.ContextTriggers = []string{"nws"} }, nws)
	e.Tick(at("19:00:01"))
	if e.State().Blind {
		t.Error("blind although nws may trigger")
	}
}

func TestUnregisteredReportIgnored(t *testing.T) {
	e := newEngine(t, nil, blitz)
	acts := e.Observe(at("19:30:00"), hit("mystery", 2, at("19:30:00")))
	wantShutdowns(t, acts, 0)
	if len(eventsOf(acts, EventWarn)) != 1 {
		t.Errorf("no warning for an unregistered source: %v", acts)
	}
}
