package main

import (
	"sync"
	"time"

	"github.com/stormguard/stormguard/mqtt"
	"github.com/stormguard/stormguard/wire"
)

// beats is what the hosts' heartbeats say. -status runs for a moment, too
// short to count missed beats itself, so it judges from the retained
// beat's own timestamp: a host whose last beat is older than
// wire.DefaultMisses intervals (and a quarter) is gone, whatever its
// retained presence says, as when the broker node that held its
// connection died and sent no will. A beat heard live during the run
// settles it the other way. A clock on the host far behind this one's can
// make a live host look gone; with the default 10 s beat that takes more
// than 30 s of skew.
type beats struct {
	mu   sync.Mutex
	last map[string]seenBeat
}

type seenBeat struct {
	b    wire.Beat
	live bool
}

// handle records one heartbeat message.
func (bs *beats) handle(topics wire.Topics) mqtt.Handler {
	return func(m mqtt.Message) {
		host, ok := topics.ParseHeartbeat(m.Topic)
		if !ok {
			return
		}
		b, err := wire.DecodeBeat(m.Payload)
		if err != nil {
			return
		}
		bs.mu.Lock()
		defer bs.mu.Unlock()
		if bs.last == nil {
			bs.last = map[string]seenBeat{}
		}
		bs.last[host] = seenBeat{b: b, live: bs.last[host].live || !m.Retained}
	}
}

// gone reports whether host's heartbeats have stopped as of now, and how
// long its last beat is ago. A host that never beat is not gone by this
// test (an older agent, or heartbeats turned off).
func (bs *beats) gone(host string, now time.Time) (bool, time.Duration) {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	s, ok := bs.last[host]
	if !ok || s.live {
		return false, 0
	}
	return s.b.Gone(s.b.At, now, wire.DefaultMisses), now.Sub(s.b.At).Round(time.Second)
}
