package scheduler

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stormguard/stormguard/weather"
)

// blocker is a poller whose call number block waits until released or
// cancelled; other calls answer at once.
type blocker struct {
	*fakePoller
	started chan struct{}
	release chan struct{}
	ended   chan error
}

func newBlocker(name string, block int) *blocker {
	b := &blocker{started: make(chan struct{}, 1), release: make(chan struct{}), ended: make(chan error, 1)}
	b.fakePoller = &fakePoller{name: name, poll: func(ctx context.Context, call int) (weather.Report, error) {
		if call != block {
			return weather.Report{}, nil
		}
		b.started <- struct{}{}
		select {
		case <-b.release:
			b.ended <- nil
			return weather.Report{}, nil
		case <-ctx.Done():
			b.ended <- ctx.Err()
			return weather.Report{}, ctx.Err()
		}
	}}
	return b
}

func (b *blocker) waitStarted(t *testing.T) {
	t.Helper()
	select {
	case <-b.started:
	case <-time.After(wait):
		t.Fatal("poll did not start within 10s")
	}
}

func (b *blocker) waitEnded(t *testing.T) error {
	t.Helper()
	select {
	case err := <-b.ended:
		return err
	case <-time.After(wait):
		t.Fatal("poll did not end within 10s")
		return nil
	}
}

func TestNoOverlappingPolls(t *testing.T) {
	tests := []struct {
		name  string
		watch bool
	}{
		{"normal interval", false},
		// Update must get the singleton options again.
		{"after switching to watch", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, func(o *Options) { o.Timeout = time.Hour })
			block := 1
			if tc.watch {
				block = 2
			}
			p := newBlocker("xweather", block)
			if err := h.s.Add(p, time.Minute, time.Minute/2); err != nil {
				t.Fatal(err)
			}
			h.s.Start()
			every := time.Minute
			if tc.watch {
				h.waitRun()
				h.due(time.Minute, "xweather")
				if err := h.s.SetWatch(true); err != nil {
					t.Fatal(err)
				}
				every = time.Minute / 2
				h.step(every, "xweather")
			}
			p.waitStarted(t)
			// Three intervals pass while the poll hangs (the poll's timeout
			// timer is the one timer on the clock).
			for range 3 {
				h.advance(every, 1)
			}
			close(p.release)
			if err := p.waitEnded(t); err != nil {
				t.Fatalf("slow poll ended with %v", err)
			}
			slow := h.waitRun()
			// The next poll comes one interval after the slow one finished.
			h.step(every, "xweather")
			if r := h.waitRun(); !r.polled || !r.at.Equal(slow.at.Add(every)) {
				t.Fatalf("next run %+v, want a poll at %v", r, slow.at.Add(every).Sub(t0))
			}
			calls, most := p.stats()
			if most != 1 {
				t.Errorf("%d polls ran at once, want 1", most)
			}
			if want := block + 1; calls != want {
				t.Errorf("%d polls, want %d (none while the slow one ran)", calls, want)
			}
		})
	}
}

func TestShutdownCancelsPoll(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Timeout = time.Hour })
	p := newBlocker("blitz", 1)
	if err := h.s.Add(p, time.Minute, 0); err != nil {
		t.Fatal(err)
	}
	h.s.Start()
	p.waitStarted(t)
	if err := h.s.Shutdown(); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := p.waitEnded(t); !errors.Is(err, context.Canceled) {
		t.Fatalf("poll ended with %v, want context.Canceled", err)
	}
	if r := h.waitRun(); !r.polled {
		t.Fatalf("run = %+v", r)
	}
	// Stopping is not the source's failure: nothing is reported.
	select {
	case rep := <-h.reports:
		t.Fatalf("shutdown reported %+v", rep)
	default:
	}
}

func TestPollTimeout(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Timeout = 30 * time.Second })
	p := newBlocker("tempest", 1)
	if err := h.s.Add(p, time.Minute, 0); err != nil {
		t.Fatal(err)
	}
	h.s.Start()
	p.waitStarted(t)
	h.advance(29*time.Second, 1)
	select {
	case err := <-p.ended:
		t.Fatalf("poll ended after 29s with %v, want it still running", err)
	default:
	}
	h.advance(time.Second, 1)
	rep := h.waitReport()
	if !errors.Is(rep.err, ErrTimeout) || rep.name != "tempest" {
		t.Fatalf("report = %+v, want tempest's timeout", rep)
	}
	h.waitRun()
	// Polling goes on after a timeout.
	h.step(time.Minute, "tempest")
	if r := h.waitRun(); !r.polled {
		t.Fatalf("run after timeout = %+v, want a poll", r)
	}
}
