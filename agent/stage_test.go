package agent

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stormguard/stormguard/internal/mqtttest"
	"github.com/stormguard/stormguard/journal"
	"github.com/stormguard/stormguard/wire"
)

func TestGate(t *testing.T) {
	t0 := time.Date(2026, 7, 1, 18, 0, 0, 0, time.UTC)
	limit := time.Minute
	ack := func(host, id string, s wire.AckState) wire.Ack { return wire.Ack{Host: host, ID: id, State: s} }
	fleet := func(build func(f Fleet)) Fleet { f := Fleet{}; build(f); return f }
	for _, tc := range []struct {
		name    string
		stage   int
		fleet   Fleet
		now     time.Time
		wantGo  bool
		wantBy  time.Time
		waiting []string
	}{
		{name: "before the deadline nobody goes", stage: 1, fleet: Fleet{}, now: t0.Add(-time.Second), wantBy: t0},
		{name: "the first stage goes at the deadline", stage: 1, now: t0, wantGo: true, wantBy: t0,
			fleet: fleet(func(f Fleet) { f.SetState(wire.HostState{Host: "pi", Stage: 5, Pending: []wire.Pending{{ID: "c1"}}}) })},
		{name: "a later stage waits for an earlier host that holds the countdown", stage: 5, now: t0.Add(10 * time.Second), wantBy: t0.Add(limit), waiting: []string{"desk"},
			fleet: fleet(func(f Fleet) {
				f.SetState(wire.HostState{Host: "desk", Stage: 1, Pending: []wire.Pending{{ID: "c1"}}})
				f.SetPresence("desk", true)
			})},
		{name: "an earlier host that is done lets it go", stage: 5, now: t0.Add(10 * time.Second), wantGo: true, wantBy: t0.Add(limit),
			fleet: fleet(func(f Fleet) {
				f.SetState(wire.HostState{Host: "desk", Stage: 1})
				f.SetPresence("desk", true)
				f.AddAck(ack("desk", "c1", wire.Executing))
				f.AddAck(ack("desk", "c1", wire.Done))
			})},
		{name: "executing is not gone", stage: 5, now: t0.Add(10 * time.Second), wantBy: t0.Add(limit), waiting: []string{"desk"},
			fleet: fleet(func(f Fleet) {
				f.SetState(wire.HostState{Host: "desk", Stage: 1})
				f.AddAck(ack("desk", "c1", wire.Executing))
			})},
		{name: "presence False is gone", stage: 5, now: t0, wantGo: true, wantBy: t0.Add(limit),
			fleet: fleet(func(f Fleet) {
				f.SetState(wire.HostState{Host: "desk", Stage: 1, Pending: []wire.Pending{{ID: "c1"}}})
				f.SetPresence("desk", false)
			})},
		{name: "a host of an earlier stage without the countdown is not waited for", stage: 5, now: t0, wantGo: true, wantBy: t0,
			fleet: fleet(func(f Fleet) {
				f.SetState(wire.HostState{Host: "desk", Stage: 1, Pending: []wire.Pending{{ID: "other"}}})
				f.SetPresence("desk", true)
			})},
		{name: "a host that never goes holds a stage only until its limit", stage: 5, now: t0.Add(limit), wantGo: true, wantBy: t0.Add(limit), waiting: []string{"desk"},
			fleet: fleet(func(f Fleet) {
				f.SetState(wire.HostState{Host: "desk", Stage: 1, Pending: []wire.Pending{{ID: "c1"}}})
			})},
		{name: "the last stage waits one limit per earlier stage", stage: 9, now: t0.Add(limit), wantBy: t0.Add(2 * limit), waiting: []string{"desk"},
			fleet: fleet(func(f Fleet) {
				f.SetState(wire.HostState{Host: "desk", Stage: 1, Pending: []wire.Pending{{ID: "c1"}}})
				f.SetState(wire.HostState{Host: "nas", Stage: 5})
				f.AddAck(ack("nas", "c1", wire.Stopping))
			})},
		{name: "hosts of the same or a later stage are not waited for", stage: 5, now: t0, wantGo: true, wantBy: t0,
			fleet: fleet(func(f Fleet) {
				f.SetState(wire.HostState{Host: "nas", Stage: 5, Pending: []wire.Pending{{ID: "c1"}}})
				f.SetState(wire.HostState{Host: "hottub", Stage: 9, Pending: []wire.Pending{{ID: "c1"}}})
			})},
		{name: "an old agent without a stage is the middle one", stage: 9, now: t0, wantBy: t0.Add(limit), waiting: []string{"old"},
			fleet: fleet(func(f Fleet) {
				f.SetState(wire.HostState{Host: "old", Pending: []wire.Pending{{ID: "c1"}}})
			})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := Stages{Stage: tc.stage, Limit: limit}.Gate(tc.fleet, "c1", t0, tc.now)
			if g.Go != tc.wantGo || !g.By.Equal(tc.wantBy) || strings.Join(g.Waiting, ",") != strings.Join(tc.waiting, ",") {
				t.Errorf("Gate = go %v by %s waiting %q; want go %v by %s waiting %q", g.Go, g.By.Format(time.TimeOnly), g.Waiting,
					tc.wantGo, tc.wantBy.Format(time.TimeOnly), tc.waiting)
			}
		})
	}
}

func TestDueByCountsMaxAgeFromTheStageLimit(t *testing.T) {
	p := Policy{Host: "nas", MaxAge: time.Minute}
	t0 := time.Date(2026, 7, 1, 18, 0, 0, 0, time.UTC)
	pend := wire.Pending{ID: "c1", Action: wire.Shutdown, Deadline: t0}
	if d := p.DueBy(pend, t0.Add(3*time.Minute), t0.Add(3*time.Minute+30*time.Second)); !d.Run {
		t.Errorf("a stage that waited 3m past the deadline: %s %q, want it run", d.State, d.Detail)
	}
	if d := p.DueBy(pend, t0.Add(3*time.Minute), t0.Add(5*time.Minute)); d.State != wire.Expired {
		t.Errorf("asleep 2m past its stage's limit: %s, want expired", d.State)
	}
}

// staged starts an agent in stage with the given per-stage limit.
func staged(t *testing.T, url, name string, stage int, limit time.Duration, mod func(*Config)) *host {
	t.Helper()
	return newHost(t, url, name, func(c *Config) {
		c.Stages = Stages{Stage: stage, Limit: limit}
		if mod != nil {
			mod(c)
		}
	})
}

// hang makes the host's power command never finish (until RunTimeout):
// a host that never goes.
func hang(t *testing.T) func(*Config) {
	// It runs as long as the test's directory exists: no process outlives the test.
	script := filepath.Join(t.TempDir(), "hang.sh")
	os.WriteFile(script, []byte("#!/bin/sh\nwhile [ -e \"$0\" ]; do sleep 0.1; done\n"), 0o755)
	return func(c *Config) { c.ShutdownCmd = []string{script}; c.RunTimeout = 3 * time.Second }
}

// record finds the first journal record of host matching ok.
func record(t *testing.T, h *host, what string, ok func(journal.Record) bool) journal.Record {
	t.Helper()
	for _, r := range h.journal() {
		if ok(r) {
			return r
		}
	}
	t.Fatalf("%s: no %s in the journal", h.name, what)
	return journal.Record{}
}

func started(t *testing.T, h *host, id string) journal.Record {
	return record(t, h, "started "+id, func(r journal.Record) bool { return r.Kind == journal.KindStarted && r.ID == id })
}

func ended(t *testing.T, h *host, id string) journal.Record {
	return record(t, h, "outcome "+id, func(r journal.Record) bool { return r.Kind == journal.KindOutcome && r.ID == id })
}

// TestStagesGoInOrder runs three agents in stages 1, 5 and 9 on a real
// broker: each later stage starts its power command only after the
// earlier ones have ended theirs, as their journals show.
func TestStagesGoInOrder(t *testing.T) {
	mqtttest.Each(t, func(t *testing.T, b *mqtttest.Broker) {
		w := newWatcher(t, b.URL)
		hub := staged(t, b.URL, "hottub", 9, 10*time.Second, nil)
		nas := staged(t, b.URL, "nas", 5, 10*time.Second, nil)
		desk := staged(t, b.URL, "desk", 1, 10*time.Second, nil)
		deadline := time.Now().Add(2 * time.Second)
		w.publish("SHUTDOWN", false, cmdJSON(t, wire.Command{ID: "c-staged", Action: wire.Shutdown, Reason: "storm", Deadline: deadline}))
		for _, h := range []*host{hub, nas, desk} {
			w.waitAck(h.name, wire.Scheduled)
		}
		w.waitAck("hottub", wire.Done)
		if d := w.waitAck("nas", wire.Done); d.ID != "c-staged" {
			t.Errorf("nas done %q", d.ID)
		}
		w.waitAck("desk", wire.Done)
		order := []*host{desk, nas, hub}
		for i, h := range order {
			s := started(t, h, "c-staged")
			if s.At.Before(deadline) {
				t.Errorf("%s started at %s, before the deadline %s", h.name, s.At.Format(time.StampMilli), deadline.Format(time.StampMilli))
			}
			if i == 0 {
				continue
			}
			prev := ended(t, order[i-1], "c-staged")
			if !s.At.After(prev.At) {
				t.Errorf("%s (later stage) started at %s, before %s ended at %s", h.name, s.At.Format(time.StampMilli), order[i-1].name, prev.At.Format(time.StampMilli))
			}
		}
		for _, h := range order {
			if got := h.ran(); len(got) != 1 {
				t.Errorf("%s ran %d times, want 1", h.name, len(got))
			}
		}
	})
}

// TestStageLimit: a host of the first stage whose power command never
// ends holds the later stages only until their limits, and a max-age
// shorter than the wait does not expire them.
func TestStageLimit(t *testing.T) {
	b := mqtttest.NATS(t)
	w := newWatcher(t, b.URL)
	limit := time.Second
	short := func(c *Config) { c.MaxAge = 200 * time.Millisecond }
	hub := staged(t, b.URL, "hottub", 9, limit, short)
	nas := staged(t, b.URL, "nas", 5, limit, short)
	staged(t, b.URL, "desk", 1, limit, hang(t))
	deadline := time.Now().Add(1500 * time.Millisecond)
	w.publish("SHUTDOWN", false, cmdJSON(t, wire.Command{ID: "c-limit", Action: wire.Shutdown, Deadline: deadline}))
	w.waitAck("desk", wire.Executing)
	k := w.waitAck("nas", wire.Executing)
	if !strings.Contains(k.Detail, "after its limit while desk had not gone") {
		t.Errorf("nas executing detail %q, want it to name desk, which had not gone", k.Detail)
	}
	w.waitAck("nas", wire.Done)
	w.waitAck("hottub", wire.Done)
	if s := started(t, nas, "c-limit"); s.At.Before(deadline.Add(limit)) {
		t.Errorf("nas started at %s, before its limit %s", s.At.Format(time.StampMilli), deadline.Add(limit).Format(time.StampMilli))
	}
	// hottub waits one limit for each earlier stage holding the countdown:
	// nas went at its limit, desk never did.
	if s := started(t, hub, "c-limit"); s.At.Before(deadline.Add(2 * limit)) {
		t.Errorf("hottub started at %s, before %s", s.At.Format(time.StampMilli), deadline.Add(2*limit).Format(time.StampMilli))
	}
}

// TestCancelStopsLaterStages: a cancel while the first stage is going
// disarms the stages that have not gone yet; their state said what they
// were waiting for.
func TestCancelStopsLaterStages(t *testing.T) {
	b := mqtttest.NATS(t)
	w := newWatcher(t, b.URL)
	states := make(chan wire.HostState, 100)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.c.Subscribe(ctx, wire.Topics{}.State("nas"), 1, func(_ string, p []byte, _ bool) {
		if s, err := wire.DecodeHostState(p); err == nil {
			states <- s
		}
	}); err != nil {
		t.Fatal(err)
	}
	hub := staged(t, b.URL, "hottub", 9, time.Minute, nil)
	nas := staged(t, b.URL, "nas", 5, time.Minute, nil)
	staged(t, b.URL, "desk", 1, time.Minute, hang(t))
	w.publish("SHUTDOWN", false, cmdJSON(t, wire.Command{ID: "c-mid", Action: wire.Shutdown, Deadline: time.Now().Add(1500 * time.Millisecond)}))
	w.waitAck("desk", wire.Executing)
	for waiting := false; !waiting; {
		select {
		case s := <-states:
			waiting = strings.Contains(s.Waiting, "desk (stage 1)") && len(s.Pending) == 1 && s.Stage == 5
		case <-ctx.Done():
			t.Fatal("nas never said it was waiting for desk")
		}
	}
	w.publish("CANCEL", false, cmdJSON(t, wire.Command{ID: "x-mid", Action: wire.Cancel, Cancels: "c-mid"}))
	for _, h := range []*host{nas, hub} {
		k := w.waitAck(h.name, wire.Cancelled)
		if k.ID != "c-mid" && k.ID != "x-mid" {
			t.Errorf("%s cancelled %q", h.name, k.ID)
		}
		if got := h.ran(); len(got) != 0 {
			t.Errorf("%s ran %q after the cancel", h.name, got)
		}
	}
	if k := w.waitAck("desk", wire.Rejected); !strings.Contains(k.Detail, "too late") {
		t.Errorf("desk answered the cancel %q, want too late", k.Detail)
	}
}
