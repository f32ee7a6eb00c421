package storm

import (
	"fmt"
	"time"

	"github.com/stormguard/stormguard/storm/track"
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

// noteDoubt reports, at most once per AllClear, a strike inside the
// shutdown radius that starts no countdown because nothing confirms it.
func (e *Engine) noteDoubt(now time.Time, s Strike, why string) {
	if !e.warnedDoubt.IsZero() && now.Sub(e.warnedDoubt) < e.cfg.AllClear {
		return
	}
	e.warnedDoubt = now
	e.event(EventInfo, fmt.Sprintf("%s is %s: no countdown unless another strike confirms it (a doubtful strike starts one only inside %.1f km)",
		describe(s), why, e.cfg.closeRadius()))
}

// doubt says why strike s, inside the shutdown radius and beyond the close
// radius, just filed under cell c, should wait for confirmation, or "" if
// it should not, and the passing cell it is the fringe of, if that is why.
// A strike is doubtful when it lies at the fringe of a tracked cell
// passing by (its own, or, while its own is not tracked, one within
// FringeKM): what a storm's scatter and the network's location error put
// inside the radius while the storm's lightning, as tracked, is not
// expected there. And when it is lone while a storm is tracked elsewhere:
// a detection placed tens of kilometres from where it was. A strike of,
// or near, a tracked cell whose lightning is expected inside is never in
// doubt.
func (e *Engine) doubt(now time.Time, c *track.Cell, s Strike) (string, *track.Cell) {
	tc := &e.cfg.Track
	if !e.cfg.Predict {
		return "", nil // the rule before tracking: every strike inside counts
	}
	if c.Fit(tc).OK {
		if e.passesBy(now, c) {
			return e.fringe(now, c), c
		}
		return "", nil
	}
	var passing *track.Cell
	near := false
	e.tracker.Near(c.Last, track.FromPolar(s.DistanceKM, s.BearingDeg), tc.FringeKM, c, func(o *track.Cell, _ float64) bool {
		switch tracked, coming := e.outlook(now, o); {
		case coming:
			near = true
			return false
		case tracked:
			passing = o
		}
		return true
	})
	switch {
	case near:
		return "", nil
	case passing != nil:
		return e.fringe(now, passing), passing
	case c.Lone(tc.LoneWindow) && e.stormElsewhere(now, c):
		return "alone, far from the storm cells", nil
	}
	return "", nil
}

// edgeHits counts, for the passing cell p, the strikes inside the shutdown
// radius at its fringe in the lone window up to t (storm time), t's
// included. Enough of them say its lightning is inside after all.
func (e *Engine) edgeHits(p *track.Cell, t time.Time) int {
	hits := e.fringeHits[p.ID]
	i := 0
	for i < len(hits) && t.Sub(hits[i]) > e.cfg.Track.LoneWindow {
		i++
	}
	hits = append(hits[i:], t)
	e.fringeHits[p.ID] = hits
	return len(hits)
}

// stormElsewhere reports whether a cell other than c is tracked (enough
// strikes over enough time to fit, not stale) and was active:
// ActiveStrikes in the lone window. A detection placed tens of kilometres off is a strike of some
// storm; with no storm tracked anywhere in the tracker's reach, a lone
// strike is more likely the first of one forming, and acted on.
func (e *Engine) stormElsewhere(now time.Time, c *track.Cell) bool {
	tc := &e.cfg.Track
	from := c.Last.Add(-tc.LoneWindow)
	for _, o := range e.tracker.Cells() {
		if o != c && e.stormTime(now).Sub(o.Last) <= tc.Stale && o.Fit(tc).N >= tc.MinStrikes &&
			o.Fit(tc).Span >= tc.MinSpan && o.CountSince(from) >= tc.ActiveStrikes {
			return true
		}
	}
	return false
}

// outlook reports whether c is tracked well enough to predict (fitted,
// not stale) and, if so, whether its lightning is expected inside the
// shutdown radius within the horizon.
func (e *Engine) outlook(now time.Time, c *track.Cell) (tracked, coming bool) {
	if e.stormTime(now).Sub(c.Last) > e.cfg.Track.Stale {
		return false, false
	}
	p := e.predict(c)
	return p.OK, p.OK && !p.Arrival.IsZero()
}

// passesBy reports whether c is tracked and its lightning is not expected
// inside the shutdown radius.
func (e *Engine) passesBy(now time.Time, c *track.Cell) bool {
	tracked, coming := e.outlook(now, c)
	return tracked && !coming
}

// fringe says where the passing cell c is, for a doubtful strike's event.
func (e *Engine) fringe(now time.Time, c *track.Cell) string {
	p := e.predict(c)
	pos, _ := p.PosAt(e.stormTime(now))
	return fmt.Sprintf("at the edge of storm cell %.0f km %s moving %s, whose lightning is not expected inside %.0f km",
		pos.Dist(), weather.Compass(pos.Bearing()), weather.Compass(p.Heading()), e.cfg.ShutdownRadiusKM)
}

// confirmed returns the doubtful strike waiting in cell c when strike s,
// just filed under c, leaves the cell no longer in doubt: a second strike
// near a lone one, a cell now tracked on its own whose lightning is
// expected inside.
func (e *Engine) confirmed(now time.Time, c *track.Cell, s Strike) (Strike, bool) {
	if c == nil {
		return Strike{}, false
	}
	d, ok := e.doubted[c.ID]
	if !ok {
		return Strike{}, false
	}
	if e.stormTime(s.Time).Sub(e.stormTime(d.Time)) > e.cfg.Track.LoneWindow {
		delete(e.doubted, c.ID)
		return Strike{}, false
	}
	if why, _ := e.doubt(now, c, s); why != "" {
		return Strike{}, false
	}
	delete(e.doubted, c.ID)
	return d, true
}

// strikeTrigger starts a countdown for a strike inside the shutdown radius
// from a trigger-capable source, unless one is running, the storm's
// deadline has passed and it is still going (closeUnseen ends one that
// is not), or a cancel holds it off.
func (e *Engine) strikeTrigger(now time.Time, s Strike, cause string) {
	if e.st.Phase == PhaseCountdown || e.st.Phase == PhaseShutdown {
		return
	}
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
	e.st.Doubted, e.st.DoubtedAt = "", time.Time{}
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
