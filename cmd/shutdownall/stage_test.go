package main

import (
	"strings"
	"testing"
	"time"

	"github.com/stormguard/stormguard/internal/fleettest"
	"github.com/stormguard/stormguard/internal/mqtttest"
	"github.com/stormguard/stormguard/wire"
)

// TestStatusShowsTheStages: -status lists the hosts in the order they
// power down, with the broker host marked and what a held countdown waits for.
func TestStatusShowsTheStages(t *testing.T) {
	b := mqtttest.NATS(t)
	tp := wire.Topics{}
	c := fleettest.Client(t, b.URL, nil)
	deadline := time.Now().Add(-10 * time.Second).UTC()
	pend := []wire.Pending{{ID: "c1", Action: wire.Shutdown, Deadline: deadline}}
	for _, s := range []wire.HostState{
		{Host: "hottub", Stage: 9, Broker: true, Online: true, Pending: pend, Waiting: "waiting for nas (stage 5), until 20:09:26Z at the latest"},
		{Host: "desk", Stage: 1, Online: true},
		{Host: "nas", Stage: 7, Online: true, Pending: pend},
		{Host: "old", Online: true},
	} {
		st, _ := s.Encode()
		pub(t, c, tp.State(s.Host), string(st))
		pub(t, c, tp.Presence(s.Host), "True")
		t.Cleanup(func() { pub(t, c, tp.State(s.Host), "") })
		mqtttest.WaitRetained(t, b.URL, nil, tp.State(s.Host), string(st))
	}
	out, err := run(t, b, "-status")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var order []string
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > 1 && strings.Contains("desk nas old hottub", f[0]) {
			order = append(order, f[0]+" "+f[1])
		}
	}
	if got := strings.Join(order, ", "); got != "desk 1, old 5, nas 7, hottub 9" {
		t.Errorf("-status order %q, want stage order:\n%s", got, out)
	}
	if !lineHas(out, "hottub", "9 (broker)") || !lineHas(out, "hottub", "deadline passed, waiting for nas (stage 5)") {
		t.Errorf("-status lacks hottub's broker mark or what it waits for:\n%s", out)
	}
}
