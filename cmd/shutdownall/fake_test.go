package main

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stormguard/stormguard/internal/fleettest"
	"github.com/stormguard/stormguard/internal/mqtttest"
	"github.com/stormguard/stormguard/mqtt"
	"github.com/stormguard/stormguard/wire"
)

// step is one thing a scripted host says after a command: an ack, or a
// presence change (its goodbye or its last will).
type step struct {
	ack      wire.AckState
	detail   string
	presence string // "True" or "False"; set instead of ack
}

// fakeHost is a scripted agent on the real broker: it announces itself the
// way an agent does and answers each command with its script, so the
// agent's side of the contract (executing, then stopping and a goodbye
// when the OS stops it, failed with the detail) is pinned here even before
// an agent that speaks it is on this branch.
type fakeHost struct {
	name   string
	c      *mqtt.Client
	topics wire.Topics
	got    chan wire.Command
	// stopped is set when the test ends, before the client closes: a
	// script still answering then must not report into a finished test.
	stopped atomic.Bool
}

func newFakeHost(t *testing.T, b *mqtttest.Broker, name string, dryRun bool, script func(wire.Command) []step) *fakeHost {
	t.Helper()
	f := &fakeHost{name: name, got: make(chan wire.Command, 10)}
	handle := func(m mqtt.Message) {
		a, _, err := f.topics.ParseCommand(m.Topic)
		if err != nil {
			return
		}
		cmd, err := wire.Decode(a, m.Topic, m.Payload)
		if err != nil {
			return
		}
		f.got <- cmd
		for _, s := range script(cmd) {
			if s.presence != "" {
				f.pub(t, f.topics.Presence(name), true, s.presence)
				continue
			}
			ack, _ := wire.Ack{ID: cmd.ID, Host: name, Action: cmd.Action, State: s.ack, Detail: s.detail, At: time.Now().UTC()}.Encode()
			f.pub(t, f.topics.Ack(name), false, string(ack))
		}
	}
	f.c = fleettest.Client(t, b.URL, func(c *mqtt.Client) {
		for _, filter := range f.topics.AgentFilters(name, nil) {
			c.Handle(filter, 1, handle)
		}
	})
	state, _ := wire.HostState{Host: name, At: time.Now().UTC(), Online: true, DryRun: dryRun}.Encode()
	f.pub(t, f.topics.State(name), true, string(state))
	f.pub(t, f.topics.CommandAvailable(name, string(wire.Shutdown)), true, "True")
	f.pub(t, f.topics.Presence(name), true, "True")
	t.Cleanup(func() {
		f.stopped.Store(true)
		// Clear the retained announcements so later tests do not see this host.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, topic := range []string{f.topics.State(name), f.topics.CommandAvailable(name, string(wire.Shutdown)), f.topics.Presence(name)} {
			f.c.Publish(ctx, topic, 1, true, nil)
		}
	})
	mqtttest.WaitRetained(t, b.URL, nil, f.topics.Presence(name), "True")
	mqtttest.WaitRetained(t, b.URL, nil, f.topics.CommandAvailable(name, string(wire.Shutdown)), "True")
	mqtttest.WaitRetained(t, b.URL, nil, f.topics.State(name), string(state))
	return f
}

func (f *fakeHost) pub(t *testing.T, topic string, retained bool, payload string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.c.Publish(ctx, topic, 1, retained, []byte(payload)); err != nil && !f.stopped.Load() {
		t.Errorf("fake %s: %v", f.name, err)
	}
}
