package agent

import (
	"context"
	"time"

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
		present, ok := wire.ParsePresence(m.Payload)
		switch {
		case !ok:
		case host != a.cfg.Host:
			a.fleet.SetPresence(host, present)
		case !present:
			a.ownPresenceFalse()
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

// reannounceEvery bounds how often the agent answers its own presence
// False, so two processes under one host name cannot loop.
const reannounceEvery = 5 * time.Second

// ownPresenceFalse answers this host's presence going False while the
// agent is connected: the last will of an earlier connection, delivered
// after the new connection's True (a broker cluster that lost a node does
// that when the session moves), or someone else's mistake. Left alone,
// the host would look gone for as long as it stays connected.
func (a *Agent) ownPresenceFalse() {
	now := a.now()
	if !a.online || (!a.reannounced.IsZero() && now.Sub(a.reannounced) < reannounceEvery) {
		return
	}
	a.reannounced = now
	a.log.Warn("this host's presence went False while connected (a last will delivered late?); announcing it again")
	a.announce()
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
