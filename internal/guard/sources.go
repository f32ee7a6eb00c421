package guard

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/stormguard/stormguard/scheduler"
	"github.com/stormguard/stormguard/weather"
)

// startSources starts a goroutine per Streamer and the scheduler for the
// Pollers; the returned func stops them all and waits.
func (g *Guard) startSources(ctx context.Context) (func(), error) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, s := range g.cfg.Streamers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g.stream(ctx, s)
		}()
	}
	stop := func() { cancel(); wg.Wait() }
	if len(g.cfg.Pollers) == 0 {
		return stop, nil
	}
	sched, err := scheduler.New(scheduler.Options{Report: g.polled, Jitter: scheduler.DefaultJitter})
	if err != nil {
		stop()
		return nil, err
	}
	for _, p := range g.cfg.Pollers {
		if err := sched.Add(p.Poller, p.Interval, p.Watch); err != nil {
			stop()
			return nil, fmt.Errorf("sources: %w", err)
		}
	}
	g.sched = sched
	sched.Start()
	return func() {
		if err := sched.Shutdown(); err != nil {
			g.log.Warn("scheduler shutdown", "err", err)
		}
		stop()
	}, nil
}

// polled runs on the scheduler's goroutine and hands the result over.
func (g *Guard) polled(name string, r weather.Report, err error) {
	if err != nil {
		kind := weather.Trigger
		for _, p := range g.cfg.Pollers {
			if p.Poller.Name() == name {
				kind = p.Poller.Kind()
			}
		}
		g.send(input{failed: name, kind: kind, err: err})
		return
	}
	if r.Source == "" {
		r.Source = name
	}
	g.send(input{report: &r})
}

// stream runs one Streamer, starting it again with a growing wait when it
// fails. A stream that ends without an error (a replay at its end) is done.
func (g *Guard) stream(ctx context.Context, s weather.Streamer) {
	wait := g.cfg.RetryStream
	for {
		started := time.Now()
		err := s.Stream(ctx, func(r weather.Report) {
			if r.Source == "" {
				r.Source = s.Name()
			}
			g.send(input{report: &r})
		})
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			g.log.Info("stream ended", "source", s.Name())
			return
		}
		g.send(input{failed: s.Name(), kind: s.Kind(), err: err})
		if time.Since(started) > 5*time.Minute {
			wait = g.cfg.RetryStream
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Minute)
	}
}

// Rename gives a source another name, so two sources of one type can run
// side by side and the state names each as the config does.
func Rename(s weather.Source, name string) weather.Source {
	if s.Name() == name {
		return s
	}
	switch s := s.(type) {
	case weather.Poller:
		return renamedPoller{s, name}
	case weather.Streamer:
		return renamedStreamer{s, name}
	}
	return s
}

type renamedPoller struct {
	weather.Poller
	name string
}

func (r renamedPoller) Name() string { return r.name }

func (r renamedPoller) Poll(ctx context.Context) (weather.Report, error) {
	rep, err := r.Poller.Poll(ctx)
	return relabel(rep, r.name), err
}

type renamedStreamer struct {
	weather.Streamer
	name string
}

func (r renamedStreamer) Name() string { return r.name }

func (r renamedStreamer) Liveness() weather.Liveness { return weather.LivenessOf(r.Streamer) }

func (r renamedStreamer) Stream(ctx context.Context, emit func(weather.Report)) error {
	return r.Streamer.Stream(ctx, func(rep weather.Report) { emit(relabel(rep, r.name)) })
}

func relabel(r weather.Report, name string) weather.Report {
	r.Source = name
	for i := range r.Strikes {
		r.Strikes[i].Source = name
	}
	for i := range r.Signals {
		r.Signals[i].Source = name
	}
	return r
}
