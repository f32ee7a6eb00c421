package presence

import (
	"strings"
	"time"

	"github.com/stormguard/stormguard/wire"
)

// Heartbeats cover what the will cannot: on a clustered broker the will of
// a client is published only by the node holding its connection, so when
// that node dies no will is sent and the resource would stay "present"
// for ever. A resource that beats once is expected to keep beating; Expire
// judges it gone after Config.Misses beats missed in a row and returns the
// very messages its will would have caused: the presence False, retained,
// and a False on each of its topics still True. The will stays the fast
// path: a resource whose presence is already False is left alone.
//
// Misses are counted on the registry's clock from when a beat was heard,
// never from the sender's timestamp, so clocks that disagree do no harm.
//
// On a cluster whose JetStream is re-electing, the manager's Falses can
// reach the broker after the resource, back on another node, announced
// itself True again: two publishers, one retained topic, no order between
// them. The registry remembers each False of Expire's until it comes back;
// one that comes back after the resource's True is answered with True.

// beat records a heartbeat from name.
func (r *Registry) beat(name string, b wire.Beat, retained bool) ([]Publish, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rs, err := r.resource(name)
	if err != nil {
		return nil, err
	}
	rs.heard = r.cfg.Now().UnixNano()
	rs.every = int64(b.Interval)
	if _, ok := r.beating[name]; !ok {
		r.beating[strings.Clone(name)] = rs
	}
	if r.minEvery == 0 || rs.every < r.minEvery {
		r.minEvery = rs.every
	}
	if retained || !rs.byBeat {
		return nil, nil
	}
	// A live beat from a resource Expire marked gone: it is back (the
	// broker's nodes healed, or a slow link caught up) without having
	// reconnected, so it will not announce itself again. Undo exactly
	// what Expire did.
	rs.byBeat = false
	rs.state = Present
	rs.since = rs.heard
	rs.retained = false
	out := []Publish{r.presencePublish(name, true)}
	for i := range rs.items {
		if it := &rs.items[i]; it.has(bitByBeat) {
			it.set(bitByBeat, false)
			it.set(bitAvailable, true)
			out = append(out, r.publishValue(name, *it, true))
		}
	}
	return out, nil
}

// Expire returns, for every resource that beats and has missed
// Config.Misses beats while not known absent, its presence False (retained,
// as its will) and a False for each of its topics still True. Call it
// about every beat interval; it looks only at resources that beat.
func (r *Registry) Expire() []Publish {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.beating) == 0 {
		return nil
	}
	now := r.cfg.Now()
	nowNS := now.UnixNano()
	misses := int64(r.cfg.Misses)
	var out []Publish
	for name, rs := range r.beating {
		// wire.Beat.Gone in integer nanoseconds: this runs over every
		// beating resource with the registry locked.
		if rs.state == Absent || nowNS-rs.heard <= misses*rs.every+rs.every/4 {
			continue
		}
		rs.state = Absent
		rs.byBeat = true
		rs.echo = true
		rs.retained = false
		rs.since = now.UnixNano()
		if rs.orphanAt != 0 {
			rs.orphanAt = 0
			delete(r.orphans, name)
		}
		out = append(out, r.presencePublish(name, false))
		for i := range rs.items {
			if it := &rs.items[i]; it.has(bitAvailable) {
				it.set(bitAvailable, false)
				it.set(bitByBeat|bitEcho, true)
				out = append(out, r.publish(name, *it))
			}
		}
	}
	return out
}

// Heard restarts the count of missed beats for every resource that beats,
// as if each had just been heard. A manager calls it when its own link to
// the broker comes back: while it was away it heard nobody, which says
// nothing about them.
func (r *Registry) Heard() {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.cfg.Now().UnixNano()
	for _, rs := range r.beating {
		rs.heard = now
	}
}

// ExpireEvery is how often Expire is worth calling: a quarter of the
// shortest heartbeat interval any resource has announced, and 250 ms
// before any has.
func (r *Registry) ExpireEvery() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.minEvery == 0 {
		return 250 * time.Millisecond
	}
	return time.Duration(r.minEvery / 4)
}

// presencePublish is the presence message for name: retained, as a will is.
func (r *Registry) presencePublish(name string, present bool) Publish {
	return Publish{
		Topic:    r.cfg.Topics.Presence(name),
		Payload:  []byte(presenceWord(present)),
		Retained: true,
		What:     wire.Availability{Resource: name, Name: "presence"},
	}
}
