package track

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

var t0 = time.Date(2026, 7, 15, 19, 0, 0, 0, time.UTC)

// feed adds a cell moving from start at vx, vy km/h, one strike every
// every, scattered sd km about its centre, for d.
func feed(tr *Tracker, r *rand.Rand, start Point, vx, vy, sd float64, every, d time.Duration) *Cell {
	var c *Cell
	for s := time.Duration(0); s <= d; s += every {
		h := s.Hours()
		p := Point{start.X + vx*h + r.NormFloat64()*sd, start.Y + vy*h + r.NormFloat64()*sd}
		c = tr.Add(t0.Add(s), p)
	}
	return c
}

func TestFitFollowsAMovingCell(t *testing.T) {
	tr := New(DefaultConfig())
	r := rand.New(rand.NewPCG(1, 2))
	// 60 km west, moving east at 60 km/h: 12 minutes of strikes, 3 km scatter.
	c := feed(tr, r, Point{-60, 0}, 60, 0, 3, 10*time.Second, 12*time.Minute)
	if n := len(tr.Cells()); n != 1 {
		t.Fatalf("%d cells, want 1", n)
	}
	p := tr.Predict(c, 16)
	if !p.OK {
		t.Fatalf("no fit: %+v", p.Fit)
	}
	// Within three standard errors of the truth.
	if tol := 3 * p.SpeedErrKMH; math.Abs(p.VX-60) > tol || math.Abs(p.VY) > tol || p.SpeedErrKMH > 10 {
		t.Errorf("velocity %.1f, %.1f km/h ± %.1f, want 60, 0", p.VX, p.VY, p.SpeedErrKMH)
	}
	// The bare centre on the fitted track comes inside 16 km at
	// (distance - 16) / speed; the reach and the error only make it sooner.
	bare := time.Duration((p.Pos.Dist() - 16) / p.Speed() * float64(time.Hour))
	if arr := p.Arrival.Sub(p.At); arr <= 0 || arr >= bare {
		t.Errorf("arrival in %v, want sooner than the bare centre's %v, and ahead", arr, bare)
	}
}

func TestPassingCellNeverArrives(t *testing.T) {
	tr := New(DefaultConfig())
	r := rand.New(rand.NewPCG(3, 4))
	// Passing 40 km north of the site, moving east.
	c := feed(tr, r, Point{-50, 40}, 50, 0, 3, 10*time.Second, 12*time.Minute)
	p := tr.Predict(c, 16)
	if !p.OK || !p.Arrival.IsZero() {
		t.Errorf("OK %v, arrival %v: want a fit and no arrival", p.OK, p.Arrival)
	}
	if p.ClosestKM < 35 || p.ClosestKM > 45 {
		t.Errorf("closest %.1f km, want about 40", p.ClosestKM)
	}
}

func TestTwoCellsStayApart(t *testing.T) {
	tr := New(DefaultConfig())
	r := rand.New(rand.NewPCG(5, 6))
	a := feed(tr, r, Point{-60, -30}, 40, 0, 2.5, 15*time.Second, 8*time.Minute)
	b := feed(tr, r, Point{30, 60}, 0, -40, 2.5, 15*time.Second, 8*time.Minute)
	if a == b || len(tr.Cells()) != 2 {
		t.Fatalf("%d cells, want 2 distinct", len(tr.Cells()))
	}
	tr.Expire(t0.Add(8*time.Minute + DefaultConfig().Forget + time.Second))
	if n := len(tr.Cells()); n != 0 {
		t.Errorf("%d cells after Forget, want 0", n)
	}
}

func TestLoneStrike(t *testing.T) {
	w := DefaultConfig().LoneWindow
	tr := New(DefaultConfig())
	c := tr.Add(t0, Point{10, 0})
	tr.Add(t0.Add(time.Second), Point{10.5, 0}) // a duplicate
	if !c.Lone(w) {
		t.Error("one strike and its copy: want lone")
	}
	tr.Add(t0.Add(time.Minute), Point{11, 1})
	if c.Lone(w) {
		t.Error("a second strike a minute later: want not lone")
	}
	if n := c.CountSince(t0); n != 3 {
		t.Errorf("CountSince: %d, want 3", n)
	}
	// A strike after a gap longer than the window is lone again, though
	// its cell remembers the old ones.
	tr.Add(t0.Add(time.Minute+w+time.Second), Point{11, 1})
	if !c.Lone(w) || c.Strikes != 4 {
		t.Errorf("a strike %v after the last: lone %v, %d strikes; want lone, 4", w, c.Lone(w), c.Strikes)
	}
	if n := c.CountSince(t0.Add(w)); n != 1 {
		t.Errorf("CountSince the gap: %d, want 1", n)
	}
}

// TestNear: Near finds the cells whose expected position is within the
// distance, not the one skipped and not those farther.
func TestNear(t *testing.T) {
	tr := New(DefaultConfig())
	a := tr.Add(t0, Point{0, 0})
	b := tr.Add(t0, Point{20, 0})
	tr.Add(t0, Point{-30, 30})
	var got []*Cell
	tr.Near(t0, Point{5, 0}, 24, a, func(c *Cell, d float64) bool {
		got = append(got, c)
		if d < 14.9 || d > 15.1 {
			t.Errorf("distance %v, want 15", d)
		}
		return true
	})
	if len(got) != 1 || got[0] != b {
		t.Errorf("Near: %d cells, want only the one 15 km away", len(got))
	}
}

// TestTurnWindow: a cell that turns toward the site after a long straight
// run is expected sooner with the short fit than with the long one alone.
func TestTurnWindow(t *testing.T) {
	run := func(turn time.Duration) time.Time {
		cfg := DefaultConfig()
		cfg.TurnWindow = turn
		tr := New(cfg)
		r := rand.New(rand.NewPCG(7, 8))
		// 15 minutes east along y = 40 at 60 km/h, then south at 60 km/h.
		c := feed(tr, r, Point{-40, 40}, 60, 0, 1.5, 10*time.Second, 15*time.Minute)
		start := t0.Add(15 * time.Minute)
		for s := time.Duration(0); s < 8*time.Minute; s += 10 * time.Second {
			h := s.Hours()
			c = tr.Add(start.Add(s), Point{-25 + r.NormFloat64()*1.5, 40 - 60*h + r.NormFloat64()*1.5})
		}
		return tr.Predict(c, 16).Arrival
	}
	long, short := run(0), run(DefaultConfig().TurnWindow)
	if short.IsZero() || (!long.IsZero() && !short.Before(long)) {
		t.Errorf("arrival with the turn fit %v, without %v: want an earlier one with it", short, long)
	}
}

func TestCellsBounded(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxCells = 10
	tr := New(cfg)
	for i := range 100 {
		tr.Add(t0.Add(time.Duration(i)*time.Second), Point{float64(i) * 50, 0})
	}
	if n := len(tr.Cells()); n != 10 {
		t.Errorf("%d cells, want 10", n)
	}
}
