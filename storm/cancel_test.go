package storm

import (
	"strings"
	"testing"
	"time"
)

// countdownAt9 puts an engine into a countdown from a 9.2 km strike at
// 19:58, with the feed alive until then.
func countdownAt9(t *testing.T, mod func(*Config)) *Engine {
	t.Helper()
	e := newEngine(t, mod, blitz)
	keepAlive(e, "blitzortung", at("19:50:00"), at("19:58:00"))
	wantShutdowns(t, e.Observe(at("19:58:00"), hit("blitzortung", 9.2, at("19:58:00"))), 1)
	wantPhase(t, e, PhaseCountdown)
	return e
}

func TestCancelHold(t *testing.T) {
	tests := []struct {
		name string
		km   float64
		when string
		// want is the number of SHUTDOWNs the strike after the cancel causes.
		want int
	}{
		{"farther strike inside the radius during the hold", 12, "20:10:00", 0},
		{"strike as near as when cancelled", 9.2, "20:10:00", 0},
		{"closer strike during the hold", 5, "20:10:00", 1},
		{"farther strike once the hold expired", 12, "20:30:00", 1},
		{"strike outside the radius after the hold", 20, "20:30:00", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := countdownAt9(t, nil)
			acts := e.Cancel(at("20:00:00"), "alice")
			c := only[Cancelled](acts)
			if len(c) != 1 {
				t.Fatalf("Cancel actions = %v, want one Cancelled", acts)
			}
			if got, want := c[0].HoldUntil, at("20:30:00"); !got.Equal(want) {
				t.Errorf("HoldUntil = %v, want %v", got, want)
			}
			if !strings.Contains(c[0].Reason, "cancelled by alice") || !strings.Contains(c[0].Reason, "closer than 9.2 km") {
				t.Errorf("cancel text %q does not say who and how close", c[0].Reason)
			}
			wantPhase(t, e, PhaseWatch)
			// The old deadline passing must not move the phase to shutdown.
			keepAlive(e, "blitzortung", at("20:00:00"), at("20:05:00"))
			wantPhase(t, e, PhaseWatch)
			// Lightning inside but not closer keeps the storm going and starts nothing.
			wantShutdowns(t, e.Observe(at("20:05:00"), hit("blitzortung", 14, at("20:05:00"))), 0)
			keepAlive(e, "blitzortung", at("20:06:00"), at(tc.when))
			wantPhase(t, e, PhaseWatch)

			acts = e.Observe(at(tc.when), hit("blitzortung", tc.km, at(tc.when)))
			sd := wantShutdowns(t, acts, tc.want)
			if tc.want == 0 {
				wantPhase(t, e, PhaseWatch)
				return
			}
			wantPhase(t, e, PhaseCountdown)
			if sd[0].Countdown != 2 || sd[0].ID() == "" || sd[0].StormID != e.State().StormID {
				t.Errorf("second countdown = %+v, want countdown 2 of the same storm", sd[0])
			}
			if want := at(tc.when).Add(5 * time.Minute); !sd[0].Deadline.Equal(want) {
				t.Errorf("deadline = %v, want %v", sd[0].Deadline, want)
			}
		})
	}
}

func TestCancelIDsDiffer(t *testing.T) {
	e := countdownAt9(t, nil)
	first := e.State().StormID + "-1"
	e.Cancel(at("19:59:00"), "bob")
	sd := wantShutdowns(t, e.Observe(at("19:59:30"), hit("blitzortung", 3, at("19:59:30"))), 1)
	if sd[0].ID() == first {
		t.Errorf("re-trigger reuses command id %s", first)
	}
	// No third SHUTDOWN while the second countdown runs.
	wantShutdowns(t, e.Observe(at("20:00:00"), hit("blitzortung", 1, at("20:00:00"))), 0)
}

func TestCancelWithoutCountdown(t *testing.T) {
	e := newEngine(t, nil, blitz)
	e.Observe(at("19:50:00"), hit("blitzortung", 30, at("19:50:00")))
	acts := e.Cancel(at("19:51:00"), "carol")
	if len(only[Cancelled](acts)) != 0 {
		t.Fatalf("cancel on watch produced %v", acts)
	}
	if len(eventsOf(acts, EventInfo)) != 1 {
		t.Errorf("cancel on watch: want one info event saying nothing ran, got %v", acts)
	}
	// Nothing is held: a strike inside still triggers.
	wantShutdowns(t, e.Observe(at("19:52:00"), hit("blitzortung", 10, at("19:52:00"))), 1)
}

func TestCancelAfterDeadline(t *testing.T) {
	e := countdownAt9(t, nil)
	e.Tick(at("20:03:00"))
	wantPhase(t, e, PhaseShutdown)
	if got := only[Cancelled](e.Cancel(at("20:04:00"), "dave")); len(got) != 1 {
		t.Fatalf("cancel in shutdown: %v, want Cancelled", got)
	}
	wantPhase(t, e, PhaseWatch)
}

func TestCancelledStormAllClear(t *testing.T) {
	e := countdownAt9(t, nil)
	e.Cancel(at("19:59:00"), "erin")
	// A strike inside but not closer keeps the storm going without a SHUTDOWN.
	wantShutdowns(t, e.Observe(at("20:05:00"), hit("blitzortung", 14, at("20:05:00"))), 0)
	acts := keepAlive(e, "blitzortung", at("20:06:00"), at("20:35:00"))
	if n := len(only[AllClear](acts)); n != 0 {
		t.Fatalf("all clear before 20:35 (last strike inside at 20:05): %v", acts)
	}
	acts = e.Tick(at("20:35:00"))
	if n := len(only[AllClear](acts)); n != 1 {
		t.Fatalf("Tick(20:35) = %v, want an all clear", acts)
	}
	wantPhase(t, e, PhaseAllClear)
	if st := e.State(); !st.HoldUntil.IsZero() {
		t.Errorf("hold survives the all clear: %v", st.HoldUntil)
	}
}

func TestNewStormAfterAllClear(t *testing.T) {
	e := countdownAt9(t, nil)
	first := e.State().StormID
	keepAlive(e, "blitzortung", at("19:59:00"), at("20:28:00"))
	if n := len(only[AllClear](e.Tick(at("20:28:00")))); n != 1 {
		t.Fatal("no all clear at 20:28")
	}
	wantPhase(t, e, PhaseAllClear)
	acts := e.Observe(at("20:40:00"), hit("blitzortung", 8, at("20:40:00")))
	sd := wantShutdowns(t, acts, 1)
	if sd[0].StormID == first || sd[0].Countdown != 1 {
		t.Errorf("new storm SHUTDOWN %+v, want a new storm id (old %s), countdown 1", sd[0], first)
	}
	// Left alone, the all clear gives way to clear after another AllClear.
	e2 := countdownAt9(t, nil)
	keepAlive(e2, "blitzortung", at("19:59:00"), at("20:28:00"))
	e2.Tick(at("20:28:00"))
	keepAlive(e2, "blitzortung", at("20:29:00"), at("20:58:00"))
	wantPhase(t, e2, PhaseAllClear)
	e2.Tick(at("20:58:00"))
	wantPhase(t, e2, PhaseClear)
	if st := e2.State(); st.StormID != "" || st.Nearest != nil || len(st.Recent) != 0 {
		t.Errorf("clear state keeps the old storm: %+v", st)
	}
}
