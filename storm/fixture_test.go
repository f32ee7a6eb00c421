package storm

import (
	"bufio"
	"encoding/json"
	"math"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stormguard/stormguard/weather"
)

// fixtureStrikes decodes testdata/blitzortung-strikes.jsonl and places the
// strikes relative to the fixture site with the flat-earth formula the
// Home Assistant integration uses.
func fixtureStrikes(t *testing.T) []weather.Strike {
	t.Helper()
	f, err := os.Open("testdata/blitzortung-strikes.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const lat0, lon0 = 40.0, -105.0
	var out []weather.Strike
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var msg struct{ Topic, Payload string }
		if err := json.Unmarshal(sc.Bytes(), &msg); err != nil {
			t.Fatalf("decode line: %v", err)
		}
		if !strings.HasPrefix(msg.Topic, "blitzortung/") {
			continue
		}
		var p struct {
			Lat, Lon float64
			Time     int64
		}
		if err := json.Unmarshal([]byte(msg.Payload), &p); err != nil {
			t.Fatalf("decode payload %s: %v", msg.Payload, err)
		}
		dy := (p.Lat - lat0) * math.Pi / 180
		dx := (p.Lon - lon0) * math.Pi / 180 * math.Cos(lat0*math.Pi/180)
		az := math.Atan2(dx, dy) * 180 / math.Pi
		if az < 0 {
			az += 360
		}
		out = append(out, weather.Strike{
			Time:       time.Unix(0, p.Time).UTC(),
			Source:     "blitzortung",
			DistanceKM: math.Sqrt(dx*dx+dy*dy) * 6371,
			BearingDeg: az,
			HasBearing: true,
		})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) != 10 {
		t.Fatalf("decoded %d strikes, want 10", len(out))
	}
	return out
}

// step is one call in a replayed timeline.
type step struct {
	t      time.Time
	strike *weather.Strike // nil: the feed's keep-alive, an empty report
}

// TestFixtureStorm replays the fixture storm with the default config, the
// feed reporting every minute as a live connection does.
func TestFixtureStorm(t *testing.T) {
	strikes := fixtureStrikes(t)
	e := newEngine(t, nil, blitz)

	var steps []step
	for i := range strikes {
		steps = append(steps, step{t: strikes[i].Time, strike: &strikes[i]})
	}
	for m := at("19:30:00"); m.Before(at("20:29:01")); m = m.Add(time.Minute) {
		steps = append(steps, step{t: m})
	}
	sort.SliceStable(steps, func(i, j int) bool { return steps[i].t.Before(steps[j].t) })

	var shutdownAt *weather.Strike
	var shutdown Shutdown
	var all []Action
	for _, s := range steps {
		r := quiet("blitzortung", s.t)
		if s.strike != nil {
			r.Strikes = []weather.Strike{*s.strike}
		}
		acts := e.Observe(s.t, r)
		if sd := only[Shutdown](acts); len(sd) > 0 {
			shutdownAt, shutdown = s.strike, sd[0]
		}
		all = append(all, acts...)
		if shutdownAt == nil || s.t.Before(shutdown.Deadline) {
			continue
		}
		if got := e.State().Phase; got != PhaseShutdown {
			t.Fatalf("at %s phase = %s, want shutdown", clock(s.t), got)
		}
	}

	wantShutdowns(t, all, 1)
	if shutdownAt == nil || math.Abs(shutdownAt.DistanceKM-15.5) > 0.05 {
		t.Fatalf("shutdown at strike %+v, want the 15.5 km strike", shutdownAt)
	}
	if got, want := shutdownAt.Time.Truncate(time.Second), at("19:56:00"); !got.Equal(want) {
		t.Errorf("trigger strike at %v, want %v", got, want)
	}
	if got, want := shutdown.Deadline.Truncate(time.Second), at("20:01:00"); !got.Equal(want) {
		t.Errorf("deadline %v, want %v", got, want)
	}
	wantReason := "lightning 15.5 km NW at 19:56Z (blitzortung); powering down at 20:01Z unless cancelled on CANCEL"
	if shutdown.Reason != wantReason {
		t.Errorf("reason\n got %q\nwant %q", shutdown.Reason, wantReason)
	}
	if got := len(only[AllClear](all)); got != 0 {
		t.Fatalf("%d all clears before 20:29, want none", got)
	}

	st := e.State()
	if st.Trend != TrendApproaching {
		t.Errorf("trend = %s, want approaching", st.Trend)
	}
	if st.Nearest == nil || math.Abs(st.Nearest.DistanceKM-1.6) > 0.05 {
		t.Errorf("nearest = %+v, want 1.6 km", st.Nearest)
	}
	if got, want := st.AllClearAt.Truncate(time.Second), at("20:29:56"); !got.Equal(want) {
		t.Errorf("AllClearAt = %v, want %v", got, want)
	}

	// The last strike came at 19:59:56.998; the all clear is due 30 minutes
	// later, inside the second 20:29:56.
	if acts := e.Tick(at("20:29:55")); len(only[AllClear](acts)) != 0 {
		t.Fatalf("all clear at 20:29:55: %v", acts)
	}
	due := strikes[len(strikes)-1].Time.Add(30 * time.Minute)
	if acts := e.Tick(due.Add(-time.Nanosecond)); len(only[AllClear](acts)) != 0 {
		t.Fatalf("all clear a nanosecond early: %v", acts)
	}
	acts := e.Tick(due)
	ac := only[AllClear](acts)
	if len(ac) != 1 || ac[0].StormID != shutdown.StormID {
		t.Fatalf("Tick(%v) all clears = %v, want one for %s", due, ac, shutdown.StormID)
	}
	if got, want := due.Truncate(time.Second), at("20:29:56"); !got.Equal(want) {
		t.Errorf("all clear at %v, want %v", got, want)
	}
	wantPhase(t, e, PhaseAllClear)
	if sc := only[StateChanged](acts); len(sc) != 1 || sc[0].From != PhaseShutdown || sc[0].To != PhaseAllClear {
		t.Errorf("state changes = %+v, want shutdown -> allclear", sc)
	}
}
