package storm

import (
	"testing"
	"time"

	"github.com/stormguard/stormguard/weather"
)

// farFeed returns a report whose one strike is n-th of a feed where one
// strike in a hundred falls inside the watch radius (never inside the
// shutdown radius) and the rest are 50 to 500 km away.
func farFeed(r *weather.Report, n int, now time.Time) {
	km := 50 + float64(n%450)
	if n%100 == 0 {
		km = 20 + float64(n%17)
	}
	r.At = now
	r.Strikes[0] = weather.Strike{Time: now, Source: "blitzortung", DistanceKM: km, BearingDeg: float64(n % 360), HasBearing: true}
}

// BenchmarkObserve feeds one strike per operation, mostly far away; run with
// -benchtime 1000000x for a million strikes. Memory must stay flat: the
// allocations per op are the strikes inside the watch radius updating the
// nearest strike, nothing that grows with the feed.
func BenchmarkObserve(b *testing.B) {
	e := newEngine(b, nil, blitz)
	r := weather.Report{Source: "blitzortung", Strikes: make([]weather.Strike, 1)}
	now := at("19:00:00")
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		now = now.Add(10 * time.Millisecond)
		farFeed(&r, n, now)
		e.Observe(now, r)
		n++
	}
	if st := e.State(); len(st.Recent) > recentMax {
		b.Fatalf("kept %d recent strikes", len(st.Recent))
	}
}

// TestObserveFarStrikesAllocateNothing is the flat-memory promise as a test:
// a strike outside the watch radius, and a report that only says a source is
// alive, cost no allocation at all.
func TestObserveFarStrikesAllocateNothing(t *testing.T) {
	e := newEngine(t, nil, blitz, xw, nws)
	now := at("19:00:00")
	far := weather.Report{Source: "blitzortung", Strikes: make([]weather.Strike, 3)}
	for i := range far.Strikes {
		far.Strikes[i] = weather.Strike{Source: "blitzortung", DistanceKM: 41 + float64(i)*100}
	}
	e.Observe(now, far)
	e.Observe(now, quiet("xweather", now))
	e.Observe(now, quiet("nws", now))
	allocs := testing.AllocsPerRun(1000, func() {
		now = now.Add(100 * time.Millisecond)
		for i := range far.Strikes {
			far.Strikes[i].Time = now
		}
		if acts := e.Observe(now, far); acts != nil {
			t.Fatalf("far strike produced %v", acts)
		}
		e.Observe(now, quiet("xweather", now))
		e.Tick(now)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per far report, want 0", allocs)
	}
	wantPhase(t, e, PhaseClear)
}
