package storm

import (
	"fmt"
	"sort"
	"strings"

	"github.com/stormguard/stormguard/weather"
)

// next says what the current phase waits for and what ends it, in one
// sentence for the state. It depends only on the state, not on the time,
// so it changes only when the state does.
func (e *Engine) next() string {
	st := &e.st
	in, watch := e.cfg.ShutdownRadiusKM, e.cfg.WatchRadiusKM
	var b strings.Builder
	switch st.Phase {
	case PhaseClear:
		fmt.Fprintf(&b, "waiting for lightning: inside %.0f km a trigger source starts a countdown, inside %.0f km (or a thunderstorm signal) a watch", in, watch)
	case PhaseWatch:
		end := latest(st.LastWatch, st.SeeingSince).Add(e.cfg.AllClear)
		if st.Countdowns > 0 {
			end = latest(st.LastThreat, st.SeeingSince).Add(e.cfg.AllClear)
			fmt.Fprintf(&b, "countdown cancelled by %s; all clear at %s if no lightning comes inside %.0f km", orElse(st.CancelledBy, "a CANCEL"), clock(end), in)
			if !st.HoldUntil.IsZero() {
				fmt.Fprintf(&b, "; until %s only lightning closer than %.1f km starts a new countdown, after that any inside %.0f km", clock(st.HoldUntil), st.HoldNearestKM, in)
			} else {
				fmt.Fprintf(&b, "; lightning inside %.0f km starts a new countdown", in)
			}
		} else {
			fmt.Fprintf(&b, "watching: lightning inside %.0f km from a trigger source starts a countdown; the watch ends at %s if none comes inside %.0f km", in, clock(end), watch)
		}
	case PhaseCountdown:
		fmt.Fprintf(&b, "counting down: hosts power down at %s unless cancelled on %s", clock(st.Deadline), e.cfg.CancelTopic)
	case PhaseShutdown:
		fmt.Fprintf(&b, "hosts powering down since %s; all clear at %s if no lightning comes inside %.0f km; lightning inside after that is a new storm with a new countdown",
			clock(st.Deadline), clock(latest(st.LastThreat, st.SeeingSince).Add(e.cfg.AllClear)), in)
	case PhaseAllClear:
		fmt.Fprintf(&b, "all clear since %s: hosts may be switched on; lightning inside %.0f km starts a new storm", clock(st.Since), watch)
	}
	if c := st.Cells; len(c) > 0 && !c[0].Arrival.IsZero() && (st.Phase == PhaseClear || st.Phase == PhaseWatch) {
		fmt.Fprintf(&b, "; tracking storm cell %.0f km %s moving %s at %.0f km/h, lightning expected inside %.0f km at %s",
			c[0].DistanceKM, weather.Compass(c[0].BearingDeg), weather.Compass(c[0].HeadingDeg), c[0].SpeedKMH, in, clock(c[0].Arrival))
		if e.cfg.Predict {
			fmt.Fprintf(&b, ": a countdown starts by %s", clock(c[0].CountdownAt))
		}
	}
	if st.Doubted != "" && (st.Phase == PhaseClear || st.Phase == PhaseWatch) {
		fmt.Fprintf(&b, "; %s: it starts a countdown if another strike confirms it by %s", st.Doubted, clock(e.clockTime(e.stormTime(st.DoubtedAt).Add(e.cfg.Track.LoneWindow))))
	}
	if len(st.Signals) > 0 {
		var names []string
		for name := range st.Signals {
			names = append(names, name)
		}
		sort.Strings(names)
		fmt.Fprintf(&b, "; a thunderstorm signal from %s keeps the storm going while it lasts", strings.Join(names, ", "))
	}
	if st.ClearHeld {
		b.WriteString("; due but held: " + st.BlindText)
	} else if st.Blind {
		b.WriteString("; " + st.BlindText)
	}
	return b.String()
}
