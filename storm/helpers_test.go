package storm

import (
	"errors"
	"testing"
	"time"

	"github.com/stormguard/stormguard/weather"
)

// day is the fixture storm's date; at("19:56:00") is a time on it.
var day = time.Date(2026, 7, 15, 0, 0, 0, 0, time.UTC)

func at(hms string) time.Time {
	t, err := time.Parse("15:04:05", hms)
	if err != nil {
		panic(err)
	}
	return day.Add(time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute +
		time.Duration(t.Second())*time.Second)
}

type source struct {
	name string
	kind weather.Kind
	live weather.Liveness
}

var (
	// blitz answers like a polled source here, so the tests of timing and
	// health that predate event feeds keep their meaning; feed is an event feed.
	blitz = source{"blitzortung", weather.Trigger, weather.Answers}
	xw    = source{"xweather", weather.Trigger, weather.Answers}
	nws   = source{"nws", weather.Context, weather.Answers}
	feed  = source{"strikes", weather.Trigger, weather.Connection}
)

// newEngine builds an engine started at 19:00 with the default config,
// changed by mod when it is not nil.
func newEngine(t testing.TB, mod func(*Config), sources ...source) *Engine {
	t.Helper()
	cfg := DefaultConfig()
	if mod != nil {
		mod(&cfg)
	}
	e, err := NewEngine(cfg, at("19:00:00"))
	if err != nil {
		t.Fatalf("NewEngine: %v", err)
	}
	for _, s := range sources {
		e.Register(s.name, s.kind, s.live)
	}
	return e
}

// hit is a report with one strike at t, km away, bearing west-northwest.
func hit(src string, km float64, t time.Time) weather.Report {
	return weather.Report{Source: src, At: t, Strikes: []weather.Strike{{
		Time: t, Source: src, DistanceKM: km, BearingDeg: 292.5, HasBearing: true,
	}}}
}

// quiet is a report that saw nothing.
func quiet(src string, t time.Time) weather.Report {
	return weather.Report{Source: src, At: t}
}

// thunder is a report with one thunderstorm signal.
func thunder(src, detail string, t, until time.Time) weather.Report {
	return weather.Report{Source: src, At: t, Signals: []weather.Signal{{
		Time: t, Source: src, Thunderstorm: true, Detail: detail, Until: until,
	}}}
}

var errHTTP = errors.New("http 503")

// keepAlive has src report nothing every minute from..to (exclusive) and
// returns every action.
func keepAlive(e *Engine, src string, from, to time.Time) []Action {
	var out []Action
	for t := from; t.Before(to); t = t.Add(time.Minute) {
		out = append(out, e.Observe(t, quiet(src, t))...)
	}
	return out
}

func only[T Action](acts []Action) []T {
	var out []T
	for _, a := range acts {
		if v, ok := a.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

func eventsOf(acts []Action, kind EventKind) []string {
	var out []string
	for _, ev := range only[Event](acts) {
		if ev.Kind == kind {
			out = append(out, ev.Message)
		}
	}
	return out
}

func wantPhase(t testing.TB, e *Engine, want Phase) {
	t.Helper()
	if got := e.State().Phase; got != want {
		t.Fatalf("phase = %s, want %s", got, want)
	}
}

func wantShutdowns(t testing.TB, acts []Action, want int) []Shutdown {
	t.Helper()
	got := only[Shutdown](acts)
	if len(got) != want {
		t.Fatalf("got %d Shutdown actions, want %d: %v", len(got), want, got)
	}
	return got
}
