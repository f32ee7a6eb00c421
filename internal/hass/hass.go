// Package hass announces stormguard and every host to Home Assistant with
// MQTT device-based discovery: one device per host (presence, last command
// and its state, the pending countdown, version) and one for stormguard
// (phase, nearest strike, trend, deadline, source health, blind), each
// with a cancel button, and power buttons only when enabled.
//
// It follows Home Assistant's conventions: discovery messages are not
// retained but sent at start, whenever a device changes, and again when
// Home Assistant announces itself on "<prefix>/status"; a host removed from
// the fleet gets an empty config, which deletes its entities. Entities
// read the topics stormguard and the agents already publish, retained, so
// their availability and state are there as soon as Home Assistant
// subscribes. Buttons publish plain-text commands, which agents treat like
// a person's.
package hass

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/stormguard/stormguard/internal/watch"
	"github.com/stormguard/stormguard/mqtt"
	"github.com/stormguard/stormguard/wire"
)

// Config is the discovery setup.
type Config struct {
	// Prefix is Home Assistant's discovery prefix, normally "homeassistant".
	Prefix string
	Topics wire.Topics
	// PowerButtons adds power-down (and per host, reboot) buttons. They
	// publish unsigned plain-text commands: agents that require signed
	// commands reject them.
	PowerButtons bool
	// Version is stormguard's version, for the origin and its device.
	Version string
	// StatusURL, when set, is the devices' configuration URL.
	StatusURL string
	QoS       byte
	Logger    *slog.Logger
}

// Validate reports a bad prefix.
func (c Config) Validate() error {
	if c.Prefix == "" {
		return errors.New("prefix: empty")
	}
	if wire.HassID(c.Prefix) != c.Prefix {
		return errors.New("prefix: only letters, digits, _ and - are allowed")
	}
	return nil
}

// Publisher keeps Home Assistant's devices in step with the fleet.
type Publisher struct {
	cfg    Config
	log    *slog.Logger
	client *mqtt.Client
	w      *watch.Watcher
	resend chan struct{}
	// sent is the payload last sent per device topic.
	sent map[string]string
}

// New registers the birth-message handler on client, the watcher's
// connection, before it is started.
func New(cfg Config, client *mqtt.Client, w *watch.Watcher) *Publisher {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	p := &Publisher{cfg: cfg, log: cfg.Logger, client: client, w: w, resend: make(chan struct{}, 1), sent: map[string]string{}}
	client.Handle(wire.HassStatus(cfg.Prefix), 1, func(m mqtt.Message) {
		if string(m.Payload) == "online" {
			p.poke()
		}
	})
	client.OnConnect(p.poke)
	return p
}

func (p *Publisher) poke() {
	select {
	case p.resend <- struct{}{}:
	default:
	}
}

// Run publishes until ctx ends.
func (p *Publisher) Run(ctx context.Context) {
	changes, stop := p.w.Subscribe()
	defer stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.resend:
			// Home Assistant (re)started or our link came back: everything again.
			clear(p.sent)
		case <-changes:
		}
		p.sync(ctx, p.w.Snapshot())
	}
}

// sync sends every device whose payload changed, and an empty config for
// each host that left the fleet.
func (p *Publisher) sync(ctx context.Context, s watch.Snapshot) {
	want := map[string][]byte{}
	add := func(id string, d device) {
		b, err := json.Marshal(d)
		if err != nil {
			p.log.Error("encode discovery", "device", id, "err", err)
			return
		}
		want[wire.HassDevice(p.cfg.Prefix, id)] = b
	}
	add(guardID, p.guardDevice())
	for _, h := range s.Hosts {
		if !h.Agent() {
			continue
		}
		add(hostID(h.Name), p.hostDevice(h))
	}
	for topic, b := range want {
		if p.sent[topic] == string(b) {
			continue
		}
		if p.publish(ctx, topic, b) {
			p.sent[topic] = string(b)
		}
	}
	for topic := range p.sent {
		if _, ok := want[topic]; !ok && p.publish(ctx, topic, nil) {
			delete(p.sent, topic)
		}
	}
}

func (p *Publisher) publish(ctx context.Context, topic string, b []byte) bool {
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := p.client.Publish(pctx, topic, p.cfg.QoS, false, b); err != nil {
		if ctx.Err() == nil {
			p.log.Warn("publish discovery", "topic", topic, "err", err)
		}
		return false
	}
	return true
}
