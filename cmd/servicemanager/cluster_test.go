package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stormguard/stormguard/internal/fleettest"
	"github.com/stormguard/stormguard/internal/guard"
	"github.com/stormguard/stormguard/internal/mqtttest"
	"github.com/stormguard/stormguard/mqtt"
	"github.com/stormguard/stormguard/storm"
	"github.com/stormguard/stormguard/weather"
	"github.com/stormguard/stormguard/wire"
)

// clusterBeat is the heartbeat interval of every program in the test.
const clusterBeat = 250 * time.Millisecond

// TestClusterFailover runs the fleet on a three-node nats-server cluster
// (MQTT and JetStream, each node a process) and SIGKILLs the node that
// holds some agents' connections during a countdown:
//
//   - h1, h2 are on n1, which stays up;
//   - h3, h4 are on n3 and have every node's URL: they move;
//   - h5, h6 are on n3 with n3 and a relay to n1 that is cut while n3
//     dies (a host whose way to the other nodes is down for a while), so
//     they are certainly away long enough to miss their beats.
//
// No will comes from a dead node. The servicemanager (on n1) must mark h5
// and h6 gone by heartbeat and back when they reconnect; every host runs
// the countdown's command once, at the deadline; presence for the moved
// hosts recovers; a command published while n3 is down, and one after it
// is back, reaches every host once.
func TestClusterFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("a three-node cluster and a node failure take about a minute")
	}
	start := time.Now()
	step := func(what string) { t.Logf("%6.1fs %s", time.Since(start).Seconds(), what) }
	nodes := mqtttest.NATSCluster(t, 3)
	n1, n2, n3 := nodes[0], nodes[1], nodes[2]
	step("cluster up")
	relay := mqtttest.NewProxy(t, n1)
	tp := wire.Topics{}

	w := watch(t, n1.URL, nil, "#")
	sm := startManager(t, w, []string{"-brokers", strings.Join([]string{n1.URL, n2.URL, n3.URL}, ","), "-client-id", "sm-cluster",
		"-qos", "1", "-heartbeat", clusterBeat.String(), "-heartbeat-misses", "3"})
	step("servicemanager up")

	feed := &onDemand{strike: make(chan struct{})}
	sc := storm.DefaultConfig()
	sc.Grace = 12 * time.Second
	g, err := guard.New(guard.Config{Storm: sc, MQTT: mqtt.Config{Brokers: []string{n2.URL, n1.URL, n3.URL}, ClientID: "stormguard-cluster"},
		QoS: 1, StateDir: t.TempDir(), Issuer: "stormguard@cluster", Streamers: []weather.Streamer{feed}, Heartbeat: clusterBeat})
	if err != nil {
		t.Fatal(err)
	}
	gctx, gstop := context.WithCancel(context.Background())
	gdone := make(chan struct{})
	go func() { g.Run(gctx); close(gdone) }()
	t.Cleanup(func() { gstop(); <-gdone })

	hosts := map[string][]string{
		"h1": {n1.URL, n2.URL, n3.URL}, "h2": {n1.URL, n3.URL, n2.URL},
		"h3": {n3.URL, n1.URL, n2.URL}, "h4": {n3.URL, n2.URL, n1.URL},
		"h5": {n3.URL, relay.URL}, "h6": {n3.URL, relay.URL},
	}
	all := slices.Sorted(func(yield func(string) bool) {
		for h := range hosts {
			if !yield(h) {
				return
			}
		}
	})
	for _, h := range all {
		fleettest.DryRunAgentOn(t, fleettest.AgentOptions{Brokers: hosts[h], Host: h, Heartbeat: clusterBeat})
	}
	for _, h := range append(slices.Clone(all), guard.Name) {
		w.expect(t, 0, tp.Presence(h)+" True")
		w.until(t, h+" beating", func(ms []mqtt.Message) bool { return beats(ms, tp, h) >= 2 })
	}
	step("six agents and stormguard present and beating")

	// The countdown.
	mark := w.mark()
	feed.strike <- struct{}{}
	cmd := w.command(t, mark, tp)
	step("stormguard published SHUTDOWN " + cmd.ID + ", deadline in " + time.Until(cmd.Deadline).Round(time.Second).String())
	w.until(t, "every host scheduled", func(ms []mqtt.Message) bool { return len(hostsIn(ms, tp, cmd.ID, wire.Scheduled)) == len(all) })
	step("every host scheduled")

	// n3 dies; h5 and h6 cannot reach the others for now.
	relay.Down()
	mark = w.mark()
	n3.Kill(t)
	killed := time.Now()
	step("n3 killed")
	var decided time.Duration
	for _, h := range []string{"h5", "h6"} {
		sm.logs.wait(t, 1, "resource gone: heartbeats stopped", fmt.Sprintf("resource=%q", h), `cause="heartbeat"`)
		decided = max(decided, time.Since(killed))
	}
	for _, h := range []string{"h5", "h6"} {
		w.expect(t, mark, tp.Presence(h)+" False", tp.CommandAvailable(h, "shutdown")+" False", tp.CommandAvailable(h, "reboot")+" False")
	}
	delivered := time.Since(killed)
	w.until(t, "the manager's state counting two heartbeat departures", func(ms []mqtt.Message) bool {
		for _, m := range ms[mark:] {
			if st, err := wire.DecodeManagerState(m.Payload); m.Topic == tp.State("servicemanager") && err == nil && st.GoneByHeartbeat >= 2 {
				return true
			}
		}
		return false
	})
	step(fmt.Sprintf("h5 and h6 judged gone by heartbeat %.1fs after the kill, their Falses delivered at %.1fs", decided.Seconds(), delivered.Seconds()))
	relay.Up()
	up := time.Now()
	back := w.mark()
	for _, h := range []string{"h5", "h6"} {
		w.expect(t, back, tp.Presence(h)+" True")
		w.until(t, h+" beating again", func(ms []mqtt.Message) bool { return beatsSince(ms[back:], tp, h, up) >= 2 })
	}
	returned := time.Since(up)
	step("h5 and h6 back")
	var moved time.Duration
	movedGone := 0
	for _, h := range []string{"h3", "h4"} {
		w.until(t, h+" beating after the move", func(ms []mqtt.Message) bool { return beatsSince(ms[mark:], tp, h, killed) >= 2 })
		w.until(t, h+" present after the move", func(ms []mqtt.Message) bool { return lastPresence(ms, tp, h) == wire.PresenceTrue })
		moved = max(moved, w.firstAt(mark, func(m mqtt.Message) bool {
			b, err := wire.DecodeBeat(m.Payload)
			return m.Topic == tp.Heartbeat(h) && err == nil && b.At.After(killed)
		}).Sub(killed))
		if w.count(mark, tp.Presence(h)+" False") > 0 {
			movedGone++
		}
	}
	step(fmt.Sprintf("h3 and h4 moved and present; first beat through a live node %.1fs after the kill; %d of 2 marked gone meanwhile", moved.Seconds(), movedGone))
	t.Logf("failover: judged_gone=%.2fs falses_delivered=%.2fs moved_first_beat=%.2fs moved_marked_gone=%d/2 partitioned_back_after_relay=%.2fs",
		decided.Seconds(), delivered.Seconds(), moved.Seconds(), movedGone, returned.Seconds())

	// The deadline: every host runs the command once, on time.
	w.until(t, "every host done", func(ms []mqtt.Message) bool { return len(hostsIn(ms, tp, cmd.ID, wire.Done)) == len(all) })
	step("every host ran the countdown's command")
	for _, h := range all {
		ex := acksOf(w.all(), tp, cmd.ID, h, wire.Executing)
		if len(ex) != 1 {
			t.Errorf("%s: %d executing acks for %s, want 1", h, len(ex), cmd.ID)
			continue
		}
		if late := ex[0].At.Sub(cmd.Deadline); late < 0 || late > 2*time.Second {
			t.Errorf("%s ran %v after the deadline, want within 2s of it", h, late)
		}
	}

	// A command while n3 is down, and one after it is back.
	c2 := fleettest.Client(t, n2.URL, nil)
	for i, restart := range []bool{false, true} {
		if restart {
			t0 := time.Now()
			n3.Start(t)
			if err := mqtttest.WaitMQTT(n3.URL, 30*time.Second); err != nil {
				t.Fatal(err)
			}
			step(fmt.Sprintf("n3 back, serving MQTT %.1fs after its start", time.Since(t0).Seconds()))
			c2 = fleettest.Client(t, n3.URL, nil)
		}
		sent := time.Now()
		now := sent.UTC()
		c := wire.Command{ID: fmt.Sprintf("manual-%d", i+1), Action: wire.Reboot, Reason: "by hand", Issuer: "test", IssuedAt: now}
		b, err := c.Encode()
		if err != nil {
			t.Fatal(err)
		}
		pctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err = c2.Publish(pctx, tp.Command(wire.Reboot), 1, false, b)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		w.until(t, "every host did "+c.ID, func(ms []mqtt.Message) bool { return len(hostsIn(ms, tp, c.ID, wire.Done)) == len(all) })
		step(fmt.Sprintf("every host did %s, %.2fs after it was published", c.ID, time.Since(sent).Seconds()))
	}
	for _, id := range []string{cmd.ID, "manual-1", "manual-2"} {
		for _, h := range all {
			if n := len(acksOf(w.all(), tp, id, h, wire.Executing)) + len(acksOf(w.all(), tp, id, h, wire.Done)); n != 2 {
				t.Errorf("%s: %d executing and done acks for %s, want one of each", h, n, id)
			}
		}
	}
}

// onDemand is a lightning feed that reports one strike 5 km away each time
// the test asks.
type onDemand struct{ strike chan struct{} }

func (*onDemand) Name() string       { return "test-feed" }
func (*onDemand) Kind() weather.Kind { return weather.Trigger }

func (f *onDemand) Stream(ctx context.Context, emit func(weather.Report)) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-f.strike:
			now := time.Now()
			emit(weather.Report{Source: "test-feed", At: now, Strikes: []weather.Strike{{Time: now, Source: "test-feed", DistanceKM: 5}}})
		}
	}
}

// until waits, with a deadline, until cond holds over every message seen.
func (w *watcher) until(t *testing.T, what string, cond func([]mqtt.Message) bool) {
	t.Helper()
	deadline := time.After(2 * within)
	for {
		ch := w.waitCh(func(mqtt.Message) bool { return true })
		if cond(w.all()) {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("within %v: never %s", 2*within, what)
		}
	}
}

// firstAt returns when the first message since mark that matches arrived.
func (w *watcher) firstAt(mark int, match func(mqtt.Message) bool) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := mark; i < len(w.seen); i++ {
		if match(w.seen[i]) {
			return w.at[i]
		}
	}
	return time.Time{}
}

// all returns a copy of every message seen.
func (w *watcher) all() []mqtt.Message {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.seen)
}

// command waits for a SHUTDOWN after mark and decodes it.
func (w *watcher) command(t *testing.T, mark int, tp wire.Topics) wire.Command {
	t.Helper()
	var c wire.Command
	w.until(t, "a SHUTDOWN", func(ms []mqtt.Message) bool {
		for _, m := range ms[mark:] {
			if m.Topic == tp.Command(wire.Shutdown) {
				var err error
				c, err = wire.Decode(wire.Shutdown, m.Topic, m.Payload)
				return err == nil
			}
		}
		return false
	})
	return c
}

func beats(ms []mqtt.Message, tp wire.Topics, h string) int {
	n := 0
	for _, m := range ms {
		if m.Topic == tp.Heartbeat(h) && !m.Retained {
			n++
		}
	}
	return n
}

// beatsSince counts h's beats sent after since.
func beatsSince(ms []mqtt.Message, tp wire.Topics, h string, since time.Time) int {
	n := 0
	for _, m := range ms {
		if b, err := wire.DecodeBeat(m.Payload); m.Topic == tp.Heartbeat(h) && err == nil && b.At.After(since) {
			n++
		}
	}
	return n
}

func lastPresence(ms []mqtt.Message, tp wire.Topics, h string) string {
	last := ""
	for _, m := range ms {
		if m.Topic == tp.Presence(h) {
			last = string(m.Payload)
		}
	}
	return last
}

// acksOf returns host h's acks of command id in state s.
// acksOf returns host h's acks of command id in state s, one per ack the
// host sent: QoS 1 is at least once, and a publish caught by the node's
// death is delivered again after the reconnect with the same bytes, so
// copies (the same time stamp) count once. Two executions would be two
// acks with their own times.
func acksOf(ms []mqtt.Message, tp wire.Topics, id, h string, s wire.AckState) []wire.Ack {
	var out []wire.Ack
	seen := map[time.Time]bool{}
	for _, m := range ms {
		if m.Topic != tp.Ack(h) {
			continue
		}
		if a, err := wire.DecodeAck(m.Payload); err == nil && a.ID == id && a.State == s && !seen[a.At] {
			seen[a.At] = true
			out = append(out, a)
		}
	}
	return out
}

// hostsIn returns the hosts that acked command id in state s.
func hostsIn(ms []mqtt.Message, tp wire.Topics, id string, s wire.AckState) []string {
	seen := map[string]bool{}
	for _, m := range ms {
		h, ok := tp.ParseAck(m.Topic)
		if !ok {
			continue
		}
		if a, err := wire.DecodeAck(m.Payload); err == nil && a.ID == id && a.State == s {
			seen[h] = true
		}
	}
	return slices.Sorted(func(yield func(string) bool) {
		for h := range seen {
			if !yield(h) {
				return
			}
		}
	})
}
