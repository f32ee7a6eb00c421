package storm

import (
	"math"
	"math/rand/v2"
	"regexp"
	"strings"
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

// strikeAt is a report of one strike at km on bearing deg.
func strikeAt(km, deg float64, t time.Time) weather.Report {
	return weather.Report{Source: feed.name, At: t, Strikes: []weather.Strike{{
		Time: t, Source: feed.name, DistanceKM: km, BearingDeg: deg, HasBearing: true,
	}}}
}

// TestLoneStrike: while a storm is active elsewhere, a lone strike between
// the close radius (10 km by default) and the shutdown radius waits for a
// second strike near it, which starts the countdown and says so; inside
// the close radius, with no storm anywhere else, or with a close radius
// of 0, a lone strike starts one at once, as before tracking.
func TestLoneStrike(t *testing.T) {
	elsewhere := func(mod func(*Config)) *Engine {
		e := newEngine(t, mod, feed)
		// A cell 50 km north, flashing every 10 s from 19:00 to 19:10.
		if acts, when, _ := cellFeed(t, e, 3, -10, 50, 40, 0, 10*time.Minute); len(only[Shutdown](acts)) > 0 {
			_, at, _ := firstShutdown(acts, when)
			t.Fatalf("the cell 50 km away started a countdown at %v", at)
		}
		return e
	}
	e := elsewhere(nil)
	acts := e.Observe(at("19:10:30"), strikeAt(12, 200, at("19:10:30")))
	if hasShutdown(acts) {
		t.Fatal("a lone strike at 12 km, beyond the 10 km close radius, started a countdown while a storm was 50 km away")
	}
	if ev := eventsOf(acts, EventInfo); len(ev) != 1 || !regexp.MustCompile(`^lightning 12\.0 km SSW .* is alone, far from the storm cells: no countdown unless another strike confirms it`).MatchString(ev[0]) {
		t.Errorf("events %q: want one saying the strike is alone", ev)
	}
	if st := e.State(); !strings.HasPrefix(st.Doubted, "lightning 12.0 km SSW at 19:10Z (strikes) is alone") || !st.DoubtedAt.Equal(at("19:10:30")) ||
		!strings.Contains(st.Next, "alone, far from the storm cells: it starts a countdown if another strike confirms it by 19:20Z") {
		t.Errorf("state doubted %q at %v, next %q: want the lone strike and until when it waits", st.Doubted, st.DoubtedAt, st.Next)
	}
	acts = e.Observe(at("19:11:30"), strikeAt(12.5, 203, at("19:11:30")))
	sds := only[Shutdown](acts)
	if len(sds) != 1 || !regexp.MustCompile(`^lightning 12\.0 km SSW at 19:10Z \(strikes\), confirmed by another strike near it; powering down`).MatchString(sds[0].Reason) {
		t.Errorf("second strike beside it: %+v, want one countdown naming the first strike, confirmed", sds)
	}
	if st := e.State(); st.Doubted != "" {
		t.Errorf("state doubted %q after the countdown, want none", st.Doubted)
	}

	// Unconfirmed, the doubt is gone from the state once the lone window passes.
	e = elsewhere(nil)
	e.Observe(at("19:10:30"), strikeAt(12, 200, at("19:10:30")))
	e.Tick(at("19:20:00"))
	if st := e.State(); st.Doubted == "" {
		t.Error("doubt gone from the state before the lone window passed")
	}
	e.Tick(at("19:20:31"))
	if st := e.State(); st.Doubted != "" || strings.Contains(st.Next, "confirms it") {
		t.Errorf("after the lone window: doubted %q, next %q; want neither", st.Doubted, st.Next)
	}

	e = elsewhere(nil)
	if !hasShutdown(e.Observe(at("19:10:30"), strikeAt(7, 200, at("19:10:30")))) {
		t.Error("a lone strike at 7 km, inside the close radius, started no countdown")
	}
	e = elsewhere(func(c *Config) { c.CloseRadiusKM = 0 })
	if !hasShutdown(e.Observe(at("19:10:30"), strikeAt(12, 200, at("19:10:30")))) {
		t.Error("close radius 0: a lone strike at 12 km started no countdown")
	}
	e = newEngine(t, nil, feed)
	if !hasShutdown(e.Observe(at("19:10:00"), strikeAt(15.9, 200, at("19:10:00")))) {
		t.Error("no storm anywhere: a first strike at 15.9 km started no countdown")
	}
}

// TestFringeStrike: a cell passing 28 km north, tracked, puts strikes
// inside 16 km at its edge (its scatter, or the network's location error):
// no countdown, and an event naming the cell. The fourth there within the
// lone window says its lightning is inside after all, and starts one.
func TestFringeStrike(t *testing.T) {
	e := newEngine(t, nil, feed)
	acts, when, inside := cellFeed(t, e, 4, -30, 28, 40, 0, 20*time.Minute)
	if sd, at, ok := firstShutdown(acts, when); ok || !inside.IsZero() {
		t.Fatalf("the passing cell alone: countdown %v at %v (%q), strike inside at %v", ok, at, sd.Reason, inside)
	}
	// Its centre is near (-16.7, 28) km at 19:20; the edge strikes fall
	// 15.5 km from the site toward it.
	bearing := math.Mod(math.Atan2(-16.7, 28)*180/math.Pi+360, 360)
	for i, hms := range []string{"19:20:10", "19:21:00", "19:22:00", "19:24:30"} {
		now := at(hms)
		acts := e.Observe(now, strikeAt(15.5-0.2*float64(i), bearing+float64(i%3-1), now))
		acts = append(acts, e.Tick(now)...)
		if i == 0 {
			if ev := eventsOf(acts, EventInfo); len(ev) != 1 || !regexp.MustCompile(`is at the edge of storm cell 3\d km N(NW|W)? moving E, whose lightning is not expected inside 16 km: no countdown`).MatchString(ev[0]) {
				t.Errorf("events %q: want one naming the passing cell", ev)
			}
		}
		if got, want := hasShutdown(acts), i == 3; got != want {
			t.Fatalf("edge strike %d at %s: countdown %v, want %v", i+1, hms, got, want)
		}
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
