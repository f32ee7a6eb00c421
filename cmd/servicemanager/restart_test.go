package main

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stormguard/stormguard/internal/mqtttest"
	"github.com/stormguard/stormguard/mqtt"
)

// TestLateStart: a manager started after the resources registered
// (retained) knows them, and its False replaces the retained True, so a
// dashboard that subscribes later sees False.
func TestLateStart(t *testing.T) {
	mqtttest.Each(t, func(t *testing.T, b *mqtttest.Broker) {
		res := newClient(t, b.URL, nil, nil)
		startClient(t, res)
		publish(t, res, fooPresence, "True", true)
		publish(t, res, fooBar, "True", true)
		publish(t, res, fooBaz, "True", true)
		for _, topic := range []string{fooPresence, fooBar, fooBaz} {
			mqtttest.WaitRetained(t, b.URL, nil, topic, "True")
		}

		w := watch(t, b.URL, nil, "+/#")
		startManager(t, w, managerArgs(t, b, "sm-late"))
		mark := w.mark()
		publish(t, res, fooPresence, "False", true) // as its will would
		w.expect(t, mark, fooBar+" False", fooBaz+" False")
		for _, topic := range []string{fooBar, fooBaz} {
			mqtttest.WaitRetained(t, b.URL, nil, topic, "False")
		}
	})
}

// TestManagerRestart: a resource vanishes while the manager is down; the
// restarted manager still marks its topics False. Retained registrations
// come back from the broker; live ones from the -state file.
func TestManagerRestart(t *testing.T) {
	for _, tc := range []struct {
		name     string
		retained bool
		state    bool
	}{
		{name: "retained registrations", retained: true},
		{name: "live registrations and a state file", retained: false, state: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mqtttest.Each(t, func(t *testing.T, b *mqtttest.Broker) {
				var extra []string
				if tc.state {
					extra = []string{"-state", filepath.Join(t.TempDir(), "servicemanager.json")}
				}
				args := managerArgs(t, b, "sm-restart", extra...)
				w := watch(t, b.URL, nil, "+/#")
				first := startManager(t, w, args)

				// The resource connects through a proxy so that cutting it
				// makes the broker fire its will.
				proxy := mqtttest.NewProxy(t, b)
				res := newClient(t, proxy.URL, nil, &mqtt.Will{Topic: fooPresence, Payload: []byte("False"), QoS: 1, Retained: true})
				startClient(t, res)
				publish(t, res, fooPresence, "True", true)
				publish(t, res, fooBar, "True", tc.retained)
				publish(t, res, fooBaz, "True", tc.retained)
				other := newClient(t, b.URL, nil, nil)
				startClient(t, other)
				settle(t, w, other)

				first.stop(t)
				mqtttest.WaitRetained(t, b.URL, nil, "resourceavailable/servicemanager/presence", "False")
				mark := w.mark()
				proxy.Down()
				w.expect(t, mark, fooPresence+" False")

				startManager(t, w, args)
				w.expect(t, mark, fooBar+" False", fooBaz+" False")
			})
		})
	}
}

// TestBrokerRestart: the manager reconnects after the broker restarts and
// still knows what was announced before (live, so the broker did not keep it).
func TestBrokerRestart(t *testing.T) {
	mqtttest.Each(t, func(t *testing.T, b *mqtttest.Broker) {
		w := watch(t, b.URL, nil, "+/#")
		sm := startManager(t, w, managerArgs(t, b, "sm-brokerrestart", "-qos", "1"))
		res := newClient(t, b.URL, nil, nil)
		startClient(t, res)
		publish(t, res, fooPresence, "True", true)
		publish(t, res, fooBar, "True", false)
		publish(t, res, fooBaz, "True", false)
		settle(t, w, res)

		// The watcher, too, must be back: its re-subscription replays the
		// retained presence of foo.
		back := w.waitCh(func(m mqtt.Message) bool { return m.Topic == fooPresence && m.Retained })
		b.Restart(t)
		sm.logs.wait(t, 2, "connected to broker", "sm-brokerrestart")
		select {
		case <-back:
		case <-time.After(within):
			t.Fatal("the watching client did not come back after the broker restart")
		}

		after := newClient(t, b.URL, nil, nil)
		startClient(t, after)
		mark := w.mark()
		publish(t, after, fooPresence, "False", true)
		w.expect(t, mark, fooBar+" False", fooBaz+" False")
	})
}
