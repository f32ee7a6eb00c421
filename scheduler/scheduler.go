// Package scheduler polls weather sources on gocron: each source at its
// normal interval, faster while the storm logic is on watch, one poll at a
// time per source, backing off when a source fails and never sooner than a
// rate limit's Retry-After.
package scheduler

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/jonboulle/clockwork"

	"github.com/stormguard/stormguard/weather"
)

// DefaultJitter is a sensible spread of each interval (±10%) so sources
// polled by many daemons are not hit on the same second.
const DefaultJitter = 0.1

// Options configures a Scheduler.
type Options struct {
	// Clock drives the schedule; nil means the real clock.
	Clock clockwork.Clock
	// Report receives every poll's result, from the polling goroutine. A poll
	// stopped by Shutdown or SetWatch is not reported.
	Report func(name string, r weather.Report, err error)
	// Timeout bounds each poll; zero means 30 seconds.
	Timeout time.Duration
	// MaxBackoff caps the wait after errors in a row; zero means 10 minutes.
	// The wait is never shorter than the interval.
	MaxBackoff time.Duration
	// Jitter spreads each interval by up to this fraction either way (0.1 is
	// ±10%); zero means none, which tests want.
	Jitter float64
}

// Scheduler polls weather.Pollers. Add sources, Start, and Shutdown when done.
type Scheduler struct {
	opts  Options
	clock clockwork.Clock
	cron  gocron.Scheduler

	mu      sync.Mutex // guards jobs and serializes SetWatch
	jobs    []*job
	watch   atomic.Bool
	started atomic.Bool

	// ran, when set by tests, is told about every scheduled run, including
	// runs skipped for a backoff.
	ran func(name string, polled bool)
}

// New returns a Scheduler that is not yet started.
func New(opts Options) (*Scheduler, error) {
	if opts.Report == nil {
		return nil, errors.New("scheduler options: Report is nil")
	}
	if opts.Jitter < 0 || opts.Jitter >= 1 {
		return nil, fmt.Errorf("scheduler options: Jitter %v: must be in [0, 1)", opts.Jitter)
	}
	if opts.Clock == nil {
		opts.Clock = clockwork.NewRealClock()
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 10 * time.Minute
	}
	cron, err := gocron.NewScheduler(gocron.WithClock(opts.Clock))
	if err != nil {
		return nil, fmt.Errorf("new gocron scheduler: %w", err)
	}
	return &Scheduler{opts: opts, clock: opts.Clock, cron: cron}, nil
}

// Add schedules p: every normal interval, every watch interval while on
// watch (zero means the same as normal). The first poll runs at once.
func (s *Scheduler) Add(p weather.Poller, normal, watch time.Duration) error {
	name := p.Name()
	if normal <= 0 {
		return fmt.Errorf("add %s: normal interval %v: must be positive", name, normal)
	}
	if watch <= 0 {
		watch = normal
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if slices.ContainsFunc(s.jobs, func(j *job) bool { return j.name == name }) {
		return fmt.Errorf("add %s: a source with that name is already scheduled", name)
	}
	j := &job{p: p, name: name, normal: normal, watch: watch}
	gj, err := s.cron.NewJob(s.definition(j.interval(s.watch.Load())), gocron.NewTask(s.run, j),
		s.jobOptions(j, gocron.WithStartAt(gocron.WithStartImmediately()))...)
	if err != nil {
		return fmt.Errorf("add %s: %w", name, err)
	}
	j.gj = gj
	s.jobs = append(s.jobs, j)
	return nil
}

// SetWatch switches every source to its watch interval (on) or back to its
// normal one. The next poll comes one new interval from now; a poll running
// at the switch is stopped, as gocron's Update cancels it.
func (s *Scheduler) SetWatch(on bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if on == s.watch.Load() {
		return nil
	}
	s.watch.Store(on)
	var errs []error
	var extra []gocron.JobOption
	if !s.started.Load() {
		// Not started yet: keep the first poll immediate.
		extra = append(extra, gocron.WithStartAt(gocron.WithStartImmediately()))
	}
	for _, j := range s.jobs {
		// Update drops the old options, so every one is passed again.
		gj, err := s.cron.Update(j.gj.ID(), s.definition(j.interval(on)), gocron.NewTask(s.run, j), s.jobOptions(j, extra...)...)
		if err != nil {
			errs = append(errs, fmt.Errorf("set interval of %s: %w", j.name, err))
			continue
		}
		j.gj = gj
	}
	return errors.Join(errs...)
}

// NextRun says when the named source is next due to run (a run inside a
// backoff does not poll).
func (s *Scheduler) NextRun(name string) (time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, j := range s.jobs {
		if j.name == name {
			return j.gj.NextRun()
		}
	}
	return time.Time{}, fmt.Errorf("next run of %s: no such source", name)
}

// Start starts polling; it does not block.
func (s *Scheduler) Start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.started.Store(true)
	s.cron.Start()
}

// Shutdown stops polling, cancels the polls under way and waits for them.
func (s *Scheduler) Shutdown() error {
	if err := s.cron.Shutdown(); err != nil {
		return fmt.Errorf("shutdown scheduler: %w", err)
	}
	return nil
}

// definition is the gocron schedule for one interval, spread by the jitter.
func (s *Scheduler) definition(d time.Duration) gocron.JobDefinition {
	if s.opts.Jitter == 0 {
		return gocron.DurationJob(d)
	}
	spread := time.Duration(float64(d) * s.opts.Jitter)
	return gocron.DurationRandomJob(d-spread, d+spread)
}

// jobOptions are the options every job carries, at Add and at every Update.
//
// The interval counts from the end of the last poll, so a slow source is
// never asked again before it has answered and runs cannot pile up. The
// singleton mode guards the one case where two runs of a source could still
// meet: an Update (SetWatch) while a poll is finishing. It waits rather than
// reschedules: gocron frees a singleton's slot a moment after the task
// returns, and with the next run due a full interval after completion,
// Reschedule would only ever drop a run that fell into that moment (which a
// fake clock hits), while Wait delays it by that moment.
func (s *Scheduler) jobOptions(j *job, extra ...gocron.JobOption) []gocron.JobOption {
	return append([]gocron.JobOption{
		gocron.WithName(j.name),
		gocron.WithIntervalFromCompletion(),
		gocron.WithSingletonMode(gocron.LimitModeWait),
	}, extra...)
}
