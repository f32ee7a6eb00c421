package agent

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/stormguard/stormguard/wire"
)

// Peer is what this host knows of another host from the broker: its
// retained state, its presence and the acks it sent lately.
type Peer struct {
	Stage int
	// Present is the last presence seen; PresenceKnown says one was seen.
	Present       bool
	PresenceKnown bool
	// Pending are the countdowns its state lists.
	Pending []string
	// Acks are its latest acks, oldest first (at most keepAcks).
	Acks []wire.Ack
}

// keepAcks bounds the acks remembered per peer.
const keepAcks = 32

// Fleet is the other hosts by name, as learnt from the broker.
type Fleet map[string]*Peer

func (f Fleet) peer(host string) *Peer {
	p := f[host]
	if p == nil {
		p = &Peer{Stage: wire.StageDefault}
		f[host] = p
	}
	return p
}

// SetState takes a peer's retained state.
func (f Fleet) SetState(s wire.HostState) {
	p := f.peer(s.Host)
	p.Stage = s.StageOf()
	p.Pending = p.Pending[:0]
	for _, pend := range s.Pending {
		p.Pending = append(p.Pending, pend.ID)
	}
}

// SetPresence takes a peer's presence.
func (f Fleet) SetPresence(host string, present bool) {
	p := f.peer(host)
	p.Present, p.PresenceKnown = present, true
}

// AddAck takes one of a peer's acks.
func (f Fleet) AddAck(k wire.Ack) {
	p := f.peer(k.Host)
	p.Acks = append(p.Acks, k)
	if len(p.Acks) > keepAcks {
		p.Acks = slices.Delete(p.Acks, 0, len(p.Acks)-keepAcks)
	}
}

// involved reports whether the peer has the countdown id: it lists it as
// pending or acked it.
func (p *Peer) involved(id string) bool {
	if slices.Contains(p.Pending, id) {
		return true
	}
	for _, k := range p.Acks {
		if k.ID == id {
			return true
		}
	}
	return false
}

// gone reports whether the peer is out of the way of later stages for the
// command id: its presence is False, or its handling of id has ended
// (the power command ran or failed, it stopped, or it will not run it).
func (p *Peer) gone(id string) bool {
	if p.PresenceKnown && !p.Present {
		return true
	}
	for _, k := range p.Acks {
		if k.ID != id {
			continue
		}
		switch k.State {
		case wire.Done, wire.Stopping, wire.Failed, wire.Expired, wire.Cancelled, wire.Rejected:
			return true
		}
	}
	return false
}

// Stages is this host's place in a staged power-down.
type Stages struct {
	// Stage is this host's (wire.StageFirst to wire.StageLast).
	Stage int
	// Limit is how long each stage waits at most for the stages before it.
	Limit time.Duration
}

// Gate is what the stages say about a countdown whose deadline has come.
type Gate struct {
	// Go is set when the countdown may run now.
	Go bool
	// By is when it goes at the latest: the deadline plus one Limit for
	// each earlier stage that holds the same countdown. Max-age counts
	// from here, so waiting for other stages never expires a countdown.
	By time.Time
	// Waiting names the hosts of earlier stages that have not gone yet.
	Waiting []string
}

// Gate decides whether the countdown id due at deadline may go at now,
// given what this host knows of the fleet: the first stage goes at the
// deadline; a later one once every host of the earlier stages that holds
// the same countdown has gone, or when its time limit has passed.
func (s Stages) Gate(f Fleet, id string, deadline, now time.Time) Gate {
	stages := map[int]bool{}
	var waiting []string
	for host, p := range f {
		if p.Stage >= s.Stage || !p.involved(id) {
			continue
		}
		stages[p.Stage] = true
		if !p.gone(id) {
			waiting = append(waiting, host)
		}
	}
	sort.Strings(waiting)
	g := Gate{By: deadline.Add(time.Duration(len(stages)) * s.Limit), Waiting: waiting}
	g.Go = !now.Before(deadline) && (len(waiting) == 0 || !now.Before(g.By))
	return g
}

// Text says what a held countdown waits for.
func (g Gate) Text(f Fleet) string {
	if len(g.Waiting) == 0 {
		return ""
	}
	parts := make([]string, len(g.Waiting))
	for i, h := range g.Waiting {
		parts[i] = fmt.Sprintf("%s (stage %d)", h, f[h].Stage)
	}
	return fmt.Sprintf("waiting for %s, until %s at the latest", strings.Join(parts, ", "), g.By.UTC().Format(time.RFC3339))
}
