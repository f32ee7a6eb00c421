package presence

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unique"

	"github.com/stormguard/stormguard/wire"
)

// Default limits. They bound the memory a flood of made-up names can take
// (a million resources of a few topics each is some hundreds of MiB) and
// are far above any fleet the product is for. Reaching one is never silent:
// Observe returns ErrFull and Limits counts what was refused.
const (
	DefaultMaxResources = 1_000_000
	DefaultMaxTopics    = 10_000
	DefaultGrace        = time.Second
)

// Errors Observe returns for a message it did not act on. A caller logs
// ErrTopic quietly (it is not part of the contract) and the others loudly.
var (
	ErrTopic   = errors.New("not a presence, heartbeat, data or command availability topic")
	ErrPayload = errors.New("not a presence value")
	ErrFull    = errors.New("limit reached")
)

// Config sets up a Registry. The zero value works.
type Config struct {
	// Topics builds and parses the topic names (with the prefix, if any).
	Topics wire.Topics
	// MaxResources caps how many resources are tracked; default DefaultMaxResources.
	MaxResources int
	// MaxTopics caps the data and command topics of one resource; default DefaultMaxTopics.
	MaxTopics int
	// Misses is how many heartbeats in a row a resource that beats may
	// miss before Expire judges it gone; default wire.DefaultMisses.
	Misses int
	// Grace is how long a live True announced by an absent resource waits
	// for the resource's presence True before Sweep answers it with False;
	// default DefaultGrace. See Sweep.
	Grace time.Duration
	// AlwaysRetain makes every False retained. Without it a False is
	// retained only for a topic seen as a retained message at least once:
	// MQTT 3.1.1 delivers every live message with the retain flag unset, so
	// a topic announced retained while the registry was listening looks
	// the same as one announced without it.
	AlwaysRetain bool
	// Now stamps state changes; default time.Now.
	Now func() time.Time
}

// Validate reports the first bad setting.
func (c Config) Validate() error {
	switch {
	case c.MaxResources < 0:
		return fmt.Errorf("max resources: %d is negative", c.MaxResources)
	case c.MaxTopics < 0:
		return fmt.Errorf("max topics: %d is negative", c.MaxTopics)
	case c.Misses < 0:
		return fmt.Errorf("misses: %d is negative", c.Misses)
	case c.Grace < 0:
		return fmt.Errorf("grace: %v is negative", c.Grace)
	}
	return nil
}

// Publish is a message the Registry asks the caller to send: False on a
// data or command topic; or, for a resource whose heartbeats stopped, the
// presence False its will would have published, and True again on
// everything that marked when its beats come back.
type Publish struct {
	Topic    string
	Payload  []byte
	Retained bool
	// What names the topic, for logs. For a presence topic Kind is zero and
	// Name is "presence".
	What wire.Availability
}

// Registry is the picture of the network. It is safe for concurrent use.
type Registry struct {
	cfg Config
	mu  sync.Mutex
	res map[string]*resource
	// orphans are absent resources holding a live True that may have
	// overtaken their departure; Sweep settles them.
	orphans map[string]struct{}
	// beating are the resources whose heartbeat Expire watches; minEvery
	// is the shortest interval any of them announced, in nanoseconds.
	beating  map[string]*resource
	minEvery int64
	limits   Limits
}

// resource is kept small: the benchmark size is 10,000 of them.
type resource struct {
	state    State
	retained bool  // the state came from a retained message
	byBeat   bool  // absent because its heartbeats stopped, not by its will
	echo     bool  // Expire's presence False not yet seen back from the broker
	full     bool  // a topic was refused: MaxTopics reached
	since    int64 // unix nanoseconds of the last state change
	orphanAt int64 // unix nanoseconds of the first live True while absent; 0 if none
	heard    int64 // unix nanoseconds of the last heartbeat heard; 0 if none
	every    int64 // the heartbeat interval the resource announced, in nanoseconds
	items    []item
}

// item is one announced topic in 16 bytes: names like "shutdown" repeat
// across the fleet, so they are interned.
type item struct {
	name unique.Handle[string]
	bits uint8
}

const (
	bitCommand   uint8 = 1 << iota // a command topic, else data
	bitAvailable                   // last value seen (or sent) was True
	bitRetained                    // seen as a retained message at least once
	bitByBeat                      // marked False because the heartbeats stopped
	bitEcho                        // Expire's False not yet seen back from the broker
)

func (it item) has(b uint8) bool { return it.bits&b != 0 }

func (it *item) set(b uint8, on bool) {
	if on {
		it.bits |= b
	} else {
		it.bits &^= b
	}
}

func (it item) kind() wire.AvailabilityKind {
	if it.has(bitCommand) {
		return wire.CommandKind
	}
	return wire.DataKind
}

// New returns an empty Registry.
func New(cfg Config) (*Registry, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.MaxResources == 0 {
		cfg.MaxResources = DefaultMaxResources
	}
	if cfg.MaxTopics == 0 {
		cfg.MaxTopics = DefaultMaxTopics
	}
	if cfg.Grace == 0 {
		cfg.Grace = DefaultGrace
	}
	if cfg.Misses == 0 {
		cfg.Misses = wire.DefaultMisses
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	r := &Registry{cfg: cfg, res: make(map[string]*resource), orphans: make(map[string]struct{}), beating: make(map[string]*resource)}
	r.limits.MaxResources, r.limits.MaxTopics = cfg.MaxResources, cfg.MaxTopics
	return r, nil
}

// Observe records one message from the broker and returns the False
// messages to publish because of it. retained is the message's retain flag
// as delivered: true only for a stored message replayed on subscribe.
//
// A presence False (the will fired, or the resource said so) returns a
// False for each of the resource's topics last seen True. A data or command
// True is recorded; when the resource is known to be absent, a retained one
// (a leftover the broker hands every new subscriber) is answered with a
// False at once, and a live one is left to Sweep. A data or command False,
// the manager's own echo included, is recorded and returns nothing.
//
// A heartbeat is recorded (see Expire); a live one from a resource that
// Expire judged gone returns what undoes Expire's marks.
//
// A message Observe cannot use returns an error wrapping ErrTopic,
// ErrPayload or ErrFull (then also *FullError), and changes nothing.
func (r *Registry) Observe(topic string, payload []byte, retained bool) ([]Publish, error) {
	if res, ok := r.cfg.Topics.ParseHeartbeat(topic); ok {
		b, err := wire.DecodeBeat(payload)
		if err != nil {
			return nil, fmt.Errorf("%w on %s: %w", ErrPayload, quote(topic), err)
		}
		return r.beat(res, b, retained)
	}
	if res, ok := r.cfg.Topics.ParsePresenceTopic(topic); ok {
		present, ok := wire.ParsePresence(payload)
		if !ok {
			return nil, payloadError(topic, payload)
		}
		return r.presence(res, present, retained)
	}
	a, ok := r.cfg.Topics.ParseAvailability(topic)
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrTopic, quote(topic))
	}
	avail, ok := wire.ParsePresence(payload)
	if !ok {
		return nil, payloadError(topic, payload)
	}
	return r.availability(a, avail, retained)
}

func (r *Registry) presence(name string, present, retained bool) ([]Publish, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rs, err := r.resource(name)
	if err != nil {
		return nil, err
	}
	if !present && rs.echo {
		rs.echo = false
		if rs.state == Present {
			// Expire's False, overtaken on a busy cluster by the
			// resource's own True: it arrived last, so the broker now
			// holds False for a resource that is there. Put True back.
			return []Publish{r.presencePublish(name, true)}, nil
		}
	}
	want := Absent
	if present {
		want = Present
	}
	if rs.state != want {
		rs.state = want
		rs.since = r.cfg.Now().UnixNano()
		rs.retained = retained
	}
	// A True means the resource is back by itself: Expire's marks are
	// no longer Expire's to undo. A False on a resource Expire judged gone
	// is most likely the manager's own presence False coming back from the
	// broker, and changes nothing.
	if present && rs.byBeat {
		rs.byBeat = false
		for i := range rs.items {
			rs.items[i].set(bitByBeat, false)
		}
	}
	if rs.orphanAt != 0 {
		rs.orphanAt = 0
		delete(r.orphans, name)
	}
	if present {
		return nil, nil
	}
	var out []Publish
	for i := range rs.items {
		it := &rs.items[i]
		if it.has(bitAvailable) {
			it.set(bitAvailable, false)
			out = append(out, r.publish(name, *it))
		}
	}
	return out, nil
}

func (r *Registry) availability(a wire.Availability, avail, retained bool) ([]Publish, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rs, err := r.resource(a.Resource)
	if err != nil {
		return nil, err
	}
	it, err := r.item(rs, a)
	if err != nil {
		return nil, err
	}
	if !avail && it.has(bitEcho) {
		it.set(bitEcho, false)
		if it.has(bitAvailable) && rs.state == Present {
			// As for the presence: our stale False came last.
			return []Publish{r.publishValue(a.Resource, *it, true)}, nil
		}
	}
	it.set(bitAvailable, avail)
	if avail {
		it.set(bitByBeat, false) // a False is most likely our own echo
	}
	if retained {
		it.set(bitRetained, true)
	}
	if !avail || rs.state != Absent {
		return nil, nil
	}
	if retained {
		it.set(bitAvailable, false)
		return []Publish{r.publish(a.Resource, *it)}, nil
	}
	// A live True while absent is either a resource coming back whose
	// presence True is a moment behind, or an announcement that the
	// departure overtook on the way in (the mqtt client delivers
	// concurrently). Sweep tells them apart after Grace.
	if rs.orphanAt == 0 {
		rs.orphanAt = r.cfg.Now().UnixNano()
		r.orphans[a.Resource] = struct{}{}
	}
	return nil, nil
}

// Sweep returns a False for every topic announced True by a resource that
// has been absent throughout the Grace since the announcement. Call it now
// and then (every Grace/4 is plenty); it costs nothing when there is
// nothing to settle.
func (r *Registry) Sweep() []Publish {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.orphans) == 0 {
		return nil
	}
	cutoff := r.cfg.Now().Add(-r.cfg.Grace).UnixNano()
	var out []Publish
	for name := range r.orphans {
		rs := r.res[name]
		if rs.orphanAt > cutoff {
			continue
		}
		rs.orphanAt = 0
		delete(r.orphans, name)
		for i := range rs.items {
			if it := &rs.items[i]; it.has(bitAvailable) {
				it.set(bitAvailable, false)
				out = append(out, r.publish(name, *it))
			}
		}
	}
	return out
}

// resource finds or adds name; r.mu is held.
func (r *Registry) resource(name string) (*resource, error) {
	if rs := r.res[name]; rs != nil {
		return rs, nil
	}
	if len(r.res) >= r.cfg.MaxResources {
		r.limits.ResourcesRefused++
		return nil, &FullError{Limit: "max-resources", Max: r.cfg.MaxResources, Resource: name, First: r.limits.ResourcesRefused == 1}
	}
	rs := &resource{}
	r.res[strings.Clone(name)] = rs
	return rs, nil
}

// item finds or adds a's topic in rs; r.mu is held.
func (r *Registry) item(rs *resource, a wire.Availability) (*item, error) {
	h := unique.Make(a.Name)
	var bits uint8
	if a.Kind == wire.CommandKind {
		bits = bitCommand
	}
	for i := range rs.items {
		if it := &rs.items[i]; it.name == h && it.bits&bitCommand == bits {
			return it, nil
		}
	}
	if len(rs.items) >= r.cfg.MaxTopics {
		r.limits.TopicsRefused++
		first := !rs.full
		if first {
			rs.full = true
			r.limits.FullResources++
		}
		return nil, &FullError{Limit: "max-topics", Max: r.cfg.MaxTopics, Resource: a.Resource, Topic: a.Name, First: first}
	}
	rs.items = append(rs.items, item{name: h, bits: bits})
	return &rs.items[len(rs.items)-1], nil
}

func (r *Registry) publish(res string, it item) Publish {
	return r.publishValue(res, it, false)
}

func (r *Registry) publishValue(res string, it item, avail bool) Publish {
	a := wire.Availability{Kind: it.kind(), Resource: res, Name: it.name.Value()}
	return Publish{
		Topic:    r.cfg.Topics.Availability(a),
		Payload:  []byte(presenceWord(avail)),
		Retained: it.has(bitRetained) || r.cfg.AlwaysRetain,
		What:     a,
	}
}

func presenceWord(b bool) string {
	if b {
		return wire.PresenceTrue
	}
	return wire.PresenceFalse
}

func payloadError(topic string, payload []byte) error {
	if len(payload) > 64 {
		return fmt.Errorf("%w on %s: %d bytes", ErrPayload, quote(topic), len(payload))
	}
	return fmt.Errorf("%w on %s: %q", ErrPayload, quote(topic), payload)
}

// quote shows a name from the network safely in a log line.
func quote(s string) string {
	if len(s) > 100 {
		return fmt.Sprintf("%q... (%d bytes)", s[:100], len(s))
	}
	return fmt.Sprintf("%q", s)
}
