package storm

import (
	"fmt"
	"time"
)

// Action is something the runner does after a call into the Engine:
// publish, announce, log. Text is a sentence for a person.
type Action interface {
	Text() string
}

// Shutdown asks the runner to publish SHUTDOWN. The hosts count down to
// Deadline themselves; the runner publishes once and never repeats it.
type Shutdown struct {
	StormID string
	// Countdown numbers the SHUTDOWNs of one storm, from 1.
	Countdown int
	Deadline  time.Time
	Reason    string
}

// ID names this SHUTDOWN uniquely, for the command id hosts dedupe on.
func (s Shutdown) ID() string { return fmt.Sprintf("%s-%d", s.StormID, s.Countdown) }

// Text returns the reason.
func (s Shutdown) Text() string { return s.Reason }

// Cancelled says a countdown was stopped; the runner announces it.
type Cancelled struct {
	StormID   string
	By        string
	HoldUntil time.Time
	Reason    string
}

// Text returns the announcement.
func (c Cancelled) Text() string { return c.Reason }

// AllClear says a storm that came inside the shutdown radius is over.
type AllClear struct {
	StormID    string
	LastStrike time.Time
	Reason     string
}

// Text returns the announcement.
func (a AllClear) Text() string { return a.Reason }

// EventKind sorts events for logs and dashboards.
type EventKind string

const (
	// EventInfo is routine news: a source recovered, a watch ended.
	EventInfo EventKind = "info"
	// EventWatch is news about the storm: a watch began, a deadline passed.
	EventWatch EventKind = "watch"
	// EventWarn needs a person's attention: a source failing or silent, blindness.
	EventWarn EventKind = "warn"
)

// Event is news for the log and the events topic.
type Event struct {
	Kind    EventKind
	Message string
}

// Text returns the message.
func (e Event) Text() string { return e.Message }

// StateChanged says the State worth persisting and publishing has changed;
// Engine.State gives the snapshot. It comes last in the actions of a call.
// Not every report changes the state: a strike outside the watch radius or a
// report that only shows a source is alive does not, so a long quiet feed
// costs no writes.
type StateChanged struct {
	From, To Phase
}

// Text describes the phase change.
func (s StateChanged) Text() string {
	if s.From == s.To {
		return fmt.Sprintf("state updated (%s)", s.To)
	}
	return fmt.Sprintf("phase %s -> %s", s.From, s.To)
}
