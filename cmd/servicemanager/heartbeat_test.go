package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stormguard/stormguard/heartbeat"
	"github.com/stormguard/stormguard/internal/mqtttest"
	"github.com/stormguard/stormguard/mqtt"
	"github.com/stormguard/stormguard/wire"
)

// TestHeartbeatGone: a resource that beats and then falls silent while its
// connection (and so its will) stays, as on a cluster node that lost its
// route, is marked gone after the missed beats with the messages its will
// would have caused: presence False retained and False on its topics. Its
// beats coming back undo exactly that. The manager beats itself.
func TestHeartbeatGone(t *testing.T) {
	mqtttest.Each(t, func(t *testing.T, b *mqtttest.Broker) {
		w := watch(t, b.URL, nil, "#")
		sm := startManager(t, w, managerArgs(t, b, "sm-beat", "-heartbeat", "200ms", "-heartbeat-misses", "2"))
		own := w.waitCh(func(m mqtt.Message) bool { return m.Topic == "stormguard/heartbeat/servicemanager" })
		select {
		case <-own:
		case <-time.After(within):
			t.Fatal("the manager does not beat")
		}

		res := newClient(t, b.URL, nil, &mqtt.Will{Topic: fooPresence, Payload: []byte("False"), QoS: 1, Retained: true})
		startClient(t, res)
		publish(t, res, fooPresence, "True", true)
		publish(t, res, fooBar, "True", true)
		publish(t, res, fooBaz, "True", false)
		beat := func(seq uint64) {
			t.Helper()
			p, err := wire.Beat{At: time.Now(), Interval: 100 * time.Millisecond, Seq: seq}.Encode()
			if err != nil {
				t.Fatal(err)
			}
			publish(t, res, "stormguard/heartbeat/foo", string(p), true)
		}
		mark := w.mark()
		start := time.Now()
		beat(1)
		// Two misses of 100 ms and the slack: gone about 225 ms after the
		// beat, noticed within the manager's 250 ms sweep.
		w.expect(t, mark, fooPresence+" False", fooBar+" False", fooBaz+" False")
		if d := time.Since(start); d < 200*time.Millisecond {
			t.Errorf("marked gone %v after its beat, before two beats were missed", d)
		}
		sm.logs.wait(t, 1, "resource gone: heartbeats stopped", `resource="foo"`, `cause="heartbeat"`)
		mqtttest.WaitRetained(t, b.URL, nil, fooPresence, "False")

		mark = w.mark()
		beat(2)
		w.expect(t, mark, fooPresence+" True", fooBar+" True", fooBaz+" True")
		mqtttest.WaitRetainedMatch(t, b.URL, nil, "stormguard/state/servicemanager", "gone_by_heartbeat 1", func(p []byte) bool {
			st, err := wire.DecodeManagerState(p)
			return err == nil && st.GoneByHeartbeat == 1 && st.HeartbeatMisses == 2
		})
	})
}

// TestManagerAwayJudgesNobody: while the manager's own link to the broker
// is down it hears no beats; that is no reason to mark the resources that
// kept beating gone when it is back.
func TestManagerAwayJudgesNobody(t *testing.T) {
	b := mqtttest.NATS(t)
	p := mqtttest.NewProxy(t, b)
	w := watch(t, b.URL, nil, "#")
	sm := startManager(t, w, []string{"-brokers", p.URL, "-client-id", "sm-away", "-qos", "1", "-heartbeat", "0", "-heartbeat-misses", "2", "-keepalive", "1s"})
	res := newClient(t, b.URL, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	heartbeat.Start(ctx, res, heartbeat.Config{Name: "foo", Interval: 100 * time.Millisecond})
	startClient(t, res)
	publish(t, res, fooPresence, "True", true)
	publish(t, res, fooBaz, "True", false)
	w.until(t, "foo beating", func(ms []mqtt.Message) bool { return beats(ms, wire.Topics{}, "foo") >= 3 })

	mark := w.mark()
	p.Down()
	// Away for twenty beats, ten times what the misses allow.
	w.until(t, "twenty beats while the manager is away", func(ms []mqtt.Message) bool { return beats(ms[mark:], wire.Topics{}, "foo") >= 20 })
	p.Up()
	w.expect(t, mark, "resourceavailable/servicemanager/presence True")
	settle(t, w, res)
	if n := w.count(mark, fooPresence+" False") + w.count(mark, fooBaz+" False"); n != 0 {
		t.Errorf("the manager marked foo gone after its own outage:\n%s", w.dump(mark))
	}
	if strings.Contains(sm.logs.all(), "resource gone") {
		t.Errorf("the manager judged foo gone during its own outage")
	}
}

// TestDefaultRetainsEveryFalse: with no flags, a later subscriber finds
// the host's command topic False after the host is gone, though the
// manager only ever saw it announced live.
func TestDefaultRetainsEveryFalse(t *testing.T) {
	mqtttest.Each(t, func(t *testing.T, b *mqtttest.Broker) {
		w := watch(t, b.URL, nil, "#")
		startManager(t, w, managerArgs(t, b, "sm-retain"))
		res := newClient(t, b.URL, nil, nil)
		startClient(t, res)
		const cmd = "commandavailable/nas/shutdown"
		publish(t, res, "resourceavailable/nas/presence", "True", true)
		publish(t, res, cmd, "True", true) // retained, but the manager sees it live
		mark := w.mark()
		publish(t, res, "resourceavailable/nas/presence", "False", true)
		w.expect(t, mark, cmd+" False")
		mqtttest.WaitRetained(t, b.URL, nil, cmd, "False")
	})
}

// TestLimitReachedIsLoud: past -max-topics the manager logs an error once,
// and its retained state says so.
func TestLimitReachedIsLoud(t *testing.T) {
	b := mqtttest.NATS(t)
	w := watch(t, b.URL, nil, "#")
	sm := startManager(t, w, managerArgs(t, b, "sm-limit", "-max-topics", "2"))
	res := newClient(t, b.URL, nil, nil)
	startClient(t, res)
	publish(t, res, fooPresence, "True", false)
	for _, n := range []string{"a", "b", "c", "d"} {
		publish(t, res, "dataavailable/foo/"+n, "True", false)
	}
	sm.logs.wait(t, 1, "level=ERROR", "LIMIT REACHED", `flag="-max-topics"`)
	mqtttest.WaitRetainedMatch(t, b.URL, nil, "stormguard/state/servicemanager", "limit_reached with 2 topics refused", func(p []byte) bool {
		st, err := wire.DecodeManagerState(p)
		return err == nil && st.LimitReached && st.TopicsRefused == 2 && st.FullResources == 1 && st.MaxTopics == 2
	})
	if n := strings.Count(sm.logs.all(), "LIMIT REACHED"); n != 1 {
		t.Errorf("LIMIT REACHED logged %d times, want once", n)
	}
}
