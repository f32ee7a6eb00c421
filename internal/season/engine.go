package season

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/stormguard/stormguard/storm"
	"github.com/stormguard/stormguard/weather"
)

// FeedName is the strike feed's source name in both players.
const FeedName = "blitzortung"

// PlayEngine plays s through the pure engine with cfg, ticking every tick
// as the runner does, the feed an event feed that reports its link. A
// restart saves the state as JSON and resumes it in a new engine after the
// season's downtime; strikes in the downtime or an outage are not delivered.
func PlayEngine(s Season, cfg storm.Config, tick time.Duration) (Record, error) {
	p := s.Params
	rec := Record{Start: p.Start, End: s.End, AllClear: cfg.AllClear, Tolerance: tick, Cancelled: map[int]bool{}}
	if cfg.Predict {
		rec.Lead = cfg.Track.Horizon
	}
	var e *storm.Engine
	start := func(now time.Time) error {
		n, err := storm.NewEngine(cfg, now)
		if err != nil {
			return err
		}
		n.Register(FeedName, weather.Trigger, weather.Connection)
		if e != nil {
			b, err := json.Marshal(e.State())
			if err != nil {
				return err
			}
			var st storm.State
			if err := json.Unmarshal(b, &st); err != nil {
				return err
			}
			if err := n.Restore(st); err != nil {
				return err
			}
		}
		e = n
		return nil
	}
	if err := start(p.Start); err != nil {
		return rec, err
	}
	var blindFrom time.Time
	cur := -1 // the generator's storm of the last strike delivered
	var cancelAt time.Time
	do := func(now time.Time, acts []storm.Action) {
		rec.Calls++
		for _, a := range acts {
			switch a := a.(type) {
			case storm.Shutdown:
				rec.Countdowns = append(rec.Countdowns, Mark{At: now, StormID: a.ID()})
				if cur >= 0 && s.Storms[cur].Cancel && !rec.Cancelled[cur] {
					rec.Cancelled[cur] = true
					cancelAt = now.Add(time.Minute)
				}
			case storm.Cancelled:
				rec.Cancels = append(rec.Cancels, Mark{At: now, StormID: a.StormID})
			case storm.AllClear:
				rec.AllClears = append(rec.AllClears, Mark{At: now, StormID: a.StormID})
			}
		}
		switch blind := e.State().Blind; {
		case blind && blindFrom.IsZero():
			blindFrom = now
		case !blind && !blindFrom.IsZero():
			rec.Blind = append(rec.Blind, Span{blindFrom, now})
			blindFrom = time.Time{}
		}
	}
	link := func(now time.Time, l weather.Link) {
		do(now, e.Observe(now, weather.Report{Source: FeedName, At: now, Link: l, Detail: l.String()}))
	}
	link(p.Start, weather.LinkUp)
	next := p.Start.Add(tick)
	// until ticks (and cancels) up to, not including, t.
	until := func(t time.Time) {
		for next.Before(t) {
			if !cancelAt.IsZero() && !cancelAt.After(next) {
				do(cancelAt, e.Cancel(cancelAt, "season test"))
				cancelAt = time.Time{}
			}
			do(next, e.Tick(next))
			next = next.Add(tick)
		}
	}
	var down, restartUntil time.Time
	for _, ev := range s.Events {
		until(ev.At)
		if !restartUntil.IsZero() && !ev.At.Before(restartUntil) {
			restartUntil = time.Time{}
		}
		switch ev.Kind {
		case FeedDown:
			down = ev.At
			link(ev.At, weather.LinkDown)
		case FeedUp:
			rec.Outages = append(rec.Outages, Span{down, ev.At})
			down = time.Time{}
			link(ev.At, weather.LinkUp)
		case Restart:
			back := ev.At.Add(s.Downtime)
			rec.Restarts = append(rec.Restarts, Span{ev.At, back})
			// The old process is gone: nothing ticks until the new one runs.
			next = back
			if err := start(back); err != nil {
				return rec, fmt.Errorf("restart at %v: %w", ev.At, err)
			}
			if down.IsZero() {
				link(back, weather.LinkUp)
			}
			restartUntil = back
		case Strike:
			if !down.IsZero() || !restartUntil.IsZero() {
				continue
			}
			cur = ev.Storm
			rec.Delivered = append(rec.Delivered, ev)
			do(ev.At, e.Observe(ev.At, weather.Report{Source: FeedName, At: ev.At, Strikes: []weather.Strike{{
				Time: ev.At, Source: FeedName, DistanceKM: ev.DistanceKM, BearingDeg: ev.BearingDeg, HasBearing: true,
			}}}))
		}
	}
	until(s.End)
	rec.FinalPhase = string(e.State().Phase)
	return rec, nil
}
