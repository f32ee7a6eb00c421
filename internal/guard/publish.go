package guard

import (
	"context"
	"encoding/json"
	"time"

	"github.com/stormguard/stormguard/mqtt"
	"github.com/stormguard/stormguard/storm"
	"github.com/stormguard/stormguard/weather"
	"github.com/stormguard/stormguard/wire"
)

// The kinds of event on the events topic, besides the engine's own
// info, watch and warn.
const (
	EventShutdown  = "shutdown"
	EventCancelled = "cancelled"
	EventAllClear  = "allclear"
	EventPhase     = "phase"
)

// Event is one message on Topics.Event("stormguard"), never retained.
type Event struct {
	V         int         `json:"v"`
	At        time.Time   `json:"at"`
	Kind      string      `json:"kind"`
	Text      string      `json:"text"`
	Phase     storm.Phase `json:"phase,omitempty"`
	StormID   string      `json:"storm_id,omitempty"`
	CommandID string      `json:"command_id,omitempty"`
	Deadline  time.Time   `json:"deadline,omitzero"`
}

// State is the retained message on Topics.State("stormguard"): the engine's
// state with who publishes it, when, the current command and the compass
// bearing of the nearest strike.
type State struct {
	V         int       `json:"v"`
	At        time.Time `json:"at"`
	Issuer    string    `json:"issuer,omitempty"`
	CommandID string    `json:"command_id,omitempty"`
	Bearing   string    `json:"bearing,omitempty"`
	// Broker is the link to the broker as stormguard saw it: the last
	// outage, reported once the link was back.
	Broker *Link `json:"broker,omitempty"`
	// Wake is the last wake-up after a storm, when waking is on.
	Wake *WakeReport `json:"wake,omitempty"`
	// Fleet is the hosts in the order they power down, with their
	// presence and latest answer.
	Fleet []FleetHost `json:"fleet,omitempty"`
	storm.State
}

// outgoing is one message for the publisher.
type outgoing struct {
	topic    string
	qos      byte
	retained bool
	payload  []byte
	// command is set for a SHUTDOWN: retried until accepted or expired.
	command *wire.Command
}

// kind names the sort of message, for the publish failure metric.
func (g *Guard) kindOf(m outgoing) string {
	switch {
	case m.command != nil:
		return "command"
	case m.topic == g.cfg.Topics.Presence(Name):
		return "presence"
	case m.retained:
		return "state"
	}
	return "event"
}

// connect prepares the fleet connection: a persistent session, so a CANCEL
// sent while stormguard restarts is still delivered, and the presence will.
func (g *Guard) connect() error {
	m := g.cfg.MQTT
	m.CleanSession = false
	m.Logger = g.log
	m.Will = &mqtt.Will{Topic: g.cfg.Topics.Presence(Name), Payload: []byte(wire.PresenceFalse), QoS: 1, Retained: true}
	c, err := mqtt.New(m)
	if err != nil {
		return err
	}
	c.Handle(g.cfg.Topics.Command(wire.Cancel), 1, g.onCancelMessage)
	if g.wk != nil {
		g.wk.ownFalse = func() { g.send(input{ownFalse: true}) }
		g.wk.subscribe(c, g.cfg.Topics)
	}
	c.OnLost(func(err error) { g.send(input{lost: err}) })
	c.OnConnect(func() {
		g.send(input{connected: true})
		g.once.Do(func() { close(g.ready) })
	})
	g.client = c
	return nil
}

// onCancelMessage runs on paho's goroutine: it only decodes and hands off.
// A retained CANCEL is old news replayed by the broker, never obeyed.
func (g *Guard) onCancelMessage(m mqtt.Message) {
	if m.Retained {
		g.log.Info("retained CANCEL ignored", "topic", m.Topic)
		return
	}
	c, err := wire.Decode(wire.Cancel, m.Topic, m.Payload)
	if err != nil {
		g.log.Warn("bad CANCEL ignored", "err", err)
		return
	}
	g.send(input{cancel: &c})
}

// announce runs on every connect: presence and the current state, retained.
func (g *Guard) announce() {
	g.queue(outgoing{topic: g.cfg.Topics.Presence(Name), qos: g.cfg.QoS, retained: true, payload: []byte(wire.PresenceTrue)})
	g.publishState(g.engine.State(), g.now().UTC())
}

func (g *Guard) publishState(st storm.State, now time.Time) {
	msg := State{V: 1, At: now, Issuer: g.cfg.Issuer, CommandID: commandID(st), State: st, Broker: g.link.report(), Wake: g.wk.lastReport(), Fleet: g.wk.fleet()}
	if st.Nearest != nil && st.Nearest.HasBearing {
		msg.Bearing = weather.Compass(st.Nearest.BearingDeg)
	}
	b, err := json.Marshal(msg)
	if err != nil {
		g.log.Error("encode state", "err", err)
		return
	}
	g.queue(outgoing{topic: g.cfg.Topics.State(Name), qos: g.cfg.QoS, retained: true, payload: b})
}

func (g *Guard) publishEvent(ev Event) {
	b, err := json.Marshal(ev)
	if err != nil {
		g.log.Error("encode event", "err", err)
		return
	}
	g.queue(outgoing{topic: g.cfg.Topics.Event(Name), qos: g.cfg.QoS, payload: b})
}

func (g *Guard) queueCommand(c wire.Command) {
	b, err := c.Encode()
	if err != nil {
		g.log.Error("encode command", "id", c.ID, "err", err)
		return
	}
	qos := max(g.cfg.QoS, 1)
	g.queue(outgoing{topic: g.cfg.Topics.Command(wire.Shutdown), qos: qos, payload: b, command: &c})
}

// queue hands a message to the publisher without holding up the loop. When
// the broker has been away so long that the queue is full, state and events
// are dropped (a newer state follows); a SHUTDOWN is not: it waits.
func (g *Guard) queue(m outgoing) {
	if m.command != nil {
		select {
		case g.out <- m:
		case <-g.done:
		}
		return
	}
	select {
	case g.out <- m:
	default:
		g.log.Warn("publish queue full; message dropped", "topic", m.topic)
	}
}

// publisher sends messages in order. A SHUTDOWN is retried until the broker
// accepts it or it expires; then the loop drops it from the outbox.
func (g *Guard) publisher(ctx context.Context) {
	for {
		var m outgoing
		select {
		case <-ctx.Done():
			return
		case m = <-g.out:
		}
		for wait := 500 * time.Millisecond; ; wait = min(2*wait, 10*time.Second) {
			pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := g.client.Publish(pctx, m.topic, m.qos, m.retained, m.payload)
			cancel()
			if err == nil {
				if m.command != nil {
					g.send(input{published: m.command.ID})
				}
				break
			}
			if ctx.Err() != nil {
				return
			}
			if g.cfg.Hooks.PublishFailed != nil {
				g.cfg.Hooks.PublishFailed(g.kindOf(m))
			}
			if m.command == nil {
				g.log.Warn("publish", "topic", m.topic, "err", err)
				break
			}
			if !m.command.Expires.IsZero() && g.now().After(m.command.Expires) {
				g.log.Error("SHUTDOWN expired before the broker took it", "id", m.command.ID, "err", err)
				g.send(input{published: m.command.ID})
				break
			}
			g.log.Warn("SHUTDOWN not yet accepted by the broker; retrying", "id", m.command.ID, "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
		}
	}
}

// goodbye marks stormguard offline on a clean stop (a clean disconnect
// sends no will) and closes the connection.
func (g *Guard) goodbye() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if g.client.Connected() {
		g.client.Publish(ctx, g.cfg.Topics.Presence(Name), g.cfg.QoS, true, []byte(wire.PresenceFalse))
	}
	g.client.Close(250 * time.Millisecond)
}
