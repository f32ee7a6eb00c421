package sim

import (
	"fmt"
	"strings"
	"time"

	"github.com/stormguard/stormguard/storm"
	"github.com/stormguard/stormguard/weather"
)

// FeedName is the strike feed's source name.
const FeedName = "blitzortung"

// Outcome is what the engine did with one storm.
type Outcome struct {
	// Countdown is when the first SHUTDOWN went out, zero if none did;
	// Predicted says whether a cell's predicted arrival started it (rather
	// than a strike inside the radius).
	Countdown time.Time
	Predicted bool
	Reason    string
	// StrikeKM is the distance of the strike that started the first
	// countdown, when a strike did (0 otherwise).
	StrikeKM float64
	// Countdowns counts every SHUTDOWN of the storm.
	Countdowns int
	Calls      int
}

// Play feeds the storm's detections, one strike a report as a strike feed
// delivers them, through a new engine with cfg, ticking every tick, until
// an hour after the last strike.
func Play(s Storm, cfg storm.Config, tick time.Duration) (Outcome, error) {
	var o Outcome
	start := s.Params.Start
	e, err := storm.NewEngine(cfg, start)
	if err != nil {
		return o, err
	}
	e.Register(FeedName, weather.Trigger, weather.Connection)
	do := func(now time.Time, acts []storm.Action) {
		o.Calls++
		for _, a := range acts {
			if sd, ok := a.(storm.Shutdown); ok {
				o.Countdowns++
				if o.Countdown.IsZero() {
					o.Countdown = now
					o.Reason = sd.Reason
					o.Predicted = strings.HasPrefix(sd.Reason, "storm cell")
					fmt.Sscanf(sd.Reason, "lightning %f km", &o.StrikeKM)
				}
			}
		}
	}
	do(start, e.Observe(start, weather.Report{Source: FeedName, At: start, Link: weather.LinkUp}))
	r := weather.Report{Source: FeedName, Strikes: make([]weather.Strike, 1)}
	next := start.Add(tick)
	for _, d := range s.Detected {
		for next.Before(d.At) {
			do(next, e.Tick(next))
			next = next.Add(tick)
		}
		r.At = d.At
		r.Strikes[0] = weather.Strike{Time: d.Time, Source: FeedName, DistanceKM: d.Dist(), BearingDeg: d.Bearing(), HasBearing: true}
		do(d.At, e.Observe(d.At, r))
	}
	for end := s.End.Add(time.Hour); next.Before(end); next = next.Add(tick) {
		do(next, e.Tick(next))
	}
	return o, nil
}
