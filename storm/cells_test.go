package storm

import (
	"math"
	"math/rand/v2"
	"regexp"
	"testing"
	"time"

	"github.com/stormguard/stormguard/weather"
)

// cellFeed feeds a cell whose centre starts at x0, y0 km (east, north of
// the site) and moves at vx, vy km/h, one strike every 10 s scattered 2 km,
// from 19:00 for d, and returns the actions and the first time a strike
// landed inside 16 km.
func cellFeed(t *testing.T, e *Engine, seed uint64, x0, y0, vx, vy float64, d time.Duration) ([]Action, []time.Time, time.Time) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	var acts []Action
	var when []time.Time
	var firstInside time.Time
	start := at("19:00:00")
	keep := func(now time.Time, as []Action) {
		for _, a := range as {
			acts = append(acts, a)
			when = append(when, now)
		}
	}
	for s := time.Duration(0); s <= d; s += 10 * time.Second {
		now := start.Add(s)
		h := s.Hours()
		x, y := x0+vx*h+rng.NormFloat64()*2, y0+vy*h+rng.NormFloat64()*2
		dist := math.Hypot(x, y)
		if dist < 16 && firstInside.IsZero() {
			firstInside = now
		}
		keep(now, e.Observe(now, weather.Report{Source: feed.name, At: now, Strikes: []weather.Strike{{
			Time: now, Source: feed.name, DistanceKM: dist, BearingDeg: math.Mod(math.Atan2(x, y)*180/math.Pi+360, 360), HasBearing: true,
		}}}))
		if s%time.Second == 0 {
			keep(now, e.Tick(now))
		}
	}
	return acts, when, firstInside
}

func firstShutdown(acts []Action, when []time.Time) (Shutdown, time.Time, bool) {
	for i, a := range acts {
		if s, ok := a.(Shutdown); ok {
			return s, when[i], true
		}
	}
	return Shutdown{}, time.Time{}, false
}

// TestPredictedCountdown: a cell from the west-south-west at 60 km/h gets
// its countdown early enough that grace and shutdown time are over before
// its first strike inside 16 km, and the reason says so in words.
func TestPredictedCountdown(t *testing.T) {
	e := newEngine(t, nil, feed)
	acts, when, firstInside := cellFeed(t, e, 1, -80, -30, 60, 20, 90*time.Minute)
	sd, sent, ok := firstShutdown(acts, when)
	if !ok || firstInside.IsZero() {
		t.Fatalf("shutdown %v, first strike inside %v", ok, firstInside)
	}
	cfg := DefaultConfig()
	down := sent.Add(cfg.Grace + cfg.ShutdownTime)
	if !down.Before(firstInside) {
		t.Errorf("hosts down at %v, first strike inside at %v: late", down, firstInside)
	}
	re := regexp.MustCompile(`^storm cell \d+ km (W|WSW|SW) moving (ENE|E|NE) at \d+ km/h, lightning expected inside 16 km at \d\d:\d\dZ; powering down at \d\d:\d\dZ unless cancelled on CANCEL$`)
	if !re.MatchString(sd.Reason) {
		t.Errorf("reason %q", sd.Reason)
	}
	st := e.State()
	if st.Countdowns != 1 {
		t.Errorf("%d countdowns, want 1: the strikes inside that follow start nothing", st.Countdowns)
	}
}

// TestPassingCellNoCountdown: a cell passing 35 km north starts nothing.
func TestPassingCellNoCountdown(t *testing.T) {
	e := newEngine(t, nil, feed)
	acts, when, _ := cellFeed(t, e, 2, -90, 35, 60, 0, 3*time.Hour)
	if sd, at, ok := firstShutdown(acts, when); ok {
		t.Errorf("countdown at %v for a pass at 35 km: %q", at, sd.Reason)
	}
	if st := e.State(); st.Phase != PhaseClear && st.Phase != PhaseWatch {
		t.Errorf("phase %s", st.Phase)
	}
}

// TestPredictOffIsReactive: with Predict off the same storm starts its
// countdown at its first strike inside, as before tracking.
func TestPredictOffIsReactive(t *testing.T) {
	e := newEngine(t, func(c *Config) { c.Predict = false }, feed)
	acts, when, firstInside := cellFeed(t, e, 1, -80, -30, 60, 20, 90*time.Minute)
	sd, sent, ok := firstShutdown(acts, when)
	if !ok || !sent.Equal(firstInside) {
		t.Errorf("countdown %v at %v, want at the first strike inside %v", ok, sent, firstInside)
	}
	if !regexp.MustCompile(`^lightning 1[0-5]\.\d km`).MatchString(sd.Reason) {
		t.Errorf("reason %q", sd.Reason)
	}
}

// TestLoneStrike: with a close radius, a lone strike between it and the
// shutdown radius waits for a second strike near it; inside the close
// radius, or with the default (the shutdown radius), it starts at once.
func TestLoneStrike(t *testing.T) {
	lone := func(km float64, t0 time.Time) weather.Report { return hit(feed.name, km, t0) }
	e := newEngine(t, func(c *Config) { c.CloseRadiusKM = 8 }, feed)
	if acts := e.Observe(at("19:10:00"), lone(12, at("19:10:00"))); hasShutdown(acts) {
		t.Fatal("lone strike at 12 km beyond an 8 km close radius started a countdown")
	}
	if acts := e.Observe(at("19:11:00"), lone(12.5, at("19:11:00"))); !hasShutdown(acts) {
		t.Error("a second strike beside it started no countdown")
	}
	e = newEngine(t, func(c *Config) { c.CloseRadiusKM = 8 }, feed)
	if acts := e.Observe(at("19:10:00"), lone(7, at("19:10:00"))); !hasShutdown(acts) {
		t.Error("lone strike at 7 km inside the close radius started no countdown")
	}
	e = newEngine(t, nil, feed)
	if acts := e.Observe(at("19:10:00"), lone(15.9, at("19:10:00"))); !hasShutdown(acts) {
		t.Error("default config: lone strike at 15.9 km started no countdown")
	}
}

func hasShutdown(acts []Action) bool {
	for _, a := range acts {
		if _, ok := a.(Shutdown); ok {
			return true
		}
	}
	return false
}

// TestTimeScale: the same storm replayed 60 times faster, with the
// engine's durations scaled and TimeScale set, is tracked at the same
// speed and gets its countdown before lightning arrives.
func TestTimeScale(t *testing.T) {
	const k = 60
	e := newEngine(t, func(c *Config) {
		c.TimeScale = k
		c.Grace /= k
		c.ShutdownTime /= k
		c.PredictMargin /= k
		c.ConfirmFor /= k
		c.AllClear /= k
	}, feed)
	rng := rand.New(rand.NewPCG(1, 1))
	start := at("19:00:00")
	var sd Shutdown
	var sent, firstInside time.Time
	for s := time.Duration(0); s <= 90*time.Minute; s += 10 * time.Second {
		now := start.Add(s / k)
		h := s.Hours()
		x, y := -80+60*h+rng.NormFloat64()*2, -30+20*h+rng.NormFloat64()*2
		dist := math.Hypot(x, y)
		if dist < 16 && firstInside.IsZero() {
			firstInside = now
		}
		acts := e.Observe(now, weather.Report{Source: feed.name, At: now, Strikes: []weather.Strike{{
			Time: now, Source: feed.name, DistanceKM: dist, BearingDeg: math.Mod(math.Atan2(x, y)*180/math.Pi+360, 360), HasBearing: true,
		}}})
		acts = append(acts, e.Tick(now)...)
		for _, a := range acts {
			if s, ok := a.(Shutdown); ok && sent.IsZero() {
				sd, sent = s, now
			}
		}
	}
	if sent.IsZero() || !sent.Add((DefaultConfig().Grace+DefaultConfig().ShutdownTime)/k).Before(firstInside) {
		t.Fatalf("countdown at %v, first strike inside at %v", sent, firstInside)
	}
	m := regexp.MustCompile(`moving \w+ at (\d+) km/h`).FindStringSubmatch(sd.Reason)
	if m == nil || m[1] < "50" || m[1] > "75" || len(m[1]) != 2 {
		t.Errorf("reason %q: want a speed near the true 63 km/h", sd.Reason)
	}
}
