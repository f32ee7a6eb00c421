// Package watch follows the fleet as anyone on the broker can see it:
// stormguard's retained state and its events, every agent's retained state,
// presence and acks. It keeps the latest picture (a Snapshot) for the status
// page, Home Assistant and the metrics, and turns what happens into Alerts a
// person must hear about. It reads only what is already published, so the
// agents and the runner need nothing new to be seen.
package watch

import (
	"context"
	"encoding/json"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/stormguard/stormguard/internal/guard"
	"github.com/stormguard/stormguard/mqtt"
	"github.com/stormguard/stormguard/wire"
)

// Cell is a tracked storm cell as the state's "cells" list reports it:
// where it is from the site, where it is going, and when its lightning is
// expected inside the shutdown radius. Fields the state lacks stay zero.
type Cell struct {
	ID         CellID    `json:"id"`
	DistanceKM float64   `json:"distance_km"`
	BearingDeg float64   `json:"bearing_deg"`
	HeadingDeg float64   `json:"heading_deg"`
	SpeedKMH   float64   `json:"speed_kmh"`
	ClosestKM  float64   `json:"closest_km,omitempty"`
	Strikes    int       `json:"strikes,omitempty"`
	Arrival    time.Time `json:"arrival,omitzero"`
}

// CellID is a cell's id, written as a JSON number or string.
type CellID string

// UnmarshalJSON accepts a number or a string.
func (c *CellID) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*c = CellID(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*c = CellID(n.String())
	return nil
}

// Host is what is known of one agent.
type Host struct {
	Name string `json:"name"`
	// Present is the retained presence; Seen is false until one arrived.
	Present bool            `json:"present"`
	Seen    bool            `json:"seen"`
	State   *wire.HostState `json:"state,omitempty"`
	// Acks holds the latest ack per command id, for the current storm.
	Acks map[string]wire.Ack `json:"acks,omitempty"`
}

// Agent reports whether h is an agent: it has published a host state. A
// resource seen only through its presence may be anything the
// servicemanager tracks.
func (h Host) Agent() bool { return h.State != nil }

// Snapshot is the latest picture. Guard is nil until stormguard's retained
// state arrived.
type Snapshot struct {
	At          time.Time    `json:"at"`
	Guard       *guard.State `json:"guard,omitempty"`
	GuardOnline bool         `json:"guard_online"`
	Cells       []Cell       `json:"cells,omitempty"`
	Hosts       []Host       `json:"hosts"`
	// Connected says whether this watcher's own broker link is up.
	Connected bool `json:"connected"`
}

// Config is a Watcher's setup.
type Config struct {
	Topics wire.Topics
	// Client is a connection the Watcher registers its handlers on; it
	// must be created with Ordered set and not yet started.
	Client *mqtt.Client
	// Settle is how long after a countdown's deadline the hosts that did
	// not answer are reported; default 2 minutes.
	Settle time.Duration
	Logger *slog.Logger
	Now    func() time.Time
}

// Watcher keeps the Snapshot up to date. Create it with New.
type Watcher struct {
	cfg   Config
	log   *slog.Logger
	mu    sync.Mutex
	guard *guard.State
	cells []Cell
	// guardOnline is stormguard's presence.
	guardOnline bool
	hosts       map[string]*Host
	connected   bool
	subs        map[chan struct{}]bool
	alerts      *alerter
}

// New registers the handlers on cfg.Client; start the client afterwards.
func New(cfg Config) *Watcher {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Settle <= 0 {
		cfg.Settle = 2 * time.Minute
	}
	w := &Watcher{cfg: cfg, log: cfg.Logger, hosts: map[string]*Host{}, subs: map[chan struct{}]bool{}}
	w.alerts = newAlerter(cfg.Settle, cfg.Now)
	t := cfg.Topics
	c := cfg.Client
	c.Handle(t.StateFilter(), 1, w.onState)
	c.Handle(t.PresenceFilter(), 1, w.onPresence)
	c.Handle(t.AckFilter(), 1, w.onAck)
	c.Handle(t.Event(guard.Name), 1, w.onEvent)
	c.OnConnect(func() { w.setConnected(true) })
	c.OnLost(func(error) { w.setConnected(false) })
	return w
}

// Alerts delivers what a person must hear about, in order. It is never
// closed: messages can still arrive while the connection closes.
func (w *Watcher) Alerts() <-chan Alert { return w.alerts.out }

// Run sends the alerts that wait for a deadline until ctx ends.
func (w *Watcher) Run(ctx context.Context) {
	w.alerts.run(ctx, w)
}

// Subscribe returns a channel that gets a value (coalesced) after every
// change, and a func that ends the subscription.
func (w *Watcher) Subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	w.mu.Lock()
	w.subs[ch] = true
	w.mu.Unlock()
	return ch, func() {
		w.mu.Lock()
		delete(w.subs, ch)
		w.mu.Unlock()
	}
}

// changed wakes every subscriber; callers hold w.mu.
func (w *Watcher) changed() {
	for ch := range w.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// Snapshot returns a copy of the latest picture, hosts sorted by name.
func (w *Watcher) Snapshot() Snapshot {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := Snapshot{At: w.cfg.Now().UTC(), GuardOnline: w.guardOnline, Connected: w.connected,
		Cells: append([]Cell(nil), w.cells...), Hosts: make([]Host, 0, len(w.hosts))}
	if w.guard != nil {
		g := *w.guard
		s.Guard = &g
	}
	for _, h := range w.hosts {
		c := *h
		c.Acks = make(map[string]wire.Ack, len(h.Acks))
		for k, v := range h.Acks {
			c.Acks[k] = v
		}
		s.Hosts = append(s.Hosts, c)
	}
	sort.Slice(s.Hosts, func(i, j int) bool { return s.Hosts[i].Name < s.Hosts[j].Name })
	return s
}

func (w *Watcher) setConnected(up bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.connected = up
	w.changed()
}

func (w *Watcher) host(name string) *Host {
	h := w.hosts[name]
	if h == nil {
		h = &Host{Name: name, Acks: map[string]wire.Ack{}}
		w.hosts[name] = h
	}
	return h
}

func (w *Watcher) onState(m mqtt.Message) {
	name, ok := w.cfg.Topics.ParseState(m.Topic)
	if !ok {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	defer w.changed()
	if name == guard.Name {
		w.onGuardState(m.Payload)
		return
	}
	if len(m.Payload) == 0 {
		// A cleared retained state is how a host is removed from the fleet.
		if _, known := w.hosts[name]; known {
			delete(w.hosts, name)
			w.alerts.removed(name)
		}
		return
	}
	s, err := wire.DecodeHostState(m.Payload)
	if err != nil {
		w.log.Warn("host state ignored", "host", name, "err", err)
		return
	}
	h := w.host(name)
	h.State = &s
	if s.Last != nil {
		w.ack(h, *s.Last, m.Retained)
	}
}

func (w *Watcher) onGuardState(payload []byte) {
	if len(payload) == 0 {
		w.guard, w.cells = nil, nil
		return
	}
	var st guard.State
	if err := json.Unmarshal(payload, &st); err != nil {
		w.log.Warn("stormguard state ignored", "err", err)
		return
	}
	// Cells come from storm tracking when the state carries them; a list
	// in another shape is left out rather than losing the state.
	var extra struct {
		Cells []Cell `json:"cells"`
	}
	if err := json.Unmarshal(payload, &extra); err != nil {
		w.log.Warn("storm cells in stormguard's state ignored", "err", err)
	}
	prev := w.guard
	w.guard, w.cells = &st, extra.Cells
	w.alerts.guardState(prev, &st)
}

func (w *Watcher) onPresence(m mqtt.Message) {
	res, ok := w.cfg.Topics.ParsePresenceTopic(m.Topic)
	if !ok {
		return
	}
	present, ok := wire.ParsePresence(m.Payload)
	if !ok && len(m.Payload) > 0 {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	defer w.changed()
	if res == guard.Name {
		w.guardOnline = present
		return
	}
	h, known := w.hosts[res]
	if !known && len(m.Payload) == 0 {
		return
	}
	if !known {
		h = w.host(res)
	}
	h.Present, h.Seen = present, true
}

func (w *Watcher) onAck(m mqtt.Message) {
	if _, ok := w.cfg.Topics.ParseAck(m.Topic); !ok {
		return
	}
	a, err := wire.DecodeAck(m.Payload)
	if err != nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	defer w.changed()
	w.ack(w.host(a.Host), a, m.Retained)
}

// ack records a; callers hold w.mu. A later state for the same command
// replaces an earlier one; an older one is ignored.
func (w *Watcher) ack(h *Host, a wire.Ack, retained bool) {
	if old, ok := h.Acks[a.ID]; ok && a.At.Before(old.At) {
		return
	}
	h.Acks[a.ID] = a
	if len(h.Acks) > 16 {
		var oldest string
		for id, x := range h.Acks {
			if oldest == "" || x.At.Before(h.Acks[oldest].At) {
				oldest = id
			}
		}
		delete(h.Acks, oldest)
	}
	if !retained {
		w.alerts.hostAck(a)
	}
}

func (w *Watcher) onEvent(m mqtt.Message) {
	var ev guard.Event
	if err := json.Unmarshal(m.Payload, &ev); err != nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	var reason string
	if w.guard != nil {
		reason = w.guard.Reason
	}
	w.alerts.event(ev, reason)
}
