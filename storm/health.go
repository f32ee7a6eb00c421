package storm

import (
	"fmt"
	"strings"
	"time"

	"github.com/stormguard/stormguard/weather"
)

// status works out a source's health at now.
func (e *Engine) status(now time.Time, name string, h SourceHealth) Status {
	if h.Liveness == weather.Connection.String() {
		return e.feedStatus(now, name, h)
	}
	last := latest(h.LastReport, h.LastErrorAt, e.start)
	switch {
	case now.Sub(last) >= e.cfg.silentAfter(name):
		return StatusSilent
	case h.Failures >= e.cfg.FailAfter:
		return StatusFailing
	case h.LastReport.IsZero():
		return StatusUnknown
	case h.ReportedBlind:
		return StatusBlind
	}
	return StatusOK
}

// feedStatus is the health of an event feed, quiet in fair weather: its
// connection, not its silence. One that has said nothing at all since the
// start, not even that it is connected, is silent after its SilentAfter.
func (e *Engine) feedStatus(now time.Time, name string, h SourceHealth) Status {
	heard := h.Link != "" || !h.LastReport.Before(e.start)
	switch {
	case h.Failures >= e.cfg.FailAfter:
		return StatusFailing
	case h.Link == weather.LinkDown.String():
		return StatusDown
	case !heard && now.Sub(e.start) >= e.cfg.silentAfter(name):
		return StatusSilent
	case !heard:
		return StatusUnknown
	case h.ReportedBlind:
		return StatusBlind
	}
	return StatusOK
}

// checkHealth updates every source's status and whether the engine is blind,
// with an event for each change.
func (e *Engine) checkHealth(now time.Time) {
	changed := false
	sees := false
	for _, name := range e.names {
		h := e.st.Sources[name]
		st := e.status(now, name, h)
		if st != h.Status {
			changed = true
			e.healthEvent(now, name, h, st)
			h.Status = st
			e.st.Sources[name] = h
		}
		if h.CanTrigger && st.sees() {
			sees = true
		}
	}
	if changed {
		e.dirty = true
	}
	switch {
	case !sees && !e.st.Blind:
		e.st.Blind = true
		e.st.BlindText = e.blindText()
		e.event(EventWarn, e.st.BlindText)
		e.dirty = true
	case !sees && changed:
		e.st.BlindText = e.blindText()
	case sees && e.st.Blind:
		e.st.Blind, e.st.BlindText, e.st.SeeingSince = false, "", now
		e.event(EventInfo, "lightning sources can see again; all clear counts from now")
		e.dirty = true
	}
}

func (e *Engine) healthEvent(now time.Time, name string, h SourceHealth, st Status) {
	switch st {
	case StatusOK:
		if h.Status != StatusUnknown {
			e.event(EventInfo, fmt.Sprintf("source %s ok again", name))
		}
	case StatusFailing:
		e.event(EventWarn, fmt.Sprintf("source %s failing: %s (%d errors in a row)", name, h.LastError, h.Failures))
	case StatusSilent:
		if h.Liveness == weather.Connection.String() {
			e.event(EventWarn, fmt.Sprintf("source %s silent: not connected in the %v since the start", name,
				now.Sub(e.start).Truncate(time.Second)))
			break
		}
		e.event(EventWarn, fmt.Sprintf("source %s silent: no report or error for %v", name,
			now.Sub(latest(h.LastReport, h.LastErrorAt, e.start)).Truncate(time.Second)))
	case StatusDown:
		e.event(EventWarn, fmt.Sprintf("source %s down: %s", name, orElse(h.LinkDetail, "connection lost")))
	case StatusBlind:
		detail := h.Detail
		if detail == "" {
			detail = "it reports it cannot detect lightning"
		}
		e.event(EventWarn, fmt.Sprintf("source %s blind: %s", name, detail))
	}
}

// blindText is the loud explanation of why the engine cannot see.
func (e *Engine) blindText() string {
	var why []string
	for _, name := range e.names {
		h := e.st.Sources[name]
		if !h.CanTrigger {
			continue
		}
		w := name + " " + string(h.Status)
		switch {
		case h.Status == StatusFailing && h.LastError != "":
			w += ": " + h.LastError
		case h.Status == StatusDown && h.LinkDetail != "":
			w += ": " + h.LinkDetail
		}
		why = append(why, w)
	}
	cause := "no trigger-capable lightning source is registered"
	if len(why) > 0 {
		cause = "no lightning source can see (" + strings.Join(why, "; ") + ")"
	}
	if e.cfg.BlindPolicy == BlindShutdown {
		return "BLIND: " + cause + "; blind policy is shutdown"
	}
	return "BLIND: " + cause + "; stormguard cannot detect lightning and will not shut down on its own"
}

func orElse(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}
