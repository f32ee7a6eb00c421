package agent

import (
	"context"

	"github.com/stormguard/stormguard/mqtt"
	"github.com/stormguard/stormguard/wire"
)

// handleFleet runs on paho's delivery goroutine for the other hosts'
// states, presence and acks: they are acknowledged at once (nothing rests
// on them) and handed to the loop.
func (a *Agent) handleFleet(ctx context.Context) mqtt.Handler {
	return func(m mqtt.Message) {
		m.Ack()
		select {
		case a.fleetIn <- m:
		case <-ctx.Done():
		}
	}
}

// onFleet updates the picture of the other hosts; the loop then looks
// again at the countdowns held for earlier stages.
func (a *Agent) onFleet(m mqtt.Message) {
	t := a.cfg.Topics
	if host, ok := t.ParsePresenceTopic(m.Topic); ok {
		if present, ok := wire.ParsePresence(m.Payload); ok && host != a.cfg.Host {
			a.fleet.SetPresence(host, present)
		}
		return
	}
	if host, ok := t.ParseState(m.Topic); ok {
		s, err := wire.DecodeHostState(m.Payload)
		if err != nil || s.Host != host || host == a.cfg.Host {
			return // stormguard's own state, or not a host's
		}
		a.fleet.SetState(s)
		return
	}
	if host, ok := t.ParseAck(m.Topic); ok && host != a.cfg.Host {
		k, err := wire.DecodeAck(m.Payload)
		if err != nil || k.Host != host {
			return
		}
		a.fleet.AddAck(k)
	}
}

// gate is what the stages say about countdown p now. Until the retained
// states have come in after a connect, a later stage cannot tell who is
// before it, so it holds (for at most the settle time).
func (a *Agent) gate(p wire.Pending) Gate {
	now := a.now()
	g := a.cfg.Stages.Gate(a.fleet, p.ID, p.Deadline, now)
	if g.Go && a.online && a.draining && a.cfg.Stages.Stage > wire.StageFirst && len(a.fleet) == 0 {
		g.Go = false
	}
	return g
}
