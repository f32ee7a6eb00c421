package storm

import (
	"fmt"
	"time"
)

// evaluate applies everything that depends on the time: health, the hold,
// the deadline, the blind policy, the all clear and the end of the watch.
func (e *Engine) evaluate(now time.Time) {
	e.checkHealth(now)
	if !e.st.HoldUntil.IsZero() && !now.Before(e.st.HoldUntil) {
		e.event(EventInfo, fmt.Sprintf("hold after cancel ended; lightning inside %.1f km starts a new countdown", e.cfg.ShutdownRadiusKM))
		e.st.HoldUntil, e.st.HoldNearestKM = time.Time{}, 0
		e.dirty = true
	}
	if e.st.Phase == PhaseCountdown && !now.Before(e.st.Deadline) {
		e.setPhase(now, PhaseShutdown)
		e.event(EventWatch, fmt.Sprintf("deadline %s reached for %s: hosts are powering down", clock(e.st.Deadline), e.st.StormID))
	}
	e.checkBlindTrigger(now)
	e.checkAllClear(now)
	e.checkWatchEnd(now)
	e.updateAllClearAt()
}

// checkBlindTrigger applies BlindShutdown: one countdown per storm when no
// trigger-capable source can see.
func (e *Engine) checkBlindTrigger(now time.Time) {
	if !e.st.Blind || e.cfg.BlindPolicy != BlindShutdown {
		return
	}
	switch {
	case e.st.Phase == PhaseClear || e.st.Phase == PhaseAllClear:
	case e.st.Phase == PhaseWatch && e.st.Countdowns == 0:
	default:
		return
	}
	e.startCountdown(now, "no lightning source can see, blind policy is shutdown")
	e.st.LastThreat = now
}

// checkAllClear ends a storm that triggered, AllClear after the last threat,
// but never while no trigger-capable source can see.
func (e *Engine) checkAllClear(now time.Time) {
	if e.st.Countdowns == 0 || e.st.Phase == PhaseAllClear || e.st.Phase == PhaseClear {
		return
	}
	due := latest(e.st.LastThreat, e.st.SeeingSince, e.signalEnd(now, true)).Add(e.cfg.AllClear)
	if now.Before(due) {
		return
	}
	if e.st.Blind {
		e.holdClear("all clear")
		return
	}
	text := fmt.Sprintf("all clear for %s: no lightning inside %.1f km for %v", e.st.StormID, e.cfg.ShutdownRadiusKM, e.cfg.AllClear)
	if !e.st.LastStrikeInside.IsZero() {
		text += " (last at " + clock(e.st.LastStrikeInside) + ")"
	}
	e.emit(AllClear{StormID: e.st.StormID, LastStrike: e.st.LastStrikeInside, Reason: text})
	e.st.ClearHeld = false
	e.st.Deadline, e.st.HoldUntil, e.st.HoldNearestKM = time.Time{}, time.Time{}, 0
	e.setPhase(now, PhaseAllClear)
}

// checkWatchEnd returns to clear AllClear after the last strike inside the
// watch radius and the last thunderstorm signal, and no sooner than AllClear
// after an all clear, unless blind.
func (e *Engine) checkWatchEnd(now time.Time) {
	if !(e.st.Phase == PhaseWatch && e.st.Countdowns == 0) && e.st.Phase != PhaseAllClear {
		return
	}
	last := latest(e.st.LastWatch, e.st.SeeingSince, e.signalEnd(now, false))
	if e.st.Phase == PhaseAllClear {
		// The all clear stays up for a while, so people see it.
		last = latest(last, e.st.Since)
	}
	if now.Before(last.Add(e.cfg.AllClear)) {
		return
	}
	if e.st.Blind {
		e.holdClear("end of watch")
		return
	}
	e.event(EventInfo, fmt.Sprintf("%s over: no lightning inside %.1f km and no thunderstorm signal for %v",
		e.st.StormID, e.cfg.WatchRadiusKM, e.cfg.AllClear))
	e.st.ClearHeld = false
	e.setPhase(now, PhaseClear)
	e.resetStorm()
}

// holdClear reports, once, that a due all clear waits for a source to see.
func (e *Engine) holdClear(what string) {
	if e.st.ClearHeld {
		return
	}
	e.st.ClearHeld = true
	e.dirty = true
	e.event(EventWarn, what+" held: "+e.st.BlindText)
}

// updateAllClearAt keeps the published all-clear time in step.
func (e *Engine) updateAllClearAt() {
	var at time.Time
	if e.st.Countdowns > 0 && e.st.Phase != PhaseAllClear {
		at = latest(e.st.LastThreat, e.st.SeeingSince).Add(e.cfg.AllClear)
	}
	if !at.Equal(e.st.AllClearAt) {
		e.st.AllClearAt = at
		e.dirty = true
	}
}
