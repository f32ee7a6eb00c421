package storm

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stormguard/stormguard/weather"
)

// link is an event feed's news about its connection.
func link(src string, l weather.Link, detail string) weather.Report {
	return weather.Report{Source: src, Link: l, Detail: detail}
}

// ticks calls Tick every minute from..to (exclusive) and returns every action.
func ticks(e *Engine, from, to time.Time) []Action {
	var out []Action
	for t := from; t.Before(to); t = t.Add(time.Minute) {
		out = append(out, e.Tick(t)...)
	}
	return out
}

// TestFeedQuietAfterStormIsNotBlind is the first report of the issue: a
// strike feed carries strikes only near the site, so once a storm dies out
// nearby it says nothing. It is connected, so it still sees: the all clear
// comes 30 minutes after the last strike, and the next storm, days later,
// gets its own countdown.
func TestFeedQuietAfterStormIsNotBlind(t *testing.T) {
	e := newEngine(t, nil, feed)
	e.Observe(at("19:00:01"), link("strikes", weather.LinkUp, "connected"))
	acts := ticks(e, at("19:01:00"), at("21:00:00"))
	if st := e.State(); st.Blind || st.Sources["strikes"].Status != StatusOK {
		t.Fatalf("after two quiet hours: blind %v, feed %s; want a connected, quiet feed to see", st.Blind, st.Sources["strikes"].Status)
	}
	if w := eventsOf(acts, EventWarn); len(w) != 0 {
		t.Errorf("warnings in fair weather: %v", w)
	}

	wantShutdowns(t, e.Observe(at("21:00:00"), hit("strikes", 9, at("21:00:00"))), 1)
	acts = ticks(e, at("21:01:00"), at("21:31:00"))
	wantPhase(t, e, PhaseAllClear)
	if len(only[AllClear](acts)) != 1 {
		t.Fatalf("no all clear 30 minutes after the only strike: %v", acts)
	}
	ticks(e, at("21:31:00"), at("22:10:00"))
	wantPhase(t, e, PhaseClear)

	later := at("21:00:00").Add(72 * time.Hour)
	ticks(e, at("22:10:00"), at("22:20:00"))
	e.Tick(later.Add(-time.Minute))
	sd := wantShutdowns(t, e.Observe(later, hit("strikes", 12, later)), 1)
	if sd[0].Countdown != 1 || !strings.HasPrefix(sd[0].StormID, "storm-20260718") {
		t.Errorf("second storm's SHUTDOWN %+v, want the first countdown of a storm of July 18", sd[0])
	}
}

// TestFeedLinkIsItsHealth: a feed that never connects is silent after
// SilentAfter; a lost connection is down and blind at once, with the cause;
// the connection back makes it see again.
func TestFeedLinkIsItsHealth(t *testing.T) {
	e := newEngine(t, nil, feed)
	e.Tick(at("19:09:59"))
	if st := e.State(); st.Blind || st.Sources["strikes"].Status != StatusUnknown {
		t.Fatalf("before SilentAfter: blind %v, %s; want unknown and seeing", st.Blind, st.Sources["strikes"].Status)
	}
	acts := e.Tick(at("19:10:00"))
	if st := e.State(); !st.Blind || st.Sources["strikes"].Status != StatusSilent {
		t.Fatalf("never connected after SilentAfter: blind %v, %s; want silent and blind", st.Blind, st.Sources["strikes"].Status)
	}
	if w := eventsOf(acts, EventWarn); len(w) == 0 || !strings.Contains(w[0], "not connected in the 10m0s since the start") {
		t.Errorf("warnings %v do not say the feed never connected", w)
	}

	e.Observe(at("19:11:00"), link("strikes", weather.LinkUp, "connected"))
	if st := e.State(); st.Blind || st.Sources["strikes"].Status != StatusOK {
		t.Fatalf("connected: blind %v, %s", st.Blind, st.Sources["strikes"].Status)
	}
	acts = e.Observe(at("20:00:00"), link("strikes", weather.LinkDown, "connection lost: EOF"))
	st := e.State()
	if !st.Blind || st.Sources["strikes"].Status != StatusDown || !strings.Contains(st.BlindText, "strikes down: connection lost: EOF") {
		t.Fatalf("connection lost: blind %v, %s, %q", st.Blind, st.Sources["strikes"].Status, st.BlindText)
	}
	if w := eventsOf(acts, EventWarn); len(w) < 1 || !strings.Contains(w[0], "source strikes down: connection lost: EOF") {
		t.Errorf("warnings %v", w)
	}
	e.Observe(at("20:00:05"), link("strikes", weather.LinkUp, "connected"))
	if st := e.State(); st.Blind || st.Sources["strikes"].Status != StatusOK || !st.SeeingSince.Equal(at("20:00:05")) {
		t.Fatalf("back: blind %v, %s, seeing since %v", st.Blind, st.Sources["strikes"].Status, st.SeeingSince)
	}
}

// TestFeedLinkForgottenOnRestart: the link belongs to the process that had
// it, so after a restart the feed is unknown until it connects again.
func TestFeedLinkForgottenOnRestart(t *testing.T) {
	e := newEngine(t, nil, feed)
	e.Observe(at("19:00:01"), link("strikes", weather.LinkUp, "connected"))
	e2, err := NewEngine(DefaultConfig(), at("19:30:00"))
	if err != nil {
		t.Fatal(err)
	}
	e2.Register(feed.name, feed.kind, feed.live)
	if err := e2.Restore(e.State()); err != nil {
		t.Fatal(err)
	}
	e2.Tick(at("19:39:00"))
	if h := e2.State().Sources["strikes"]; h.Status != StatusUnknown || h.Link != "" {
		t.Errorf("after restart: %s, link %q; want unknown until it connects", h.Status, h.Link)
	}
	e2.Tick(at("19:40:00"))
	if h := e2.State().Sources["strikes"]; h.Status != StatusSilent {
		t.Errorf("after restart and SilentAfter without a connection: %s, want silent", h.Status)
	}
}

// TestNoPhaseStuck: whatever happened before, a strike inside the radius
// after the last deadline, once the storm it belonged to would have been
// over, starts a new countdown.
func TestNoPhaseStuck(t *testing.T) {
	day2 := at("19:58:00").Add(24 * time.Hour)
	tests := []struct {
		name string
		// before leaves the engine at a moment after the first storm's
		// deadline; the strike comes at day2.
		before func(t *testing.T, e *Engine) *Engine
	}{
		{"all clear held by a feed outage that ended", func(t *testing.T, e *Engine) *Engine {
			e.Observe(at("20:10:00"), link("strikes", weather.LinkDown, "connection lost: EOF"))
			ticks(e, at("20:10:00"), at("21:00:00"))
			if st := e.State(); !st.ClearHeld || st.Phase != PhaseShutdown {
				t.Fatalf("outage: phase %s, held %v; want the all clear held", st.Phase, st.ClearHeld)
			}
			e.Observe(day2.Add(-time.Minute), link("strikes", weather.LinkUp, "connected"))
			return e
		}},
		{"all clear held by an outage still going when the strike comes", func(t *testing.T, e *Engine) *Engine {
			e.Observe(at("20:10:00"), link("strikes", weather.LinkDown, "connection lost: EOF"))
			ticks(e, at("20:10:00"), at("21:00:00"))
			return e
		}},
		{"cancelled, then held by an outage", func(t *testing.T, e *Engine) *Engine {
			e.Cancel(at("20:01:00"), "alice")
			e.Observe(at("20:10:00"), link("strikes", weather.LinkDown, "connection lost: EOF"))
			ticks(e, at("20:10:00"), at("21:00:00"))
			e.Observe(day2.Add(-time.Minute), link("strikes", weather.LinkUp, "connected"))
			return e
		}},
		{"restarted in phase shutdown, no connection since", func(t *testing.T, e *Engine) *Engine {
			ticks(e, at("20:00:00"), at("20:05:00"))
			wantPhase(t, e, PhaseShutdown)
			e2, err := NewEngine(DefaultConfig(), day2.Add(-time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			e2.Register(feed.name, feed.kind, feed.live)
			if err := e2.Restore(e.State()); err != nil {
				t.Fatal(err)
			}
			return e2
		}},
		{"restarted and blind for an hour before the strike", func(t *testing.T, e *Engine) *Engine {
			ticks(e, at("20:00:00"), at("20:05:00"))
			e2, err := NewEngine(DefaultConfig(), day2.Add(-2*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			e2.Register(feed.name, feed.kind, feed.live)
			if err := e2.Restore(e.State()); err != nil {
				t.Fatal(err)
			}
			ticks(e2, day2.Add(-2*time.Hour), day2)
			if !e2.State().Blind {
				t.Fatal("a feed that never connected after the restart did not make the engine blind")
			}
			return e2
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEngine(t, nil, feed)
			e.Observe(at("19:00:01"), link("strikes", weather.LinkUp, "connected"))
			wantShutdowns(t, e.Observe(at("19:58:00"), hit("strikes", 9, at("19:58:00"))), 1)
			first := e.State().StormID
			e = tc.before(t, e)
			held := e.State().Phase
			acts := e.Observe(day2, hit("strikes", 11, day2))
			sd := wantShutdowns(t, acts, 1)
			if sd[0].StormID == first || sd[0].Countdown != 1 {
				t.Errorf("SHUTDOWN %s, want the first countdown of a new storm (the old one was %s)", sd[0].ID(), first)
			}
			wantPhase(t, e, PhaseCountdown)
			if w := eventsOf(acts, EventWatch); (held == PhaseShutdown || held == PhaseWatch) && (len(w) == 0 || !strings.Contains(w[0], first+" is over")) {
				t.Errorf("phase was %s; events %v do not say the old storm is over", held, w)
			}
		})
	}
}

// TestShutdownStormGoingOnNoSecondCountdown: strikes that keep a storm
// going after its deadline start nothing, however long it lasts.
func TestShutdownStormGoingOnNoSecondCountdown(t *testing.T) {
	e := newEngine(t, nil, feed)
	e.Observe(at("19:00:01"), link("strikes", weather.LinkUp, "connected"))
	var acts []Action
	for m := at("19:58:00"); m.Before(at("23:00:00")); m = m.Add(20 * time.Minute) {
		acts = append(acts, e.Observe(m, hit("strikes", 9, m))...)
		acts = append(acts, ticks(e, m, m.Add(20*time.Minute))...)
	}
	wantShutdowns(t, acts, 1)
	wantPhase(t, e, PhaseShutdown)
}

// TestStrikeTimeWindow is the third report: strikes stamped in the future
// (the year 2100, the largest time) or older than the all clear are ignored
// and counted, and move no timer.
func TestStrikeTimeWindow(t *testing.T) {
	future := time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
	largest := time.Unix(0, math.MaxInt64)
	for _, tc := range []struct {
		name string
		when time.Time
		want string
	}{
		{"the year 2100", future, "ahead of now"},
		{"the largest time", largest, "ahead of now"},
		{"three minutes ahead", at("20:03:00"), "ahead of now"},
		{"older than the all clear", at("19:29:59"), "older than the 30m0s all clear"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEngine(t, nil, feed)
			e.Observe(at("19:00:01"), link("strikes", weather.LinkUp, "connected"))
			acts := e.Observe(at("20:00:00"), hit("strikes", 5, tc.when))
			wantShutdowns(t, acts, 0)
			wantPhase(t, e, PhaseClear)
			st := e.State()
			h := st.Sources["strikes"]
			if h.Ignored != 1 || !strings.Contains(h.LastIgnored, tc.want) {
				t.Errorf("ignored %d, last %q; want 1 and %q", h.Ignored, h.LastIgnored, tc.want)
			}
			if !st.AllClearAt.IsZero() || !st.LastWatch.IsZero() {
				t.Errorf("all clear at %v, last watch %v: the strike moved a timer", st.AllClearAt, st.LastWatch)
			}
			if w := eventsOf(acts, EventWarn); len(w) != 1 || !strings.Contains(w[0], "ignored (1 so far)") {
				t.Errorf("warnings %v", w)
			}
			if tc.name == "three minutes ahead" {
				return // it comes into the window as time goes on
			}
			// More are counted, with a warning again only once the all clear
			// has passed since the last one, however many come.
			acts = nil
			for m := at("20:00:30"); m.Before(at("20:40:00")); m = m.Add(time.Minute) {
				acts = append(acts, e.Observe(m, hit("strikes", 5, tc.when))...)
			}
			if n, w := e.State().Sources["strikes"].Ignored, eventsOf(acts, EventWarn); n != 41 || len(w) != 1 || !strings.Contains(w[0], "(32 so far)") {
				t.Errorf("over 40 minutes: ignored %d, warnings %v; want 41 and one warning, at the 32nd (20:30:30)", n, w)
			}
		})
	}
	// Inside the window, a little ahead and nearly the all clear old, count.
	for _, when := range []string{"20:01:59", "19:30:01"} {
		e := newEngine(t, nil, feed)
		wantShutdowns(t, e.Observe(at("20:00:00"), hit("strikes", 5, at(when))), 1)
	}
}

// TestRejectedMessagesCounted: a feed's rejected messages are counted and
// leave its health, and a sensor's word that it is blind, alone.
func TestRejectedMessagesCounted(t *testing.T) {
	e := newEngine(t, nil, feed)
	e.Observe(at("19:00:01"), link("strikes", weather.LinkUp, "connected"))
	e.Observe(at("19:01:00"), weather.Report{Source: "strikes", Blind: true, Detail: "sensor offline"})
	acts := e.Observe(at("19:02:00"), weather.Report{Source: "strikes", Rejected: 1, RejectedWhy: "a 5242880-byte message"})
	h := e.State().Sources["strikes"]
	if h.Ignored != 1 || h.Status != StatusBlind || !strings.Contains(h.LastIgnored, "5242880-byte") {
		t.Errorf("ignored %d (%q), status %s; want 1 and still blind", h.Ignored, h.LastIgnored, h.Status)
	}
	if w := eventsOf(acts, EventWarn); len(w) != 1 {
		t.Errorf("warnings %v", w)
	}
}

// TestNextExplainsEveryPhase: the state says what each phase waits for.
func TestNextExplainsEveryPhase(t *testing.T) {
	e := newEngine(t, nil, feed)
	e.Observe(at("19:00:01"), link("strikes", weather.LinkUp, "connected"))
	want := func(phase Phase, parts ...string) {
		t.Helper()
		st := e.State()
		if st.Phase != phase {
			t.Fatalf("phase %s, want %s", st.Phase, phase)
		}
		for _, p := range parts {
			if !strings.Contains(st.Next, p) {
				t.Errorf("%s: next %q lacks %q", phase, st.Next, p)
			}
		}
	}
	want(PhaseClear, "waiting for lightning", "inside 16 km")
	e.Observe(at("19:50:00"), hit("strikes", 30, at("19:50:00")))
	want(PhaseWatch, "watch ends at 20:20Z")
	e.Observe(at("19:58:00"), hit("strikes", 9, at("19:58:00")))
	want(PhaseCountdown, "power down at 20:03Z unless cancelled on CANCEL")
	e.Tick(at("20:03:00"))
	want(PhaseShutdown, "all clear at 20:28Z", "new storm")
	e.Observe(at("20:10:00"), link("strikes", weather.LinkDown, "connection lost: EOF"))
	e.Tick(at("20:28:00"))
	want(PhaseShutdown, "due but held: BLIND", "strikes down")
	e.Observe(at("20:29:00"), link("strikes", weather.LinkUp, "connected"))
	e.Tick(at("20:59:00"))
	want(PhaseAllClear, "all clear since 20:59Z")
}

// TestFloodOfBadStrikesCostsNoStateWrites: strikes stamped far in the
// future are ignored and counted; only the first of a flood marks the state
// changed (and warns), so a hostile feed cannot make stormguard write and
// publish its state once per strike.
func TestFloodOfBadStrikesCostsNoStateWrites(t *testing.T) {
	e := newEngine(t, nil, feed)
	e.Observe(at("19:00:01"), link("strikes", weather.LinkUp, "connected"))
	future := at("19:00:00").Add(100 * 365 * 24 * time.Hour)
	changes := 0
	for i := range 1000 {
		now := at("19:01:00").Add(time.Duration(i) * time.Millisecond)
		changes += len(only[StateChanged](e.Observe(now, hit("strikes", 5, future))))
	}
	if changes != 1 {
		t.Errorf("1000 future-stamped strikes marked the state changed %d times, want once", changes)
	}
	st := e.State()
	if st.Phase != PhaseClear || st.Sources["strikes"].Ignored != 1000 {
		t.Errorf("after the flood: phase %s, ignored %d; want clear and all 1000 counted", st.Phase, st.Sources["strikes"].Ignored)
	}
}
