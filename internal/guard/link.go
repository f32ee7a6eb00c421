package guard

import (
	"fmt"
	"time"
)

// Link is what the retained state says about the broker link.
type Link struct {
	// LastOutage is the most recent time the link was down, once it is back.
	LastOutage *Outage `json:"last_outage,omitempty"`
}

// Outage is one loss of the broker link.
type Outage struct {
	From  time.Time `json:"from"`
	To    time.Time `json:"to"`
	Cause string    `json:"cause"`
}

// link tracks the broker connection for the loop. An outage can only be
// reported once the link is back, as an event and in the state.
type link struct {
	downSince time.Time
	cause     string
	last      *Outage
}

func (l *link) report() *Link {
	if l.last == nil {
		return nil
	}
	return &Link{LastOutage: l.last}
}

// linkDown notes that the broker link dropped.
func (g *Guard) linkDown(now time.Time, err error) {
	if g.link.downSince.IsZero() {
		g.link.downSince, g.link.cause = now, err.Error()
	}
	g.log.Warn("broker link lost; sources and the storm logic carry on", "err", err)
}

// linkUp ends an outage, if there was one, and reports it.
func (g *Guard) linkUp(now time.Time) {
	if g.link.downSince.IsZero() {
		return
	}
	o := &Outage{From: g.link.downSince.UTC(), To: now.UTC(), Cause: g.link.cause}
	g.link.last, g.link.downSince = o, time.Time{}
	text := fmt.Sprintf("broker link was down for %s (from %s: %s)", o.To.Sub(o.From).Round(time.Millisecond), o.From.Format(time.RFC3339), o.Cause)
	g.log.Warn(text)
	g.publishEvent(Event{V: 1, At: now.UTC(), Kind: "broker", Text: text, Phase: g.engine.State().Phase, StormID: g.engine.State().StormID})
}
