package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/stormguard/stormguard/cmd/internal/cli"
	"github.com/stormguard/stormguard/internal/guard"
	"github.com/stormguard/stormguard/sdnotify"
	"github.com/stormguard/stormguard/weather"
)

// runDaemon is "stormguard run": watch and act until ctx ends.
func runDaemon(ctx context.Context, args []string, out io.Writer) error {
	c, err := load(newLoader("stormguard run", out), args)
	if err != nil {
		return cli.Configuration(err)
	}
	log := cli.Logger(c.s.Verbose)
	if c.storm.TimeScale != 1 && c.storm.Predict {
		log.Info("every source replays at one speed: the storm tracker runs on the recording's clock; grace, all-clear and the other durations stay on the wall clock",
			"speed", c.storm.TimeScale)
	}
	hooks, stopReach, err := startReach(ctx, c, log)
	if err != nil {
		return err
	}
	defer stopReach()
	g, err := newGuard(c, hooks)
	if err != nil {
		return cli.Configuration(err)
	}
	stop := startClients(c)
	defer stop()
	// Ready once configured with the clients set up; the broker may be down.
	if err := sdnotify.Ready("watching " + fmt.Sprint(len(c.sources)) + " sources"); err != nil {
		log.Warn("sd_notify", "err", err)
	}
	go sdnotify.Watchdog(ctx, sdnotify.WatchdogInterval(), g.Alive, log)
	err = g.Run(ctx)
	sdnotify.Stopping()
	return err
}

// newGuard turns a loaded config into the runner.
func newGuard(c config, hooks guard.Hooks) (*guard.Guard, error) {
	m, err := c.s.Conn.MQTT("stormguard-" + c.s.Name)
	if err != nil {
		return nil, err
	}
	log := cli.Logger(c.s.Verbose)
	m.Logger = log
	gc := guard.Config{
		Storm: c.storm, MQTT: m, Topics: c.topics, QoS: byte(c.s.QoS), StateDir: c.s.StateDir,
		SignKey: c.signKey, Issuer: "stormguard@" + c.s.Name, Expires: c.s.Expires, Tick: c.s.Tick, Logger: log,
		Hooks:     hooks,
		Heartbeat: c.s.Heartbeat, Wake: c.wake,
	}
	for _, sp := range c.sources {
		switch s := sp.source.(type) {
		case weather.Poller:
			gc.Pollers = append(gc.Pollers, guard.Polled{Poller: s, Interval: sp.interval, Watch: sp.watch})
		case weather.Streamer:
			gc.Streamers = append(gc.Streamers, s)
		}
	}
	return guard.New(gc)
}

// startClients connects the sources' own MQTT clients; the returned func
// closes them.
func startClients(c config) func() {
	for _, sp := range c.sources {
		if sp.client != nil {
			sp.client.Start()
		}
	}
	return func() {
		for _, sp := range c.sources {
			if sp.client != nil {
				sp.client.Close(250 * time.Millisecond)
			}
		}
	}
}
