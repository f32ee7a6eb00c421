package main

import (
	"testing"

	"github.com/stormguard/stormguard/internal/mqtttest"
)

const (
	fooPresence = "resourceavailable/foo/presence"
	fooBar      = "dataavailable/foo/bar"
	fooBaz      = "commandavailable/foo/baz"
)

// TestOriginal is the issue's own test: with mosquitto_sub -t '+/#' -v in
// one terminal, publish presence True, a data and a command topic True,
// then presence False; the manager publishes False on both topics.
func TestOriginal(t *testing.T) {
	mqtttest.Each(t, func(t *testing.T, b *mqtttest.Broker) {
		w := watch(t, b.URL, nil, "+/#")
		startManager(t, w, managerArgs(t, b, "sm-original"))
		res := newClient(t, b.URL, nil, nil)
		startClient(t, res)

		mark := w.mark()
		publish(t, res, fooPresence, "True", false)
		publish(t, res, fooBar, "True", false)
		publish(t, res, fooBaz, "True", false)
		publish(t, res, fooPresence, "False", false)
		w.expect(t, mark, fooBar+" False", fooBaz+" False")

		// Its own False coming back must not set anything off: by the time
		// another resource's departure has gone through, foo's topics must
		// have had exactly one False each.
		settle(t, w, res)
		for _, k := range []string{fooBar + " False", fooBaz + " False"} {
			if n := w.count(mark, k); n != 1 {
				t.Errorf("%q published %d times, want once:\n%s", k, n, w.dump(mark))
			}
		}
	})
}

// TestComesBack: a resource that returns and re-announces is tracked
// again; a topic it does not re-announce is not touched a second time.
func TestComesBack(t *testing.T) {
	mqtttest.Each(t, func(t *testing.T, b *mqtttest.Broker) {
		w := watch(t, b.URL, nil, "+/#")
		startManager(t, w, managerArgs(t, b, "sm-back"))
		res := newClient(t, b.URL, nil, nil)
		startClient(t, res)

		mark := w.mark()
		publish(t, res, fooPresence, "True", false)
		publish(t, res, fooBar, "True", false)
		publish(t, res, fooBaz, "True", false)
		publish(t, res, fooPresence, "False", false)
		w.expect(t, mark, fooBar+" False", fooBaz+" False")

		publish(t, res, fooPresence, "True", false)
		publish(t, res, fooBar, "True", false)
		publish(t, res, "dataavailable/foo/qux", "True", false)
		publish(t, res, fooPresence, "False", false)
		w.expect(t, mark, "dataavailable/foo/qux False", fooBar+" False", fooBar+" False")
		settle(t, w, res)
		if n := w.count(mark, fooBar+" False"); n != 2 {
			t.Errorf("bar marked False %d times, want 2 (once per departure)", n)
		}
		if n := w.count(mark, fooBaz+" False"); n != 1 {
			t.Errorf("baz, not re-announced, marked False %d times, want 1", n)
		}
	})
}
