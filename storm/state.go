package storm

import (
	"fmt"
	"maps"
	"slices"
	"time"
)

// Phase is where a storm stands.
type Phase string

const (
	// PhaseClear means no lightning near and no thunderstorm signal.
	PhaseClear Phase = "clear"
	// PhaseWatch means lightning inside the watch radius or a thunderstorm
	// signal; it is also the phase after a cancelled countdown.
	PhaseWatch Phase = "watch"
	// PhaseCountdown means a SHUTDOWN was sent and its deadline is ahead.
	PhaseCountdown Phase = "countdown"
	// PhaseShutdown means the deadline has passed; hosts are powering down.
	PhaseShutdown Phase = "shutdown"
	// PhaseAllClear means the storm that came inside the shutdown radius is
	// over; it lasts AllClear, unless lightning starts a new storm sooner.
	PhaseAllClear Phase = "allclear"
)

// valid reports whether p is one of the five phases.
func (p Phase) valid() bool {
	switch p {
	case PhaseClear, PhaseWatch, PhaseCountdown, PhaseShutdown, PhaseAllClear:
		return true
	}
	return false
}

// Trend is the direction recent strikes inside the watch radius are moving.
type Trend string

const (
	TrendUnknown     Trend = "unknown"
	TrendApproaching Trend = "approaching"
	TrendReceding    Trend = "receding"
	TrendSteady      Trend = "steady"
)

// Status is a source's health.
type Status string

const (
	// StatusUnknown is a source that has not reported yet and is not yet silent.
	StatusUnknown Status = "unknown"
	// StatusOK is a source whose last answer was a report that could see, or
	// an event feed that is connected (silence is fair weather).
	StatusOK Status = "ok"
	// StatusFailing is a source with FailAfter or more errors in a row.
	StatusFailing Status = "failing"
	// StatusSilent is a source that answers on a schedule with neither a
	// report nor an error for its SilentAfter, or an event feed that has not
	// connected in its SilentAfter since the start.
	StatusSilent Status = "silent"
	// StatusBlind is a source that says it cannot detect lightning now.
	StatusBlind Status = "blind"
	// StatusDown is an event feed whose connection is down.
	StatusDown Status = "down"
)

// sees reports whether a source in this status could report lightning.
func (s Status) sees() bool { return s == StatusOK || s == StatusUnknown }

// Strike is a strike as the state remembers it.
type Strike struct {
	DistanceKM float64   `json:"distance_km"`
	BearingDeg float64   `json:"bearing_deg,omitempty"`
	HasBearing bool      `json:"has_bearing,omitempty"`
	Estimate   bool      `json:"estimate,omitempty"`
	Time       time.Time `json:"time"`
	Source     string    `json:"source"`
}

// SourceHealth is what the engine knows about one source.
type SourceHealth struct {
	Kind string `json:"kind"`
	// CanTrigger is true for trigger sources and for context sources named in
	// Config.ContextTriggers.
	CanTrigger bool `json:"can_trigger"`
	// Liveness is "answers" for a source whose silence is a fault (polled
	// APIs, a station that reports every minute) and "connection" for an
	// event feed, quiet in fair weather, whose connection is its health.
	Liveness      string    `json:"liveness"`
	Status        Status    `json:"status"`
	LastReport    time.Time `json:"last_report,omitzero"`
	LastError     string    `json:"last_error,omitempty"`
	LastErrorAt   time.Time `json:"last_error_at,omitzero"`
	Failures      int       `json:"consecutive_failures"`
	ReportedBlind bool      `json:"reported_blind,omitempty"`
	Detail        string    `json:"detail,omitempty"`
	// Link is an event feed's connection, "up" or "down", since LinkSince;
	// empty until this process hears of it. LinkDetail says why it is down.
	Link       string    `json:"link,omitempty"`
	LinkSince  time.Time `json:"link_since,omitzero"`
	LinkDetail string    `json:"link_detail,omitempty"`
	// Ignored counts what the source sent that was not trusted: strikes
	// stamped outside the window around now, messages too big or malformed.
	Ignored       int       `json:"ignored,omitempty"`
	LastIgnored   string    `json:"last_ignored,omitempty"`
	LastIgnoredAt time.Time `json:"last_ignored_at,omitzero"`
}

// Signal is the thunderstorm signal a source last reported.
type Signal struct {
	Detail string    `json:"detail"`
	SeenAt time.Time `json:"seen_at"`
	// Until is when the signal stops applying; zero means it applies only
	// when seen, like a strike.
	Until    time.Time `json:"until,omitzero"`
	Triggers bool      `json:"triggers,omitempty"`
}

// end is the last moment the signal applies, capped at now.
func (s Signal) end(now time.Time) time.Time {
	if s.Until.IsZero() {
		return s.SeenAt
	}
	return earliest(s.Until, now)
}

// State is everything the engine knows. It is JSON for the retained state
// topic and for persistence across restarts.
type State struct {
	Phase Phase     `json:"phase"`
	Since time.Time `json:"since,omitzero"`
	// Next says, for a person, what the phase waits for and what ends it.
	Next    string `json:"next,omitempty"`
	StormID string `json:"storm_id,omitempty"`
	// Countdowns counts the SHUTDOWNs sent for this storm. A second one needs
	// a cancel first, and then a closer strike or the end of the hold.
	Countdowns int     `json:"countdowns,omitempty"`
	Nearest    *Strike `json:"nearest,omitempty"`
	Trend      Trend   `json:"trend"`
	// Reason is the text of the current or last countdown.
	Reason   string    `json:"reason,omitempty"`
	Deadline time.Time `json:"deadline,omitzero"`
	// LastStrikeInside is the last strike inside the shutdown radius.
	LastStrikeInside time.Time `json:"last_strike_inside,omitzero"`
	// LastThreat is the last strike or triggering signal that keeps a
	// triggered storm going; the all clear counts from it.
	LastThreat time.Time `json:"last_threat,omitzero"`
	// LastWatch is the last strike inside the watch radius or thunderstorm signal.
	LastWatch time.Time `json:"last_watch,omitzero"`
	// AllClearAt is the earliest all clear for a storm that triggered.
	AllClearAt time.Time `json:"all_clear_at,omitzero"`
	// ClearHeld is true while an all clear or the end of the watch is due but
	// held back because no trigger-capable source can see.
	ClearHeld     bool      `json:"clear_held,omitempty"`
	HoldUntil     time.Time `json:"hold_until,omitzero"`
	HoldNearestKM float64   `json:"hold_nearest_km,omitempty"`
	CancelledBy   string    `json:"cancelled_by,omitempty"`
	Blind         bool      `json:"blind"`
	BlindText     string    `json:"blind_text,omitempty"`
	// SeeingSince is when the engine last stopped being blind; the all clear
	// and the end of the watch count from no earlier than this.
	SeeingSince time.Time               `json:"seeing_since,omitzero"`
	Sources     map[string]SourceHealth `json:"sources"`
	Signals     map[string]Signal       `json:"signals,omitempty"`
	// Recent holds the last strikes inside the watch radius, oldest first, for the trend.
	Recent []Strike `json:"recent,omitempty"`
	// Cells are the tracked storm cells that matter most: those whose
	// lightning is expected inside the shutdown radius soonest, then the
	// nearest inside the watch radius. Refreshed every Tick.
	Cells []Cell `json:"cells,omitempty"`
	// Doubted is the newest strike inside the shutdown radius that waits
	// for another to confirm it, and why; DoubtedAt is when it struck.
	// Both clear when it is confirmed, a countdown starts, or the lone
	// window passes.
	Doubted   string    `json:"doubted,omitempty"`
	DoubtedAt time.Time `json:"doubted_at,omitzero"`
}

// clone returns a copy that shares nothing mutable with s.
func (s State) clone() State {
	c := s
	if s.Nearest != nil {
		n := *s.Nearest
		c.Nearest = &n
	}
	c.Sources = maps.Clone(s.Sources)
	c.Signals = maps.Clone(s.Signals)
	c.Recent = append([]Strike(nil), s.Recent...)
	c.Cells = slices.Clone(s.Cells)
	return c
}

// check reports a State that Restore cannot resume.
func (s State) check() error {
	if !s.Phase.valid() {
		return fmt.Errorf("phase %q: unknown", s.Phase)
	}
	if s.Phase == PhaseCountdown && s.Deadline.IsZero() {
		return fmt.Errorf("phase countdown: no deadline")
	}
	if s.Phase != PhaseClear && s.StormID == "" {
		return fmt.Errorf("phase %s: no storm id", s.Phase)
	}
	return nil
}

func latest(ts ...time.Time) time.Time {
	var m time.Time
	for _, t := range ts {
		if t.After(m) {
			m = t
		}
	}
	return m
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
