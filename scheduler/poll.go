package scheduler

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-co-op/gocron/v2"

	"github.com/stormguard/stormguard/weather"
)

// ErrTimeout marks a poll that ran past Options.Timeout.
var ErrTimeout = errors.New("poll timed out")

// job is one source and what its recent failures ask of the schedule.
type job struct {
	p             weather.Poller
	name          string
	normal, watch time.Duration
	gj            gocron.Job // guarded by Scheduler.mu

	mu        sync.Mutex
	failures  int
	notBefore time.Time
}

func (j *job) interval(watch bool) time.Duration {
	if watch {
		return j.watch
	}
	return j.normal
}

// run is the gocron task: one poll, unless a backoff or a Retry-After says
// to wait. Waiting skips the scheduled run rather than moving the job, so
// the schedule itself never changes under a failing source.
func (s *Scheduler) run(ctx context.Context, j *job) {
	start := s.clock.Now()
	j.mu.Lock()
	wait := start.Before(j.notBefore)
	j.mu.Unlock()
	if wait {
		s.ranHook(j.name, false)
		return
	}

	r, err := s.poll(ctx, j)
	if ctx.Err() != nil {
		// Shutdown or SetWatch stopped the poll; the source did nothing wrong.
		s.ranHook(j.name, true)
		return
	}
	if err == nil && r.Source == "" {
		r.Source = j.name
	}
	s.settle(j, start, err)
	s.opts.Report(j.name, r, err)
	s.ranHook(j.name, true)
}

// settle records a poll's outcome: after n errors in a row the next poll
// waits interval·2^(n-1) from this one's start, capped at MaxBackoff but
// never less than the interval, and never less than a rate limit's
// Retry-After from now. A success clears both.
func (s *Scheduler) settle(j *job, start time.Time, err error) {
	interval := j.interval(s.watch.Load())

	j.mu.Lock()
	defer j.mu.Unlock()
	if err == nil {
		j.failures, j.notBefore = 0, time.Time{}
		return
	}
	j.failures++
	backoff := interval
	for i := 1; i < j.failures && backoff < s.opts.MaxBackoff; i++ {
		backoff *= 2
	}
	backoff = min(backoff, max(s.opts.MaxBackoff, interval))
	// A jittered run may come a little early; the backoff forgives that
	// much, a server's Retry-After does not.
	slack := time.Duration(float64(interval) * s.opts.Jitter)
	j.notBefore = start.Add(backoff - slack)
	if ra, ok := weather.RateLimited(err); ok {
		if until := s.clock.Now().Add(ra); until.After(j.notBefore) {
			j.notBefore = until
		}
	}
}

// poll asks the source, giving up after Timeout on the scheduler's clock.
// The timer is stopped when the poll ends, so a fake clock is left with no
// stray timers (clockwork.WithTimeout leaves one).
func (s *Scheduler) poll(ctx context.Context, j *job) (weather.Report, error) {
	pctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	timer := s.clock.AfterFunc(s.opts.Timeout, func() { cancel(ErrTimeout) })
	defer timer.Stop()
	r, err := j.p.Poll(pctx)
	if err != nil && errors.Is(context.Cause(pctx), ErrTimeout) {
		err = fmt.Errorf("poll %s: %w after %v: %w", j.name, ErrTimeout, s.opts.Timeout, err)
	}
	return r, err
}

func (s *Scheduler) ranHook(name string, polled bool) {
	if s.ran != nil {
		s.ran(name, polled)
	}
}
