package storm

import (
	"fmt"
	"math"
	"math/rand/v2"
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

// BenchmarkObserveCells feeds 10,000 strikes a minute, spread over n storm
// cells inside the 100 km tracking radius, with a Tick every second of feed
// time as the runner does; one strike per operation. The cost per strike
// must stay flat as the cells grow: a strike looks at the cells of a few
// grid squares, and only the Tick looks at them all. 120 cells 16 km apart
// fill the tracking radius.
func BenchmarkObserveCells(b *testing.B) {
	// Grid points 16 km apart inside 95 km, nearest the site first.
	var spots [][2]float64
	for gx := -6; gx <= 6; gx++ {
		for gy := -6; gy <= 6; gy++ {
			x, y := float64(gx)*16, float64(gy)*16
			if d := math.Hypot(x, y); d > 20 && d < 95 {
				spots = append(spots, [2]float64{x, y})
			}
		}
	}
	for _, n := range []int{1, 10, 40, 120} {
		b.Run(fmt.Sprintf("cells=%d", n), func(b *testing.B) {
			e := newEngine(b, nil, blitz)
			rng := rand.New(rand.NewPCG(1, uint64(n)))
			type cell struct{ x, y, vx, vy float64 }
			cells := make([]cell, n)
			for i := range cells {
				// Moving together at 40 km/h, as cells of one system do,
				// so they stay apart.
				p := spots[i*len(spots)/n]
				cells[i] = cell{p[0], p[1], 40.0 / 3600 * 0.6, 40.0 / 3600 * 0.8}
			}
			r := weather.Report{Source: "blitzortung", Strikes: make([]weather.Strike, 1)}
			now := at("19:00:00")
			const step = 6 * time.Millisecond // 10,000 a minute
			nextTick := now.Add(time.Second)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				now = now.Add(step)
				c := &cells[i%n]
				sec := now.Sub(at("19:00:00")).Seconds()
				x, y := c.x+c.vx*sec+rng.NormFloat64()*2.5, c.y+c.vy*sec+rng.NormFloat64()*2.5
				r.At = now
				r.Strikes[0] = weather.Strike{Time: now, Source: "blitzortung", DistanceKM: math.Hypot(x, y),
					BearingDeg: math.Mod(math.Atan2(x, y)*180/math.Pi+360, 360), HasBearing: true}
				e.Observe(now, r)
				if !now.Before(nextTick) {
					e.Tick(now)
					nextTick = nextTick.Add(time.Second)
				}
				i++
			}
			// Cells near the edge drift out of the tracking radius; a few
			// strays from the scatter's tails come and go.
			if got := len(e.tracker.Cells()); b.N > 10*n && (4*got < 3*n || got > 2*n+4) {
				b.Errorf("%d cells tracked, want about %d", got, n)
			}
		})
	}
}
