package watch

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stormguard/stormguard/internal/fleettest"
	"github.com/stormguard/stormguard/internal/guard"
	"github.com/stormguard/stormguard/internal/mqtttest"
	"github.com/stormguard/stormguard/mqtt"
	"github.com/stormguard/stormguard/storm"
	"github.com/stormguard/stormguard/wire"
)

// start runs a Watcher against the broker at url until the test ends.
func start(t *testing.T, url string, settle time.Duration) *Watcher {
	t.Helper()
	c, err := mqtt.New(mqtt.Config{Brokers: []string{url}, ClientID: fmt.Sprintf("watch-%d", time.Now().UnixNano()), CleanSession: true, Ordered: true})
	if err != nil {
		t.Fatal(err)
	}
	w := New(Config{Client: c, Settle: settle})
	c.Start()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; c.Close(100 * time.Millisecond) })
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	return w
}

func publish(t *testing.T, c *mqtt.Client, topic string, retained bool, v any) {
	t.Helper()
	var b []byte
	switch v := v.(type) {
	case string:
		b = []byte(v)
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Publish(ctx, topic, 1, retained, b); err != nil {
		t.Fatal(err)
	}
}

func nextAlert(t *testing.T, w *Watcher, kind Kind) Alert {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case a := <-w.Alerts():
			if a.Kind == kind {
				return a
			}
		case <-deadline:
			t.Fatalf("no %s alert within 10s", kind)
		}
	}
}

// waitFor waits until the snapshot satisfies ok.
func waitFor(t *testing.T, w *Watcher, what string, ok func(Snapshot) bool) Snapshot {
	t.Helper()
	ch, stop := w.Subscribe()
	defer stop()
	deadline := time.After(10 * time.Second)
	for {
		if s := w.Snapshot(); ok(s) {
			return s
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("no %s within 10s: %+v", what, w.Snapshot())
		}
	}
}

func TestWatcherFollowsTheFleetAndAlerts(t *testing.T) {
	mqtttest.Each(t, testWatcher)
}

func testWatcher(t *testing.T, b *mqtttest.Broker) {
	topics := wire.Topics{}
	pub := fleettest.Client(t, b.URL, nil)
	// Retained before the watcher starts: not news, but part of the picture.
	publish(t, pub, topics.State(guard.Name), true, guard.State{V: 1, State: storm.State{Phase: storm.PhaseClear}})
	publish(t, pub, topics.Presence("nas"), true, wire.PresenceTrue)
	publish(t, pub, topics.Presence("pi"), true, wire.PresenceTrue)
	publish(t, pub, topics.State("pi"), true, wire.HostState{V: 1, Host: "pi", Version: "1.2", Online: true})
	publish(t, pub, topics.State("nas"), true, wire.HostState{V: 1, Host: "nas", Online: true})
	// A resource with a presence and no host state is not an agent.
	publish(t, pub, topics.Presence("weatherstation"), true, wire.PresenceTrue)
	// nats-server stores retained messages asynchronously: wait until a new
	// subscriber would get them.
	for _, h := range []string{"pi", "nas"} {
		mqtttest.WaitRetainedMatch(t, b.URL, nil, topics.State(h), "host state", func(p []byte) bool { return len(p) > 0 })
	}
	mqtttest.WaitRetainedMatch(t, b.URL, nil, topics.State(guard.Name), "stormguard state", func(p []byte) bool { return len(p) > 0 })
	w := start(t, b.URL, 50*time.Millisecond)
	waitFor(t, w, "two present agents", func(s Snapshot) bool {
		return len(s.Hosts) == 3 && s.Hosts[0].Present && s.Hosts[0].Agent() && s.Hosts[1].Agent() && !s.Hosts[2].Agent() && s.Guard != nil
	})

	near := &storm.Strike{DistanceKM: 30, Source: "feed"}
	cells := []storm.Cell{{ID: 7, DistanceKM: 28, BearingDeg: 300, SpeedKMH: 45, HeadingDeg: 120, Strikes: 12, Arrival: time.Now().Add(20 * time.Minute).UTC()}}
	publish(t, pub, topics.State(guard.Name), true, guard.State{V: 1, Bearing: "NW", State: storm.State{Phase: storm.PhaseWatch, Nearest: near, Trend: storm.TrendApproaching, Blind: true, BlindText: "feed down", Cells: cells}})
	if a := nextAlert(t, w, KindWatch); a.Message != "Lightning 30.0 km NW (feed); approaching" {
		t.Errorf("watch alert says %q", a.Message)
	}
	if a := nextAlert(t, w, KindBlind); a.Message != "feed down" {
		t.Errorf("blind alert says %q, want the engine's text", a.Message)
	}
	if c := w.Snapshot().Cells; len(c) != 1 || c[0].ID != "7" || c[0].HeadingDeg != 120 || c[0].SpeedKMH != 45 || !c[0].Arrival.Equal(cells[0].Arrival) {
		t.Errorf("cells %+v, want the state's tracked cell", c)
	}

	deadline := time.Now().Add(200 * time.Millisecond).UTC()
	publish(t, pub, topics.Event(guard.Name), false, guard.Event{V: 1, At: time.Now().UTC(), Kind: guard.EventShutdown, Text: "lightning 5 km", CommandID: "s1-1", Deadline: deadline})
	a := nextAlert(t, w, KindCountdown)
	if a.Message != "lightning 5 km" || !a.Deadline.Equal(deadline) || a.CommandID != "s1-1" {
		t.Errorf("countdown alert %+v", a)
	}
	publish(t, pub, topics.Ack("pi"), false, wire.Ack{V: 1, ID: "s1-1", Host: "pi", Action: wire.Shutdown, State: wire.Executing, At: time.Now().UTC()})
	down := nextAlert(t, w, KindDown)
	if fmt.Sprint(down.Down) != "[pi]" || fmt.Sprint(down.Silent) != "[nas]" {
		t.Errorf("down alert: down %v silent %v, want [pi] and [nas]", down.Down, down.Silent)
	}

	publish(t, pub, topics.Ack("nas"), false, wire.Ack{V: 1, ID: "s1-1", Host: "nas", Action: wire.Shutdown, State: wire.Failed, Detail: "exit status 1", At: time.Now().UTC()})
	if f := nextAlert(t, w, KindHostFailed); f.Host != "nas" || f.Message != "exit status 1" {
		t.Errorf("failed alert %+v", f)
	}

	// Clearing a host's retained state removes it.
	publish(t, pub, topics.State("pi"), true, "")
	waitFor(t, w, "pi removed", func(s Snapshot) bool {
		return len(s.Hosts) == 2 && s.Hosts[0].Name == "nas" && s.Hosts[1].Name == "weatherstation"
	})
}

func TestCancelledCountdownSendsNoDownAlert(t *testing.T) {
	now := time.Date(2026, 7, 1, 18, 0, 0, 0, time.UTC)
	a := newAlerter(time.Minute, func() time.Time { return now })
	deadline := now.Add(5 * time.Minute)
	a.event(guard.Event{Kind: guard.EventShutdown, CommandID: "s1-1", Deadline: deadline}, "")
	a.event(guard.Event{Kind: guard.EventShutdown, CommandID: "s2-1", Deadline: deadline}, "")
	a.event(guard.Event{Kind: guard.EventCancelled, CommandID: "s1-1"}, "")
	if got, _ := a.takeDue(deadline.Add(59 * time.Second)); len(got) != 0 {
		t.Errorf("down alerts before the settle time: %v", got)
	}
	got, _ := a.takeDue(deadline.Add(time.Minute))
	if len(got) != 1 || got[0].CommandID != "s2-1" {
		t.Errorf("down alerts due %v, want only the countdown that was not cancelled", got)
	}
}
