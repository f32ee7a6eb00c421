// Package heartbeat publishes a program's heartbeat: a small retained
// message on wire.Topics.Heartbeat(name) every interval, so a watcher (the
// servicemanager, shutdownall -status) can tell the program is gone even
// when no last will is sent, as when the node of a clustered broker that
// held its connection dies.
//
// It is the one piece the agent, stormguard and the servicemanager share:
// each starts it beside its own client with a line or two.
package heartbeat

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/stormguard/stormguard/wire"
)

// DefaultInterval is how often a program beats unless told otherwise. With
// wire.DefaultMisses a silent program is judged gone after about 32 s, a
// little after a keepalive of 15 s has fired its will on a single broker.
const DefaultInterval = 10 * time.Second

// Client is what the publisher needs of an MQTT connection; *mqtt.Client
// has it.
type Client interface {
	Publish(ctx context.Context, topic string, qos byte, retained bool, payload []byte) error
	Connected() bool
	OnConnect(func())
}

// Config says who beats and how often.
type Config struct {
	Topics wire.Topics
	// Name is the resource name, as on its presence topic.
	Name string
	// Interval between beats; zero turns the heartbeat off.
	Interval time.Duration
	Logger   *slog.Logger
	// Now is the clock for the beat's timestamp; nil means time.Now.
	Now func() time.Time
}

// Validate reports the first bad setting, named as its flag.
func (c Config) Validate() error {
	if c.Interval != 0 && (c.Interval < wire.MinBeatInterval || c.Interval > wire.MaxBeatInterval) {
		return fmt.Errorf("heartbeat: %v is outside %v to %v (0 turns it off)", c.Interval, wire.MinBeatInterval, wire.MaxBeatInterval)
	}
	return nil
}

// Start beats on c until ctx ends: at once on every connect, then every
// Interval while connected. Call it before the client's Start so the first
// connect is seen. A zero Interval does nothing. The returned channel is
// closed when the publisher has stopped.
func Start(ctx context.Context, c Client, cfg Config) <-chan struct{} {
	done := make(chan struct{})
	if cfg.Interval == 0 {
		close(done)
		return done
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	kick := make(chan struct{}, 1)
	c.OnConnect(func() {
		select {
		case kick <- struct{}{}:
		default:
		}
	})
	go func() {
		defer close(done)
		run(ctx, c, cfg, kick)
	}()
	return done
}

func run(ctx context.Context, c Client, cfg Config, kick <-chan struct{}) {
	t := time.NewTicker(cfg.Interval)
	defer t.Stop()
	topic := cfg.Topics.Heartbeat(cfg.Name)
	var seq uint64
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-kick:
			t.Reset(cfg.Interval)
		}
		if !c.Connected() {
			continue // the client would queue it; a stale beat helps no one
		}
		seq++
		b, err := wire.Beat{At: cfg.Now(), Interval: cfg.Interval, Seq: seq}.Encode()
		if err != nil {
			cfg.Logger.Error("heartbeat", "err", err)
			return
		}
		pctx, cancel := context.WithTimeout(ctx, cfg.Interval)
		// QoS 0: a beat that comes late is worth nothing, and on nats-server
		// a QoS 0 message is delivered without JetStream, so beats keep
		// flowing while a clustered JetStream re-elects its leaders.
		err = c.Publish(pctx, topic, 0, true, b)
		cancel()
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			failing = true
			cfg.Logger.Warn("heartbeat not published", "topic", topic, "err", err)
		case err == nil && failing:
			failing = false
			cfg.Logger.Info("heartbeat published again", "topic", topic)
		}
	}
}
