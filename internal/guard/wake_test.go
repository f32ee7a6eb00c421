package guard

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stormguard/stormguard/internal/mqtttest"
	"github.com/stormguard/stormguard/mqtt"
	"github.com/stormguard/stormguard/storm"
	"github.com/stormguard/stormguard/wake"
	"github.com/stormguard/stormguard/weather"
	"github.com/stormguard/stormguard/wire"
)

// pushed is a streamed source the test feeds strikes to.
type pushed chan weather.Report

func (pushed) Name() string       { return "push" }
func (pushed) Kind() weather.Kind { return weather.Trigger }
func (p pushed) Stream(ctx context.Context, emit func(weather.Report)) error {
	for {
		select {
		case r := <-p:
			emit(r)
		case <-ctx.Done():
			return nil
		}
	}
}

// packets records the wake-up's sends in order and hands each to the test.
type packets struct {
	mu   sync.Mutex
	sent []string
	ch   chan string
}

func (p *packets) send(t wake.Target) error {
	p.mu.Lock()
	p.sent = append(p.sent, t.Host+" "+t.MAC)
	p.mu.Unlock()
	p.ch <- t.Host
	return nil
}

func startWakingGuard(t *testing.T, url, dir string, src pushed, p *packets) context.CancelFunc {
	t.Helper()
	cfg := storm.DefaultConfig()
	cfg.Grace, cfg.AllClear = 100*time.Millisecond, 1500*time.Millisecond
	g, err := New(Config{Storm: cfg, MQTT: mqtt.Config{Brokers: []string{url}, ClientID: "guard-wake-test"}, QoS: 1, StateDir: dir,
		Issuer: "stormguard@test", Streamers: []weather.Streamer{src}, Tick: 50 * time.Millisecond,
		Wake: WakeConfig{Enabled: true, Every: 100 * time.Millisecond, StageWait: 10 * time.Second, Limit: 1500 * time.Millisecond, Send: p.send}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { g.Run(ctx); close(done) }()
	stop := func() { cancel(); <-done }
	t.Cleanup(stop)
	select {
	case <-g.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("guard not ready")
	}
	return stop
}

// TestWakeAfterTheStorm: hosts that went down for the storm's SHUTDOWN
// are woken after the all clear, the broker host's stage first, each until
// its presence is back; a host powered down by hand and a host that stayed
// up are left alone; one that never comes back is reported. stormguard is
// restarted between the power-down and the all clear.
func TestWakeAfterTheStorm(t *testing.T) {
	b := mqtttest.NATS(t)
	dir := t.TempDir()
	tp := wire.Topics{}
	src := make(pushed, 1)
	p := &packets{ch: make(chan string, 1000)}
	c, msgs := listen(t, b.URL, tp.Command(wire.Shutdown), tp.Event(Name), tp.State(Name))
	publish := func(topic string, retained bool, v any) {
		t.Helper()
		var payload []byte
		switch v := v.(type) {
		case string:
			payload = []byte(v)
		default:
			payload, _ = json.Marshal(v)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := c.Publish(ctx, topic, 1, retained, payload); err != nil {
			t.Fatal(err)
		}
	}
	hosts := map[string]int{"hottub": 9, "nas": 5, "desk": 1, "manual": 5, "stayed": 5}
	for h, stage := range hosts {
		publish(tp.State(h), true, wire.HostState{V: 1, Host: h, Stage: stage, Online: true, Wake: &wire.Wake{MAC: "02:00:00:00:00:0" + string(rune('0'+stage)), Broadcast: "192.0.2.255"}})
		publish(tp.Presence(h), true, "True")
	}
	t.Cleanup(func() {
		for h := range hosts {
			publish(tp.State(h), true, "")
			publish(tp.Presence(h), true, "")
		}
	})
	// A retained message is acknowledged before the broker hands it to a
	// new subscription: wait until it does, or the guard may start
	// without the fleet.
	for h := range hosts {
		mqtttest.WaitRetainedMatch(t, b.URL, nil, tp.State(h), h+"'s state", func(p []byte) bool { return len(p) > 0 })
		mqtttest.WaitRetained(t, b.URL, nil, tp.Presence(h), "True")
	}

	stop := startWakingGuard(t, b.URL, dir, src, p)
	now := time.Now()
	src <- weather.Report{Source: "push", Strikes: []weather.Strike{{Time: now, Source: "push", DistanceKM: 4}}}
	m := next(t, msgs, "SHUTDOWN", func(m mqtt.Message) bool { return m.Topic == tp.Command(wire.Shutdown) })
	cmd, err := wire.Decode(wire.Shutdown, m.Topic, m.Payload)
	if err != nil {
		t.Fatal(err)
	}
	// The hosts go down for it, except "stayed"; "manual" went down for a
	// command of shutdownall's.
	for _, h := range []string{"hottub", "nas", "desk"} {
		publish(tp.Ack(h), false, wire.Ack{ID: cmd.ID, Host: h, Action: wire.Shutdown, State: wire.Executing, At: time.Now().UTC()})
	}
	publish(tp.Ack("manual"), false, wire.Ack{ID: "sa-20260701T180000-abcd", Host: "manual", Action: wire.Shutdown, State: wire.Executing, At: time.Now().UTC()})
	waitFile(t, dir, 3)
	// The state shows the fleet in stage order, with its progress.
	next(t, msgs, "the fleet's progress in the state", func(m mqtt.Message) bool {
		var s State
		if m.Topic != tp.State(Name) || json.Unmarshal(m.Payload, &s) != nil || len(s.Fleet) != len(hosts) {
			return false
		}
		first, last := s.Fleet[0], s.Fleet[len(s.Fleet)-1]
		return first.Host == "desk" && first.Stage == 1 && last.Host == "hottub" && last.Stage == 9 &&
			last.Last == wire.Executing && last.CommandID == cmd.ID
	})
	for _, h := range []string{"hottub", "nas", "desk", "manual"} {
		publish(tp.Presence(h), true, "False")
	}

	// stormguard restarts before the all clear.
	stop()
	startWakingGuard(t, b.URL, dir, src, p)

	wait := func(want string) {
		t.Helper()
		select {
		case got := <-p.ch:
			if got != want {
				t.Fatalf("packet for %s, want %s; sent %q", got, want, p.sent)
			}
		case <-time.After(15 * time.Second):
			t.Fatalf("no packet for %s; sent %q", want, p.sent)
		}
	}
	wait("hottub")
	wait("hottub")
	publish(tp.Presence("hottub"), true, "True")
	for {
		select {
		case got := <-p.ch:
			if got == "hottub" {
				continue // in flight when the presence came back
			}
			if got != "nas" {
				t.Fatalf("packet for %s after hottub, want nas; sent %q", got, p.sent)
			}
		case <-time.After(15 * time.Second):
			t.Fatalf("no packet for nas; sent %q", p.sent)
		}
		break
	}
	publish(tp.Presence("nas"), true, "True")
	// The report comes as an event and in the state, on two topics: in
	// either order.
	var ev, st mqtt.Message
	next(t, msgs, "the wake-up's report, as an event and in the state", func(m mqtt.Message) bool {
		var e Event
		var s State
		switch {
		case m.Topic == tp.Event(Name) && json.Unmarshal(m.Payload, &e) == nil && e.Kind == EventWake && strings.Contains(e.Text, "hosts back"):
			ev = m
		case m.Topic == tp.State(Name) && json.Unmarshal(m.Payload, &s) == nil && s.Wake != nil && !s.Wake.Running && len(s.Wake.NotBack) > 0:
			st = m
		}
		return ev.Topic != "" && st.Topic != ""
	})
	if !strings.Contains(string(ev.Payload), "2 of 3 hosts back; did not come back: desk") {
		t.Errorf("report %s, want desk named", ev.Payload)
	}
	var s State
	json.Unmarshal(st.Payload, &s)
	if strings.Join(s.Wake.NotBack, ",") != "desk" || s.Wake.StormID != strings.TrimSuffix(cmd.ID, "-1") {
		t.Errorf("state's wake report %+v", s.Wake)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	seen := strings.Join(p.sent, ",")
	if strings.Contains(seen, "manual") || strings.Contains(seen, "stayed") {
		t.Errorf("woke a host not powered down by the storm: %q", p.sent)
	}
	if i := strings.Index(seen, "desk"); i < 0 || strings.LastIndex(seen, "nas") > i || strings.LastIndex(seen, "hottub") > i {
		t.Errorf("order %q: want hottub, nas, then desk", p.sent)
	}
}

// waitFile waits until the wake record holds n hosts.
func waitFile(t *testing.T, dir string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if w, err := newWaker(WakeConfig{}, dir, nil); err == nil && len(w.rec.Down) == n {
			return
		}
		time.Sleep(10 * time.Millisecond) // polling the file the guard writes
	}
	t.Fatalf("the wake record never held %d hosts", n)
}
