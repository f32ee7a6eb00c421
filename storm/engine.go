package storm

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/stormguard/stormguard/storm/track"
	"github.com/stormguard/stormguard/weather"
)

// Engine decides what to do about lightning. It is not safe for concurrent
// use: the runner calls it from one goroutine.
type Engine struct {
	cfg   Config
	st    State
	start time.Time
	names []string // registered sources, sorted, so events come in a stable order
	// warned is when each source's ignored strikes or messages were last
	// warned about.
	warned map[string]time.Time
	// tracker follows storm cells; it is not part of the State and starts
	// empty after a restart. announced holds the cells a watch event
	// was sent for; views is the scratch for the state's Cells.
	tracker   *track.Tracker
	announced map[int]bool
	// threatSince is when each cell's prediction last began to call for a countdown.
	threatSince map[int]time.Time
	views       []Cell
	// warnedDoubt is when a doubtful strike was last reported; doubted
	// holds, per cell, the doubtful strike that waits for confirmation.
	warnedDoubt time.Time
	doubted     map[int]Strike
	// fringeHits holds, per passing cell, when the strikes inside the
	// radius at its fringe fell (storm time), over the lone window.
	fringeHits map[int][]time.Time

	// Per call: the actions so far, the phase at the start, whether
	// anything worth persisting changed, and the cells that took a strike.
	touched []*track.Cell
	out     []Action
	from    Phase
	dirty   bool
}

// NewEngine returns an Engine in the clear phase. now is when the daemon
// started: no source counts as silent before SilentAfter has passed since.
func NewEngine(cfg Config, now time.Time) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("storm config: %w", err)
	}
	return &Engine{
		cfg:         cfg,
		start:       now,
		warned:      map[string]time.Time{},
		tracker:     track.New(cfg.Track),
		announced:   map[int]bool{},
		threatSince: map[int]time.Time{},
		doubted:     map[int]Strike{},
		fringeHits:  map[int][]time.Time{},
		st: State{
			Phase:   PhaseClear,
			Trend:   TrendUnknown,
			Sources: map[string]SourceHealth{},
			Signals: map[string]Signal{},
		},
	}, nil
}

// Register adds a source so its health counts. live says what its silence
// means: for a source that Answers, a fault; for an event feed (Connection),
// nothing, as its connection is its health. Register every source before
// Restore and before the first Tick; a source registered again keeps its
// health and takes the new kind and liveness.
func (e *Engine) Register(name string, kind weather.Kind, live weather.Liveness) {
	h, ok := e.st.Sources[name]
	if !ok {
		h.Status = StatusUnknown
		i, _ := slices.BinarySearch(e.names, name)
		e.names = slices.Insert(e.names, i, name)
	}
	h.Kind = kind.String()
	h.Liveness = live.String()
	h.CanTrigger = kind == weather.Trigger || slices.Contains(e.cfg.ContextTriggers, name)
	e.st.Sources[name] = h
}

// State returns a copy of the current state.
func (e *Engine) State() State { return e.st.clone() }

// Restore resumes a state saved before a restart: phase, deadline, all-clear
// timer, hold and source health. It sends nothing, so a countdown that was
// running goes on to its saved deadline without a second SHUTDOWN. Health of
// sources that are no longer registered is dropped, and an event feed's link
// is forgotten: the connection was the old process's.
func (e *Engine) Restore(s State) error {
	if err := s.check(); err != nil {
		return fmt.Errorf("restore state: %w", err)
	}
	st := s.clone()
	st.Sources = e.st.Sources
	for name, h := range st.Sources {
		if old, ok := s.Sources[name]; ok {
			old.Kind, old.CanTrigger, old.Liveness = h.Kind, h.CanTrigger, h.Liveness
			old.Link, old.LinkSince, old.LinkDetail = "", time.Time{}, ""
			st.Sources[name] = old
		}
	}
	st.Signals = map[string]Signal{}
	for name, sig := range s.Signals {
		if h, ok := st.Sources[name]; ok {
			sig.Triggers = h.CanTrigger
			st.Signals[name] = sig
		}
	}
	if n := len(st.Recent); n > recentMax {
		st.Recent = st.Recent[n-recentMax:]
	}
	st.Trend = trendOf(st.Recent, e.cfg.AllClear)
	e.st = st
	return nil
}

// Observe takes one report from a source and returns what to do.
//
// Only strikes stamped inside the window from AllClear ago to
// FutureTolerance ahead of now are used; the others are counted in the
// source's health and never trusted. A report that is only news about an
// event feed's link, or about messages the source rejected, updates that
// and leaves the rest of the source's health alone.
func (e *Engine) Observe(now time.Time, r weather.Report) []Action {
	e.begin()
	h, ok := e.st.Sources[r.Source]
	if !ok {
		e.event(EventWarn, fmt.Sprintf("report from unregistered source %q ignored", r.Source))
		return e.end()
	}
	switch {
	case r.Link != weather.LinkNone:
		e.noteLink(now, &h, r)
	case r.Aside():
	default:
		h.LastReport = now
		h.Failures = 0
		h.ReportedBlind = r.Blind
		h.Detail = ""
		if r.Blind {
			h.Detail = r.Detail
		}
	}
	if r.Rejected > 0 {
		e.ignore(now, r.Source, &h, r.Rejected, "rejected "+r.RejectedWhy)
	}

	var trigger Strike
	found, confirmed := false, false
	oldest, newest := now.Add(-e.cfg.AllClear), now.Add(e.cfg.FutureTolerance)
	for i := range r.Strikes {
		ws := &r.Strikes[i]
		if !ws.Time.IsZero() && (ws.Time.Before(oldest) || ws.Time.After(newest)) {
			e.ignore(now, r.Source, &h, 1, e.outOfWindow(now, ws.Time))
			continue
		}
		if ws.DistanceKM < 0 {
			continue
		}
		var cell *track.Cell
		if h.CanTrigger {
			cell = e.track(ws, cmp.Or(ws.Time, now))
		}
		if !(ws.DistanceKM < e.cfg.WatchRadiusKM) {
			continue
		}
		s := Strike{
			DistanceKM: ws.DistanceKM, BearingDeg: ws.BearingDeg, HasBearing: ws.HasBearing,
			Estimate: ws.Estimate, Time: ws.Time, Source: ws.Source,
		}
		if s.Time.IsZero() {
			s.Time = now
		}
		if s.Source == "" {
			s.Source = r.Source
		}
		// After an all clear, a strike from before it belongs to the storm that ended.
		if e.st.Phase == PhaseAllClear && s.Time.Before(e.st.Since) {
			continue
		}
		inside := s.DistanceKM < e.cfg.ShutdownRadiusKM
		if inside && h.CanTrigger {
			e.closeUnseen(now, s)
		}
		e.noteStrike(now, s)
		if inside {
			e.st.LastStrikeInside = latest(e.st.LastStrikeInside, s.Time)
			if h.CanTrigger || e.st.Countdowns > 0 {
				e.st.LastThreat = latest(e.st.LastThreat, s.Time)
			}
			doubt := ""
			if cell != nil && h.CanTrigger && !(s.DistanceKM < e.cfg.closeRadius()) {
				var passing *track.Cell
				doubt, passing = e.doubt(now, cell, s)
				if passing != nil && e.edgeHits(passing, e.stormTime(s.Time)) >= e.cfg.Track.EdgeStrikes {
					doubt = "" // so many at its edge: its lightning is inside after all
				}
			}
			if doubt != "" {
				e.noteDoubt(now, s, doubt)
				e.doubted[cell.ID] = s
				e.st.Doubted, e.st.DoubtedAt = describe(s)+" is "+doubt, s.Time
				continue
			}
			if h.CanTrigger && (!found || s.DistanceKM < trigger.DistanceKM) {
				trigger, found, confirmed = s, true, false
			}
		}
		if d, ok := e.confirmed(now, cell, s); ok && (!found || d.DistanceKM < trigger.DistanceKM) {
			trigger, found, confirmed = d, true, true
		}
	}
	e.st.Sources[r.Source] = h
	if found {
		cause := describe(trigger)
		if confirmed {
			cause += ", confirmed by another strike near it"
		}
		e.strikeTrigger(now, trigger, cause)
	}
	e.checkCells(now, e.touched)
	e.noteSignals(now, r)
	e.evaluate(now)
	return e.end()
}

// noteLink records news about an event feed's connection. A connection
// that is up again also ends a run of stream errors.
func (e *Engine) noteLink(now time.Time, h *SourceHealth, r weather.Report) {
	link := r.Link.String()
	if h.Link == link {
		return
	}
	h.Link, h.LinkSince, h.LinkDetail = link, now, ""
	if r.Link == weather.LinkDown {
		h.LinkDetail = r.Detail
	} else {
		h.Failures = 0
	}
	e.dirty = true
}

// ignore counts n things from a source that were not trusted, and warns at
// most once per AllClear per source, so a feed full of them cannot flood
// the events. Only the warning marks the state changed: the counts ride
// along with the next change, so a flood of bad strikes costs no state
// write (an fsync'd file and a retained publish) each.
func (e *Engine) ignore(now time.Time, name string, h *SourceHealth, n int, why string) {
	h.Ignored += n
	h.LastIgnored, h.LastIgnoredAt = why, now
	if last, ok := e.warned[name]; ok && now.Sub(last) < e.cfg.AllClear {
		return
	}
	e.dirty = true
	e.warned[name] = now
	e.event(EventWarn, fmt.Sprintf("source %s: %s; ignored (%d so far)", name, why, h.Ignored))
}

// outOfWindow says why a strike's time is not trusted.
func (e *Engine) outOfWindow(now, t time.Time) string {
	if t.After(now) {
		return fmt.Sprintf("a strike stamped %s, %v ahead of now (more than %v is not trusted)",
			t.UTC().Format(time.RFC3339), t.Sub(now).Round(time.Second), e.cfg.FutureTolerance)
	}
	return fmt.Sprintf("a strike stamped %s, %v ago (older than the %v all clear)",
		t.UTC().Format(time.RFC3339), now.Sub(t).Round(time.Second), e.cfg.AllClear)
}

// SourceFailed records a failed poll or a broken stream. A source not yet
// registered is registered with kind.
func (e *Engine) SourceFailed(now time.Time, source string, kind weather.Kind, err error) []Action {
	e.begin()
	if _, ok := e.st.Sources[source]; !ok {
		e.Register(source, kind, weather.Answers)
		e.dirty = true
	}
	h := e.st.Sources[source]
	h.Failures++
	h.LastErrorAt = now
	h.LastError = "unknown error"
	if err != nil {
		h.LastError = err.Error()
	}
	e.st.Sources[source] = h
	e.evaluate(now)
	return e.end()
}

// Tick notices what time alone changes: a deadline passing, the all clear,
// the end of a watch or a hold, a source going silent. Call it every few seconds.
func (e *Engine) Tick(now time.Time) []Action {
	e.begin()
	e.tickCells(now)
	e.evaluate(now)
	return e.end()
}

// Cancel stops a countdown (or a shutdown still under way) and holds off a
// new one for HoldAfterCancel unless lightning comes closer. by names who
// cancelled, for the announcement.
func (e *Engine) Cancel(now time.Time, by string) []Action {
	e.begin()
	e.evaluate(now)
	if e.st.Phase != PhaseCountdown && e.st.Phase != PhaseShutdown {
		e.event(EventInfo, fmt.Sprintf("cancel from %s: no countdown running (phase %s)", by, e.st.Phase))
		return e.end()
	}
	nearest := e.cfg.ShutdownRadiusKM
	if e.st.Nearest != nil && e.st.Nearest.DistanceKM < nearest {
		nearest = e.st.Nearest.DistanceKM
	}
	e.st.Deadline = time.Time{}
	e.st.CancelledBy = by
	e.setPhase(now, PhaseWatch)
	text := fmt.Sprintf("countdown for %s cancelled by %s", e.st.StormID, by)
	if e.cfg.HoldAfterCancel > 0 {
		e.st.HoldUntil = now.Add(e.cfg.HoldAfterCancel)
		e.st.HoldNearestKM = nearest
		text += fmt.Sprintf("; no new countdown until %s unless lightning comes closer than %.1f km",
			clock(e.st.HoldUntil), nearest)
	}
	e.emit(Cancelled{StormID: e.st.StormID, By: by, HoldUntil: e.st.HoldUntil, Reason: text})
	return e.end()
}

func (e *Engine) begin() {
	e.out, e.from, e.dirty = nil, e.st.Phase, false
	clear(e.touched)
	e.touched = e.touched[:0]
}

func (e *Engine) end() []Action {
	// Next depends only on the state, so it can change only when the
	// state did; a quiet report costs no text.
	if e.dirty || e.st.Next == "" {
		e.st.Next = e.next()
		e.dirty = true
	}
	if e.dirty {
		e.emit(StateChanged{From: e.from, To: e.st.Phase})
	}
	out := e.out
	e.out = nil
	return out
}

func (e *Engine) emit(a Action) { e.out = append(e.out, a) }

func (e *Engine) event(kind EventKind, msg string) { e.emit(Event{Kind: kind, Message: msg}) }

func (e *Engine) setPhase(now time.Time, p Phase) {
	if e.st.Phase != p {
		e.st.Phase, e.st.Since = p, now
	}
	e.dirty = true
}

// newStorm forgets the last storm and starts a watch.
func (e *Engine) newStorm(now time.Time) {
	prev := e.st.StormID
	base := "storm-" + now.UTC().Format("20060102T150405Z")
	id := base
	for n := 2; id == prev; n++ {
		id = base + "-" + strconv.Itoa(n)
	}
	e.resetStorm()
	e.st.StormID = id
	e.setPhase(now, PhaseWatch)
}

// resetStorm clears everything that belongs to one storm.
func (e *Engine) resetStorm() {
	keep := e.st
	e.st = State{
		Phase: keep.Phase, Since: keep.Since, Trend: TrendUnknown,
		Blind: keep.Blind, BlindText: keep.BlindText, SeeingSince: keep.SeeingSince,
		Sources: keep.Sources, Signals: keep.Signals, Recent: keep.Recent[:0], Cells: keep.Cells,
	}
	e.dirty = true
}
