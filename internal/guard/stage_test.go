package guard

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stormguard/stormguard/agent"
	"github.com/stormguard/stormguard/internal/fleettest"
	"github.com/stormguard/stormguard/internal/mqtttest"
	"github.com/stormguard/stormguard/journal"
	"github.com/stormguard/stormguard/mqtt"
	"github.com/stormguard/stormguard/weather"
	"github.com/stormguard/stormguard/wire"
)

// stagedAgent runs a real agent in stage with power command argv until the
// test ends, and returns its state directory.
func stagedAgent(t *testing.T, url, name string, stage int, argv []string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "state")
	fleettest.RunAgent(t, agent.Config{
		Policy: agent.Policy{Host: name, MaxAge: time.Second}, MQTT: mqtt.Config{Brokers: []string{url}}, QoS: 1,
		StateDir: dir, ShutdownCmd: argv, RebootCmd: argv, RunTimeout: 5 * time.Second,
		Stages: agent.Stages{Stage: stage, Limit: 2 * time.Second},
	})
	return dir
}

// TestStagesAcrossAGuardRestart: stormguard's SHUTDOWN is carried out in
// stages by real agents while stormguard is restarted in the middle: the
// order lives in the agents. A first-stage host that never goes holds the
// last stage only for its limit (with a max-age shorter than the wait),
// and the restarted stormguard's state shows the fleet in stage order.
func TestStagesAcrossAGuardRestart(t *testing.T) {
	b := mqtttest.NATS(t)
	tp := wire.Topics{}
	dir := t.TempDir()
	hang := filepath.Join(t.TempDir(), "hang.sh")
	// It runs as long as the test's directory exists: no process outlives the test.
	os.WriteFile(hang, []byte("#!/bin/sh\nwhile [ -e \"$0\" ]; do sleep 0.1; done\n"), 0o755)
	ok := filepath.Join(t.TempDir(), "ok.sh")
	os.WriteFile(ok, []byte("#!/bin/sh\nexit 0\n"), 0o755)
	desk := stagedAgent(t, b.URL, "desk", 1, []string{hang})
	hub := stagedAgent(t, b.URL, "hottub", 9, []string{ok})
	_, msgs := listen(t, b.URL, tp.Command(wire.Shutdown), tp.AckFilter(), tp.State(Name))

	src := make(pushed, 1)
	p := &packets{ch: make(chan string, 100)}
	stop := startWakingGuard(t, b.URL, dir, src, p)
	src <- weather.Report{Source: "push", Strikes: []weather.Strike{{Time: time.Now(), Source: "push", DistanceKM: 4}}}
	m := next(t, msgs, "SHUTDOWN", func(m mqtt.Message) bool { return m.Topic == tp.Command(wire.Shutdown) })
	cmd, err := wire.Decode(wire.Shutdown, m.Topic, m.Payload)
	if err != nil {
		t.Fatal(err)
	}
	ackOf := func(host string, state wire.AckState) func(mqtt.Message) bool {
		return func(m mqtt.Message) bool {
			k, err := wire.DecodeAck(m.Payload)
			return m.Topic == tp.Ack(host) && err == nil && k.ID == cmd.ID && k.State == state
		}
	}
	next(t, msgs, "desk executing", ackOf("desk", wire.Executing))
	stop() // stormguard restarts while hottub waits for desk
	startWakingGuard(t, b.URL, dir, src, p)
	next(t, msgs, "the restarted stormguard's state with the fleet in stage order", func(m mqtt.Message) bool {
		var s State
		return m.Topic == tp.State(Name) && json.Unmarshal(m.Payload, &s) == nil && len(s.Fleet) == 2 &&
			s.Fleet[0].Host == "desk" && s.Fleet[1].Host == "hottub" && s.Fleet[1].Stage == 9
	})
	next(t, msgs, "hottub done", ackOf("hottub", wire.Done))
	started := func(dir string) time.Time {
		recs, err := journal.ReadAll(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if r.Kind == journal.KindStarted && r.ID == cmd.ID {
				return r.At
			}
		}
		t.Fatalf("%s: no start of %s", dir, cmd.ID)
		return time.Time{}
	}
	if d, h := started(desk), started(hub); h.Before(cmd.Deadline.Add(2*time.Second)) || !h.After(d) {
		t.Errorf("hottub started at %s, desk at %s, deadline %s: want hottub after desk and after its limit",
			h.Format(time.StampMilli), d.Format(time.StampMilli), cmd.Deadline.Format(time.StampMilli))
	}
}
