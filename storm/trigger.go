package storm

import (
	"fmt"
	"time"

	"github.com/stormguard/stormguard/weather"
)

// noteStrike records a strike inside the watch radius, starting a storm
// when none is under way.
func (e *Engine) noteStrike(now time.Time, s Strike) {
	if e.st.Phase == PhaseClear || e.st.Phase == PhaseAllClear {
		e.newStorm(now)
		e.event(EventWatch, fmt.Sprintf("storm watch (%s): %s", e.st.StormID, describe(s)))
	}
	e.st.LastWatch = latest(e.st.LastWatch, s.Time)
	if e.st.Nearest == nil || s.DistanceKM < e.st.Nearest.DistanceKM {
		n := s
		e.st.Nearest = &n
	}
	e.addRecent(s)
	e.dirty = true
}

// closeUnseen ends a storm whose all clear was due before strike s, a
// strike inside the shutdown radius from a trigger-capable source, but was
// never given: no source could see when it came due (or s came before the
// tick that would have given it). Lightning
// after that gap is a new storm: it gets its own countdown, since people may
// have switched hosts back on in the meantime. A storm still inside its
// countdown is left alone: its deadline comes first.
func (e *Engine) closeUnseen(now time.Time, s Strike) {
	if e.st.Countdowns == 0 || e.st.Phase == PhaseCountdown || e.st.Phase == PhaseClear || e.st.Phase == PhaseAllClear {
		return
	}
	last := latest(e.st.LastThreat, e.signalEnd(now, true))
	if s.Time.Sub(last) < e.cfg.AllClear {
		return
	}
	text := fmt.Sprintf("%s is over: no lightning inside %.1f km from %s until %s, longer than the %v all clear",
		e.st.StormID, e.cfg.ShutdownRadiusKM, clock(last), clock(s.Time), e.cfg.AllClear)
	if e.st.ClearHeld {
		text += ", which was held while no source could see"
	}
	e.event(EventWatch, text+"; this lightning is a new storm")
	e.st.ClearHeld = false
	e.setPhase(now, PhaseClear)
	e.resetStorm()
}

// noteLone reports, at most once per AllClear, a strike inside the
// shutdown radius that starts no countdown because nothing confirms it.
func (e *Engine) noteLone(now time.Time, s Strike) {
	if !e.warnedLone.IsZero() && now.Sub(e.warnedLone) < e.cfg.AllClear {
		return
	}
	e.warnedLone = now
	e.event(EventInfo, fmt.Sprintf("%s is alone, far from any storm cell: no countdown unless another strike confirms it (a lone strike starts one only inside %.1f km)",
		describe(s), e.cfg.closeRadius()))
}

// strikeTrigger starts a countdown for a strike inside the shutdown radius
// from a trigger-capable source, unless one is running, the storm's
// deadline has passed and it is still going (closeUnseen ends one that
// is not), or a cancel holds it off.
func (e *Engine) strikeTrigger(now time.Time, s Strike) {
	if e.st.Phase == PhaseCountdown || e.st.Phase == PhaseShutdown {
		return
	}
	cause := describe(s)
	if now.Before(e.st.HoldUntil) {
		if !(s.DistanceKM < e.st.HoldNearestKM) {
			return
		}
		cause += fmt.Sprintf(", closer than the %.1f km when the last countdown was cancelled", e.st.HoldNearestKM)
	}
	e.startCountdown(now, cause)
}

// startCountdown sends the one SHUTDOWN of this countdown.
func (e *Engine) startCountdown(now time.Time, cause string) {
	if e.st.Phase == PhaseClear || e.st.Phase == PhaseAllClear {
		e.newStorm(now)
	}
	e.st.Countdowns++
	e.st.Deadline = now.Add(e.cfg.Grace)
	e.st.Reason = e.countdownReason(cause, e.st.Deadline)
	e.st.HoldUntil, e.st.HoldNearestKM, e.st.CancelledBy = time.Time{}, 0, ""
	e.setPhase(now, PhaseCountdown)
	e.emit(Shutdown{
		StormID:   e.st.StormID,
		Countdown: e.st.Countdowns,
		Deadline:  e.st.Deadline,
		Reason:    e.st.Reason,
	})
}

// noteSignals replaces the source's thunderstorm signal with the one in the
// report, if any: each report from a source is its whole current opinion.
func (e *Engine) noteSignals(now time.Time, r weather.Report) {
	var found *weather.Signal
	for i := range r.Signals {
		ws := &r.Signals[i]
		if !ws.Thunderstorm || (!ws.Until.IsZero() && !ws.Until.After(now)) {
			continue
		}
		if found == nil || (!found.Until.IsZero() && (ws.Until.IsZero() || ws.Until.After(found.Until))) {
			found = ws
		}
	}
	prev, had := e.st.Signals[r.Source]
	if had {
		e.foldSignal(now, prev)
	}
	if found == nil {
		if had {
			delete(e.st.Signals, r.Source)
			e.dirty = true
		}
		return
	}
	sig := Signal{
		Detail:   found.Detail,
		SeenAt:   now,
		Until:    found.Until,
		Triggers: e.st.Sources[r.Source].CanTrigger,
	}
	e.st.Signals[r.Source] = sig
	e.dirty = true
	switch {
	case e.st.Phase == PhaseClear || e.st.Phase == PhaseAllClear:
		e.newStorm(now)
		e.event(EventWatch, fmt.Sprintf("storm watch (%s): %s", e.st.StormID, describeSignal(r.Source, sig)))
	case !had:
		e.event(EventWatch, "thunderstorm signal: "+describeSignal(r.Source, sig))
	}
	e.st.LastWatch = latest(e.st.LastWatch, now)
	if !sig.Triggers {
		return
	}
	e.st.LastThreat = latest(e.st.LastThreat, now)
	// A signal says nothing about distance, so it starts at most one
	// countdown per storm; after a cancel only strikes start another.
	if e.st.Countdowns == 0 {
		e.startCountdown(now, describeSignal(r.Source, sig))
	}
}

// foldSignal moves what a signal being replaced covered into the stored times.
func (e *Engine) foldSignal(now time.Time, sig Signal) {
	end := sig.end(now)
	e.st.LastWatch = latest(e.st.LastWatch, end)
	if sig.Triggers && e.st.Countdowns > 0 {
		e.st.LastThreat = latest(e.st.LastThreat, end)
	}
}

// signalEnd is the latest moment, capped at now, that any current signal
// covers; only triggering signals when triggers is true.
func (e *Engine) signalEnd(now time.Time, triggers bool) time.Time {
	var end time.Time
	for _, sig := range e.st.Signals {
		if triggers && !sig.Triggers {
			continue
		}
		end = latest(end, sig.end(now))
	}
	return end
}
