package faults

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stormguard/stormguard/internal/fleettest"
	"github.com/stormguard/stormguard/internal/mqtttest"
	"github.com/stormguard/stormguard/journal"
	"github.com/stormguard/stormguard/wire"
)

// TestMosquittoKilledMidCountdown kills the broker with SIGKILL while three
// hosts count down, and brings it back after the deadline: every host
// powers down once, at the deadline, on its own clock.
func TestMosquittoKilledMidCountdown(t *testing.T) {
	b := mqtttest.Mosquitto(t, mqtttest.MosquittoOptions{})
	var hosts []*host
	for _, name := range []string{"nas", "pi3", "tub"} {
		h := newHost(t, b, name)
		// The power command records when it ran.
		h.stampRuns(t)
		_, ready := h.run("")
		waitReady(t, ready)
		hosts = append(hosts, h)
	}
	pub := fleettest.Client(t, b.URL, nil)
	deadline := time.Now().Add(3 * time.Second).Truncate(time.Millisecond)
	publish(t, pub, "SHUTDOWN", wire.Command{V: 1, ID: "c-storm", Action: wire.Shutdown, Reason: "storm", Deadline: deadline})
	for _, h := range hosts {
		waitJournal(t, h.state, "the scheduled countdown", func(r journal.Record) bool { return r.State == wire.Scheduled && r.ID == "c-storm" })
	}
	b.Kill(t)
	for _, h := range hosts {
		waitJournal(t, h.state, "the outcome while the broker is dead", func(r journal.Record) bool { return r.Kind == journal.KindOutcome && r.ID == "c-storm" })
	}
	b.Start(t)
	for _, h := range hosts {
		runs := h.ran()
		if len(runs) != 1 {
			t.Errorf("%s ran %d times, want 1", h.args[5], len(runs))
			continue
		}
		at := parseStamp(t, runs[0])
		if late := at.Sub(deadline); late < 0 || late > 2*time.Second {
			t.Errorf("%s ran at %s, %v from the deadline %s", h.args[5], at.Format(time.RFC3339Nano), late, deadline.Format(time.RFC3339Nano))
		}
	}
}

func parseStamp(t *testing.T, s string) time.Time {
	t.Helper()
	_, stamp, _ := strings.Cut(s, "@")
	sec, frac, _ := strings.Cut(stamp, ".")
	si, err1 := strconv.ParseInt(sec, 10, 64)
	ns, err2 := strconv.ParseInt((frac + "000000000")[:9], 10, 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("bad stamp %q", s)
	}
	return time.Unix(si, ns)
}
