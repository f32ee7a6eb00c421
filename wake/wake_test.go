package wake

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

func hosts(ts []Target) string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Host)
	}
	return strings.Join(out, ",")
}

// TestWakerPlan steps through a wake-up: the broker host's stage first,
// the next stage once it is back, retries every Every, nothing more for a
// host that is back, and a host given up after Limit.
func TestWakerPlan(t *testing.T) {
	t0 := time.Date(2026, 7, 1, 19, 0, 0, 0, time.UTC)
	w := New(Config{Every: 10 * time.Second, StageWait: time.Minute, Limit: 30 * time.Second}, []Target{
		{Host: "desk", Stage: 1}, {Host: "nas", Stage: 5}, {Host: "pi", Stage: 5}, {Host: "hottub", Stage: 9},
	})
	type step struct {
		at   time.Duration
		back string
		send string
		next time.Duration
		done bool
	}
	for _, s := range []step{
		{at: 0, send: "hottub", next: 10 * time.Second},
		{at: 5 * time.Second, send: "", next: 10 * time.Second},
		{at: 10 * time.Second, send: "hottub", next: 20 * time.Second},
		{at: 12 * time.Second, back: "hottub", send: "nas,pi", next: 22 * time.Second},
		{at: 22 * time.Second, back: "nas", send: "pi", next: 32 * time.Second},
		// pi never comes back: after the stage wait, desk's turn anyway.
		{at: 32 * time.Second, send: "pi", next: 42 * time.Second},
		{at: 42 * time.Second, send: "", next: 72 * time.Second},
		{at: 72 * time.Second, send: "desk", next: 82 * time.Second},
		{at: 75 * time.Second, back: "desk", next: 85 * time.Second, done: true},
	} {
		if s.back != "" {
			w.Present(s.back)
		}
		send, next, done := w.Due(t0.Add(s.at))
		if hosts(send) != s.send || done != s.done || (!done && !next.Equal(t0.Add(s.next))) {
			t.Fatalf("at %s: send %q next %s done %v; want %q %s %v", s.at, hosts(send), next.Sub(t0), done, s.send, s.next, s.done)
		}
	}
	rs := w.Results()
	if got := NotBack(rs); !slices.Equal(got, []string{"pi"}) {
		t.Errorf("not back %q, want pi", got)
	}
	if rs[0].Host != "hottub" || rs[0].Sent != 2 || rs[2].Host != "pi" || rs[2].Sent != 3 {
		t.Errorf("results %+v", rs)
	}
}

func TestRunStopsOncePresent(t *testing.T) {
	back := make(chan string, 1)
	var sent []string
	send := func(t Target) error {
		sent = append(sent, t.Host)
		if len(sent) == 3 {
			back <- t.Host
		}
		return nil
	}
	rs := Run(context.Background(), Config{Every: time.Millisecond, Limit: time.Minute}, []Target{{Host: "nas", Stage: 5}}, back, send, nil)
	if len(sent) != 3 || len(rs) != 1 || !rs[0].Back {
		t.Errorf("sent %q, results %+v; want 3 packets, then back", sent, rs)
	}
}
