package main

import (
	"strings"
	"testing"

	"github.com/stormguard/stormguard/internal/mqtttest"
)

// TestBadInput: what a resource gets wrong is logged as a warning naming
// the topic, and does nothing: foo stays present, its topics stay True.
func TestBadInput(t *testing.T) {
	mqtttest.Each(t, func(t *testing.T, b *mqtttest.Broker) {
		w := watch(t, b.URL, nil, "+/#")
		sm := startManager(t, w, managerArgs(t, b, "sm-badinput"))
		res := newClient(t, b.URL, nil, nil)
		startClient(t, res)
		publish(t, res, fooPresence, "True", false)
		publish(t, res, fooBar, "True", false)
		settle(t, w, res)
		mark := w.mark()

		warned := 0
		for _, tc := range []struct {
			name, topic, payload string
			log                  string // part of the warning; empty when the broker never delivers it
		}{
			{"unknown spelling", fooPresence, "maybe", `maybe`},
			{"almost False", fooPresence, "Fals", `Fals`},
			{"empty payload", fooPresence, "", `not a presence value`},
			{"garbage bytes", fooPresence, "\xff\xfe\x00\x01", `\\xff\\xfe`},
			{"huge payload", fooPresence, strings.Repeat("False", 50_000), `250000 bytes`},
			{"JSON on a data topic", fooBar, `{"available":false}`, `not a presence value`},
			{"no name level", "dataavailable/foo", "False", `not a presence, heartbeat, data or command`},
			{"heartbeat that is not one", "stormguard/heartbeat/foo", "True", `not a heartbeat`},
			{"presence one level down", "resourceavailable/foo/presence/x", "False", ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				publish(t, res, tc.topic, tc.payload, false)
				if tc.log == "" {
					return
				}
				warned++
				ln := sm.logs.wait(t, warned, "level=WARN", `msg="message ignored"`)
				if !strings.Contains(ln, tc.log) {
					t.Errorf("warning %q does not say %q", ln, tc.log)
				}
			})
		}
		settle(t, w, res)
		if n := w.count(mark, fooBar+" False"); n != 0 {
			t.Errorf("bad input made the manager publish %q %d times:\n%s", fooBar+" False", n, w.dump(mark))
		}
		if strings.Contains(w.dump(mark), "commandavailable/foo") {
			t.Errorf("bad input made the manager publish:\n%s", w.dump(mark))
		}

		// And the manager still works.
		mark = w.mark()
		publish(t, res, fooPresence, "False", false)
		w.expect(t, mark, fooBar+" False")
	})
}
