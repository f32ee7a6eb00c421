package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stormguard/stormguard/internal/fleettest"
	"github.com/stormguard/stormguard/internal/guard"
	"github.com/stormguard/stormguard/internal/mqtttest"
	"github.com/stormguard/stormguard/internal/season"
	"github.com/stormguard/stormguard/storm"
	"github.com/stormguard/stormguard/wire"
)

// seasonSpeed compresses the binary's season: 30 minutes of all clear take
// 1.2 s, a 5 minute grace 200 ms, the 10 minute silent-after 400 ms. Fair
// weather between events is cut to seasonGap first.
const (
	seasonSpeed = 1500
	seasonGap   = 50 * time.Minute
)

// TestSeasonThroughBinary plays four days of generated weather, compressed,
// through the stormguard binary: strikes in the Blitzortung format on a
// real broker, the feed behind a proxy that takes it down and drops its
// connection, stormguard stopped and started again mid-storm, a countdown
// cancelled on CANCEL. What stormguard publishes is held against the truth
// by season.Check, as for the engine. One seed runs on nats-server and
// another on Mosquitto, side by side.
func TestSeasonThroughBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("the season takes about 30 s")
	}
	binary(t, "stormguard")
	for _, tc := range []struct {
		broker string
		seed   uint64
	}{{"nats", 11}, {"mosquitto", 1}} {
		t.Run(tc.broker, func(t *testing.T) {
			t.Parallel()
			var b *mqtttest.Broker
			if tc.broker == "nats" {
				b = mqtttest.NATS(t)
			} else {
				b = mqtttest.Mosquitto(t, mqtttest.MosquittoOptions{})
			}
			s := season.Generate(season.Params{Seed: tc.seed, Days: 4}).Compress(seasonGap)
			rec := playBinary(t, b, s)
			res := season.Check(s, rec)
			for _, p := range res.Problems {
				t.Error(p)
			}
			t.Logf("%s, seed %d, compressed %d×:\n%s", tc.broker, tc.seed, seasonSpeed, season.Table([]season.Row{res.Row}))
		})
	}
}

// scaled is a season duration on the wall clock.
func scaled(d time.Duration) time.Duration { return d / seasonSpeed }

func playBinary(t *testing.T, b *mqtttest.Broker, s season.Season) season.Record {
	host, port, _ := strings.Cut(b.Addr, ":")
	tp := wire.Topics{}
	obs := newSGObserver(t, b.URL, tp.Command(wire.Shutdown), tp.State(guard.Name), tp.Event(guard.Name))
	proxy := mqtttest.NewProxy(t, b)
	allClear := scaled(30 * time.Minute)
	// Prediction is off: on a clock 1500 times fast a cell moves 1500
	// times faster than the tracker's windows expect. The season with
	// prediction is played through the engine (internal/season), and the
	// tracking rule is scored in internal/sim.
	cfg := writeSGConfig(t, fmt.Sprintf(`tick: 20ms
storm:
  predict: false
  grace: %v
  all-clear: %v
  hold-after-cancel: %v
  silent-after: %v
sources:
  - {type: blitzortung, broker: %q}
`, scaled(5*time.Minute), allClear, allClear, scaled(10*time.Minute), proxy.URL))
	args := []string{"-config", cfg, "-host", host, "-port", port, "-state-dir", t.TempDir(), "-name", "sgseason"}
	feed := fleettest.Client(t, b.URL, nil)
	pub := fleettest.Client(t, b.URL, nil)

	rec := season.Record{AllClear: allClear, Tolerance: 300 * time.Millisecond, Cancelled: map[int]bool{}}
	start := time.Now()
	sg := startSG(t, "stormguard", args...)
	// linkUp waits for a state published after since with the feed connected.
	linkUp := func(since time.Time, what string) time.Time {
		t.Helper()
		m, _ := obs.wait(0, what, sgIsState(func(st guard.State) bool {
			h := st.Sources[season.FeedName]
			return st.At.After(since) && h.Link == "up" && !st.Blind
		}))
		st, _ := sgDecodeState(m)
		return st.At
	}
	up := linkUp(start, "the feed connected")
	rec.Start = up
	base := up // the wall-clock moment of the season's start
	wall := func(at time.Time) time.Time { return base.Add(scaled(at.Sub(s.Params.Start))) }

	cur := -1
	seen := map[string]bool{}
	var down time.Time
	var downLong bool
	cancels := func() {
		for _, m := range obs.all(sgIsShutdown) {
			c, err := wire.Decode(wire.Shutdown, m.topic, m.payload)
			if err != nil || seen[c.ID] {
				continue
			}
			seen[c.ID] = true
			if cur >= 0 && s.Storms[cur].Cancel && !rec.Cancelled[cur] {
				rec.Cancelled[cur] = true
				if err := pub.Publish(context.Background(), tp.Command(wire.Cancel), 1, false, []byte("season test")); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	for i, ev := range s.Events {
		if wait := time.Until(wall(ev.At)); wait > 0 {
			time.Sleep(wait) // pacing the timeline, not waiting for an event
		}
		cancels()
		switch ev.Kind {
		case season.Strike:
			if !down.IsZero() {
				continue
			}
			now := time.Now()
			sgStrike(t, feed, ev.DistanceKM, ev.BearingDeg, now)
			ev.At = now
			cur = ev.Storm
			rec.Delivered = append(rec.Delivered, ev)
		case season.FeedDown:
			down = time.Now()
			// An outage longer than the all clear takes the feed's broker
			// away; a short one drops the connection, which comes back at
			// once, so the storm stays one storm on the wall clock too.
			downLong = nextUp(s.Events[i:]).Sub(ev.At) > 30*time.Minute
			if downLong {
				proxy.Down()
				continue
			}
			proxy.Cut()
			back := linkUp(down, "the feed back after a dropped connection")
			rec.Outages = append(rec.Outages, season.Span{From: down, To: back})
			down = time.Time{}
		case season.FeedUp:
			if !downLong {
				continue
			}
			proxy.Up()
			back := linkUp(time.Now(), "the feed back after an outage")
			rec.Outages = append(rec.Outages, season.Span{From: down, To: back})
			base = base.Add(time.Since(wall(ev.At)))
			down, downLong = time.Time{}, false
		case season.Restart:
			from := time.Now()
			if err := sg.stop(); err != nil {
				t.Fatalf("stopping stormguard for a restart: %v", err)
			}
			sg = startSG(t, fmt.Sprintf("stormguard-%d", len(rec.Restarts)+2), args...)
			back := linkUp(from, "stormguard back after a restart")
			rec.Restarts = append(rec.Restarts, season.Span{From: from, To: back})
			base = base.Add(time.Since(wall(ev.At)))
		}
	}
	if wait := time.Until(wall(s.End)); wait > 0 {
		time.Sleep(wait)
	}
	cancels()
	rec.End = time.Now()
	if m, _, ok := obs.within(0, 5*time.Second, sgIsState(func(st guard.State) bool { return st.Phase == storm.PhaseClear && st.At.After(rec.End.Add(-allClear)) })); ok {
		st, _ := sgDecodeState(m)
		rec.FinalPhase = string(st.Phase)
	} else if m, ok := obs.last(sgIsState(func(guard.State) bool { return true })); ok {
		st, _ := sgDecodeState(m)
		rec.FinalPhase = string(st.Phase)
	}
	rec.End = time.Now()
	collect(t, obs, &rec)
	if err := sg.stop(); err != nil {
		t.Errorf("stormguard did not stop cleanly: %v", err)
	}
	return rec
}

// nextUp is the time of the first FeedUp in evs.
func nextUp(evs []season.Event) time.Time {
	for _, e := range evs {
		if e.Kind == season.FeedUp {
			return e.At
		}
	}
	return evs[len(evs)-1].At
}

// collect reads what stormguard published into rec: each SHUTDOWN id once
// (a restart may send the same again), the cancels and all clears from the
// events, and the stretches the state said it was blind, all on
// stormguard's own clock.
func collect(t *testing.T, obs *sgObserver, rec *season.Record) {
	seen := map[string]bool{}
	for _, m := range obs.all(sgIsShutdown) {
		c, err := wire.Decode(wire.Shutdown, m.topic, m.payload)
		if err != nil {
			t.Errorf("SHUTDOWN %q: %v", m.payload, err)
			continue
		}
		if !seen[c.ID] {
			seen[c.ID] = true
			rec.Countdowns = append(rec.Countdowns, season.Mark{At: c.IssuedAt, StormID: c.ID})
		}
	}
	for _, m := range obs.all(func(m sgMsg) bool { return m.topic == wire.Topics{}.Event(guard.Name) }) {
		var e guard.Event
		if err := json.Unmarshal(m.payload, &e); err != nil {
			continue
		}
		switch e.Kind {
		case guard.EventCancelled:
			rec.Cancels = append(rec.Cancels, season.Mark{At: e.At, StormID: e.StormID})
		case guard.EventAllClear:
			rec.AllClears = append(rec.AllClears, season.Mark{At: e.At, StormID: e.StormID})
		}
	}
	var from time.Time
	for _, m := range obs.all(sgIsState(func(guard.State) bool { return true })) {
		st, _ := sgDecodeState(m)
		if st.At.Before(rec.Start) {
			continue // starting up, before the feed first connected
		}
		switch {
		case st.Blind && from.IsZero():
			from = st.At
		case !st.Blind && !from.IsZero():
			rec.Blind = append(rec.Blind, season.Span{From: from, To: st.At})
			from = time.Time{}
		}
	}
	if !from.IsZero() {
		rec.Blind = append(rec.Blind, season.Span{From: from, To: rec.End})
	}
}
