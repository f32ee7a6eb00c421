package scheduler

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/stormguard/stormguard/weather"
)

var t0 = time.Date(2026, 7, 15, 19, 0, 0, 0, time.UTC)

// fakePoller is a weather.Poller whose answer is a function of the call
// number (from 1); it counts calls and how many ran at once.
type fakePoller struct {
	name string
	poll func(ctx context.Context, call int) (weather.Report, error)

	mu                    sync.Mutex
	calls, inFlight, most int
}

func (f *fakePoller) Name() string       { return f.name }
func (f *fakePoller) Kind() weather.Kind { return weather.Trigger }

func (f *fakePoller) Poll(ctx context.Context) (weather.Report, error) {
	f.mu.Lock()
	f.calls++
	call := f.calls
	f.inFlight++
	f.most = max(f.most, f.inFlight)
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inFlight--
		f.mu.Unlock()
	}()
	if f.poll == nil {
		return weather.Report{}, nil
	}
	return f.poll(ctx, call)
}

func (f *fakePoller) stats() (calls, most int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls, f.most
}

type run struct {
	name   string
	polled bool
	at     time.Time
}

type result struct {
	name string
	r    weather.Report
	err  error
}

// harness runs a Scheduler on a fake clock and turns its runs and reports
// into channels a test waits on.
type harness struct {
	t       *testing.T
	fc      *clockwork.FakeClock
	s       *Scheduler
	runs    chan run
	reports chan result
}

func newHarness(t *testing.T, mod func(*Options)) *harness {
	t.Helper()
	h := &harness{
		t:       t,
		fc:      clockwork.NewFakeClockAt(t0),
		runs:    make(chan run, 100),
		reports: make(chan result, 100),
	}
	opts := Options{
		Clock:  h.fc,
		Report: func(name string, r weather.Report, err error) { h.reports <- result{name, r, err} },
	}
	if mod != nil {
		mod(&opts)
	}
	s, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	s.ran = func(name string, polled bool) { h.runs <- run{name, polled, h.fc.Now()} }
	h.s = s
	t.Cleanup(func() { _ = s.Shutdown() })
	return h
}

// wait is how long a test waits for an event before it fails; the events
// themselves come from the fake clock.
const wait = 10 * time.Second

func (h *harness) waitRun() run {
	h.t.Helper()
	select {
	case r := <-h.runs:
		return r
	case <-time.After(wait):
		h.t.Fatal("no run within 10s")
		return run{}
	}
}

func (h *harness) waitReport() result {
	h.t.Helper()
	select {
	case r := <-h.reports:
		return r
	case <-time.After(wait):
		h.t.Fatal("no report within 10s")
		return result{}
	}
}

// advance moves the fake clock once waiters timers are registered: the
// next run, plus the timeout of each poll under way.
func (h *harness) advance(d time.Duration, waiters int) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := h.fc.BlockUntilContext(ctx, waiters); err != nil {
		h.t.Fatalf("waiting for %d timers: %v", waiters, err)
	}
	h.fc.Advance(d)
}

// step moves the fake clock d ahead once every named source is due exactly
// d from now. Waiting for that, and not only for timers to exist, matters:
// gocron reschedules a job after the task returned, so a test that saw the
// run may otherwise advance before the next run is on the clock.
func (h *harness) step(d time.Duration, names ...string) {
	h.t.Helper()
	h.due(d, names...)
	h.advance(d, len(names))
}

// due waits until every named source is next due d from now.
func (h *harness) due(d time.Duration, names ...string) {
	h.t.Helper()
	deadline := time.Now().Add(wait)
	for _, name := range names {
		want := h.fc.Now().Add(d)
		for {
			got, err := h.s.NextRun(name)
			if err == nil && got.Equal(want) {
				break
			}
			if time.Now().After(deadline) {
				h.t.Fatalf("%s next run %v (%v), want %v", name, got.Sub(t0), err, want.Sub(t0))
			}
			runtime.Gosched()
		}
	}
}

// pollMinutes advances a minute at a time, steps times, and returns the
// minutes after t0 at which a poll ran (the first run, at 0, included).
func (h *harness) pollMinutes(name string, steps int) []int {
	h.t.Helper()
	var got []int
	note := func(r run) {
		if r.polled {
			got = append(got, int(r.at.Sub(t0)/time.Minute))
		}
	}
	note(h.waitRun())
	for range steps {
		h.step(time.Minute, name)
		note(h.waitRun())
	}
	return got
}

// scheduled waits until name has a next run after now, and returns it.
func (h *harness) scheduled(name string) time.Time {
	h.t.Helper()
	deadline := time.Now().Add(wait)
	for {
		got, err := h.s.NextRun(name)
		if err == nil && got.After(h.fc.Now()) {
			return got
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("%s never scheduled: %v", name, err)
		}
		runtime.Gosched()
	}
}
