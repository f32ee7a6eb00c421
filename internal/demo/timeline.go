package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/stormguard/stormguard/internal/guard"
	"github.com/stormguard/stormguard/mqtt"
	"github.com/stormguard/stormguard/storm"
	"github.com/stormguard/stormguard/weather"
	"github.com/stormguard/stormguard/wire"
)

// CancelText is what the demo's person publishes on CANCEL.
const CancelText = "false alarm: just checked the radar"

// note is one thing seen, for the timeline; one field is set.
type note struct {
	strike   *weather.Strike
	shutdown *wire.Command
	ack      *wire.Ack
	event    *guard.Event
	state    *guard.State
}

// observe subscribes, as any dashboard could, to what the fleet sees.
func observe(ctx context.Context, url string, in chan<- note) (*mqtt.Client, error) {
	c, err := mqtt.New(mqtt.Config{Brokers: []string{url}, ClientID: "stormguard-demo-observer", CleanSession: true})
	if err != nil {
		return nil, fmt.Errorf("demo observer: %w", err)
	}
	t := wire.Topics{}
	pass := func(n note) {
		select {
		case in <- n:
		case <-ctx.Done():
		}
	}
	c.Handle(t.Command(wire.Shutdown), 1, func(m mqtt.Message) {
		if cmd, err := wire.Decode(wire.Shutdown, m.Topic, m.Payload); err == nil {
			pass(note{shutdown: &cmd})
		}
	})
	c.Handle(t.AckFilter(), 1, func(m mqtt.Message) {
		if a, err := wire.DecodeAck(m.Payload); err == nil {
			pass(note{ack: &a})
		}
	})
	c.Handle(t.Event(guard.Name), 1, func(m mqtt.Message) {
		var e guard.Event
		if json.Unmarshal(m.Payload, &e) == nil {
			pass(note{event: &e})
		}
	})
	c.Handle(t.State(guard.Name), 1, func(m mqtt.Message) {
		var s guard.State
		if json.Unmarshal(m.Payload, &s) == nil {
			pass(note{state: &s})
		}
	})
	c.Start()
	if err := c.WaitReady(ctx); err != nil {
		c.Close(0)
		return nil, fmt.Errorf("demo observer: %w", err)
	}
	return c, nil
}

// timeline prints what happens, with the time since the demo began, and
// keeps track of the story's steps.
type timeline struct {
	out   io.Writer
	start time.Time
	speed float64
	in    chan note
	phase storm.Phase
	// band is the nearest of far, watch and inside a strike has been, so
	// the timeline shows the storm's first strike of each and not all 500.
	band int
	// down is when the last host acked done for the second countdown;
	// arrived is the first strike inside the shutdown radius, and lead
	// how long the hosts had been down then (negative: lightning first).
	down, arrived time.Time
	lead          time.Duration
	// The story so far.
	first, second string
	cancelSent    bool
	cancelled     bool
	allClear      bool
	// acks holds, by state and command id, the hosts that sent that ack;
	// an ack can overtake the SHUTDOWN it answers on the way to us.
	acks map[wire.AckState]map[string]map[string]bool
}

func newTimeline(out io.Writer, speed float64) *timeline {
	return &timeline{out: out, start: time.Now(), speed: speed, in: make(chan note, 1024),
		acks: map[wire.AckState]map[string]map[string]bool{}}
}

// hosts counts the hosts that acked command id with state; an empty id
// counts the hosts that sent state for any command.
func (t *timeline) hosts(state wire.AckState, id string) int {
	if id != "" {
		return len(t.acks[state][id])
	}
	all := map[string]bool{}
	for _, hs := range t.acks[state] {
		for h := range hs {
			all[h] = true
		}
	}
	return len(all)
}

func (t *timeline) printf(format string, args ...any) {
	fmt.Fprintf(t.out, "%6.2fs  %s\n", time.Since(t.start).Seconds(), fmt.Sprintf(format, args...))
}

// run prints notes until the story is complete or ctx ends. cancel
// publishes a CANCEL, as a person would, once the fleet counts down.
func (t *timeline) run(ctx context.Context, cancel func(text string) error) error {
	for !t.complete() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case n := <-t.in:
			t.show(n)
		}
		if t.first != "" && t.hosts(wire.Scheduled, t.first) == len(Hosts) && !t.cancelSent {
			t.cancelSent = true
			t.printf("a person publishes CANCEL %q", CancelText)
			if err := cancel(CancelText); err != nil {
				return fmt.Errorf("publish CANCEL: %w", err)
			}
		}
	}
	if t.lead <= 0 {
		return fmt.Errorf("lightning came inside the shutdown radius before the hosts were down")
	}
	t.printf("story complete: a tracked storm, a countdown cancelled by a person, a second one carried out by %d hosts (dry run) %.0f storm minutes before lightning came inside 16 km, all clear",
		len(Hosts), t.stormMinutes(t.lead))
	return nil
}

// stormMinutes is d on the demo's clock in minutes of the recorded storm.
func (t *timeline) stormMinutes(d time.Duration) float64 { return d.Minutes() * t.speed }

func (t *timeline) complete() bool {
	return t.cancelled && t.hosts(wire.Cancelled, "") == len(Hosts) && t.second != "" &&
		t.hosts(wire.Done, t.second) == len(Hosts) && !t.arrived.IsZero() && t.allClear
}

// missing names the steps of the story that did not happen.
func (t *timeline) missing() string {
	var m []string
	check := func(ok bool, step string) {
		if !ok {
			m = append(m, step)
		}
	}
	check(t.first != "", "first SHUTDOWN")
	check(t.first != "" && t.hosts(wire.Scheduled, t.first) == len(Hosts),
		fmt.Sprintf("scheduled acks from every host (got %d)", t.hosts(wire.Scheduled, t.first)))
	check(t.cancelled, "stormguard cancelling the first countdown")
	check(t.hosts(wire.Cancelled, "") == len(Hosts), fmt.Sprintf("cancelled acks from every host (got %d)", t.hosts(wire.Cancelled, "")))
	check(t.second != "", "second SHUTDOWN")
	check(t.second != "" && t.hosts(wire.Done, t.second) == len(Hosts),
		fmt.Sprintf("done acks from every host for the second SHUTDOWN (got %d)", t.hosts(wire.Done, t.second)))
	check(!t.arrived.IsZero(), "lightning inside the shutdown radius")
	check(t.allClear, "all clear")
	return "missing " + strings.Join(m, ", ")
}

func (t *timeline) show(n note) {
	switch {
	case n.strike != nil:
		t.showStrike(*n.strike)
	case n.shutdown != nil:
		c := n.shutdown
		switch {
		case t.first == "":
			t.first = c.ID
		case c.ID != t.first && t.second == "":
			t.second = c.ID
		}
		t.printf("SHUTDOWN %s published, deadline %s: %q", c.ID, c.Deadline.Format("15:04:05Z"), c.Reason)
	case n.ack != nil:
		t.showAck(*n.ack)
		if t.second != "" && n.ack.ID == t.second && n.ack.State == wire.Done && t.hosts(wire.Done, t.second) == len(Hosts) && t.down.IsZero() {
			t.down = time.Now()
			t.printf("every host is down (dry run); the storm's lightning is not inside 16 km yet")
		}
	case n.event != nil:
		t.showEvent(*n.event)
	case n.state != nil:
		s := n.state
		if s.Phase == t.phase {
			return
		}
		t.phase = s.Phase
		line := "stormguard state: phase " + string(s.Phase)
		if s.Nearest != nil {
			line += fmt.Sprintf(", nearest %.1f km %s, trend %s", s.Nearest.DistanceKM, s.Bearing, s.Trend)
		}
		if !s.Deadline.IsZero() {
			line += ", deadline " + s.Deadline.Format("15:04:05Z")
		}
		if len(s.Cells) > 0 {
			c := s.Cells[0]
			line += fmt.Sprintf(", tracking cell %d: %.0f km %s moving %s at %.0f ± %.0f km/h",
				c.ID, c.DistanceKM, weather.Compass(c.BearingDeg), weather.Compass(c.HeadingDeg), c.SpeedKMH, c.SpeedErrKMH)
		}
		t.printf("%s", line)
	}
}

func (t *timeline) showAck(a wire.Ack) {
	line := fmt.Sprintf("ack %-9s %-9s %s", a.Host, a.State, a.ID)
	if t.acks[a.State] == nil {
		t.acks[a.State] = map[string]map[string]bool{}
	}
	if t.acks[a.State][a.ID] == nil {
		t.acks[a.State][a.ID] = map[string]bool{}
	}
	t.acks[a.State][a.ID][a.Host] = true
	if a.Detail != "" {
		line += " (" + a.Detail + ")"
	}
	t.printf("%s", line)
}

func (t *timeline) showEvent(e guard.Event) {
	switch e.Kind {
	case guard.EventShutdown, guard.EventPhase:
		return // shown from the SHUTDOWN and state topics
	case guard.EventCancelled:
		t.cancelled = true
	case guard.EventAllClear:
		t.allClear = true
	}
	t.printf("stormguard %s: %s", e.Kind, e.Text)
}

// showStrike prints the storm's first strike, its first inside the watch
// radius and its first inside the shutdown radius, with how long the
// hosts had been down by then.
func (t *timeline) showStrike(s weather.Strike) {
	cfg := storm.DefaultConfig()
	band := 1
	switch {
	case s.DistanceKM < cfg.ShutdownRadiusKM:
		band = 3
	case s.DistanceKM < cfg.WatchRadiusKM:
		band = 2
	}
	if band <= t.band {
		return
	}
	t.band = band
	what := [...]string{1: "the storm's first strike", 2: "first strike inside the watch radius", 3: "first strike inside the shutdown radius"}[band]
	line := fmt.Sprintf("%s: %s", what, describe(s))
	if band == 3 {
		t.arrived = time.Now()
		if t.down.IsZero() {
			t.lead = -1
			line += "; the hosts are not down yet"
		} else {
			t.lead = t.arrived.Sub(t.down)
			line += fmt.Sprintf("; the hosts have been down for %.1f s, %.0f minutes of the storm (they were allowed 3 to power off)",
				t.lead.Seconds(), t.stormMinutes(t.lead))
		}
	}
	t.printf("%s", line)
}

// describe says how far and which way a strike is, and what that means.
func describe(s weather.Strike) string {
	d := fmt.Sprintf("%.1f km", s.DistanceKM)
	if s.HasBearing {
		d += " " + weather.Compass(s.BearingDeg)
	}
	cfg := storm.DefaultConfig()
	switch {
	case s.DistanceKM < cfg.ShutdownRadiusKM:
		return d + ", inside the shutdown radius"
	case s.DistanceKM < cfg.WatchRadiusKM:
		return d + ", inside the watch radius"
	}
	return d + ", far away"
}
