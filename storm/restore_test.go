package storm

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// restart saves e's state as JSON and resumes it in a new engine started at now.
func restart(t *testing.T, e *Engine, now time.Time) *Engine {
	t.Helper()
	b, err := json.Marshal(e.State())
	if err != nil {
		t.Fatalf("encode state: %v", err)
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatalf("decode state: %v", err)
	}
	e2, err := NewEngine(DefaultConfig(), now)
	if err != nil {
		t.Fatal(err)
	}
	e2.Register(blitz.name, blitz.kind, blitz.live)
	if err := e2.Restore(st); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	return e2
}

func TestRestoreMidCountdown(t *testing.T) {
	e := countdownAt9(t, nil)
	deadline := e.State().Deadline
	id := e.State().StormID

	e2 := restart(t, e, at("19:59:00"))
	wantPhase(t, e2, PhaseCountdown)
	// The storm goes on after the restart: closer strikes, no second SHUTDOWN.
	var acts []Action
	for _, m := range []string{"19:59:00", "19:59:30", "20:00:00"} {
		acts = append(acts, e2.Observe(at(m), hit("blitzortung", 3, at(m)))...)
	}
	acts = append(acts, e2.Tick(deadline.Add(-time.Nanosecond))...)
	wantShutdowns(t, acts, 0)
	wantPhase(t, e2, PhaseCountdown)

	acts = e2.Tick(deadline)
	wantPhase(t, e2, PhaseShutdown)
	if w := eventsOf(acts, EventWatch); len(w) != 1 || !strings.Contains(w[0], "20:03Z reached") {
		t.Errorf("deadline events = %v, want one at 20:03Z", w)
	}
	if got := e2.State().StormID; got != id {
		t.Errorf("storm id %s after restart, want %s", got, id)
	}
}

func TestRestoreKeepsTimers(t *testing.T) {
	e := countdownAt9(t, nil)
	keepAlive(e, "blitzortung", at("19:59:00"), at("20:10:00"))
	e.Cancel(at("20:00:00"), "alice")
	e.Observe(at("20:10:00"), hit("blitzortung", 12, at("20:10:00")))

	e2 := restart(t, e, at("20:11:00"))
	st := e2.State()
	if !st.HoldUntil.Equal(at("20:30:00")) || st.HoldNearestKM != 9.2 {
		t.Errorf("hold after restore = %v / %v km, want 20:30 / 9.2 km", st.HoldUntil, st.HoldNearestKM)
	}
	if !st.AllClearAt.Equal(at("20:40:00")) {
		t.Errorf("AllClearAt after restore = %v, want 20:40", st.AllClearAt)
	}
	// The hold survives the restart...
	wantShutdowns(t, e2.Observe(at("20:12:00"), hit("blitzortung", 12, at("20:12:00"))), 0)
	// ...and so does the all-clear timer, restarted by the 20:12 strike.
	keepAlive(e2, "blitzortung", at("20:13:00"), at("20:42:00"))
	if n := len(only[AllClear](e2.Tick(at("20:42:00")))); n != 1 {
		t.Fatalf("%d all clears at 20:42, want 1", n)
	}
}

func TestRestoreRejects(t *testing.T) {
	tests := []struct {
		name string
		st   State
		want string
	}{
		{"unknown phase", State{Phase: "panic", StormID: "s"}, "phase"},
		{"countdown without deadline", State{Phase: PhaseCountdown, StormID: "s"}, "deadline"},
		{"storm without id", State{Phase: PhaseWatch}, "storm id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEngine(t, nil, blitz)
			err := e.Restore(tc.st)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Restore = %v, want an error about %s", err, tc.want)
			}
			wantPhase(t, e, PhaseClear)
		})
	}
}

func TestStateJSON(t *testing.T) {
	e := countdownAt9(t, nil)
	b, err := json.Marshal(e.State())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"phase":"countdown"`, `"deadline":"2026-07-15T20:03:00Z"`,
		`"trend":"unknown"`, `"status":"ok"`, `"distance_km":9.2`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("state JSON lacks %s: %s", want, b)
		}
	}
}
