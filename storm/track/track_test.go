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
	tr := New(DefaultConfig())
	c := tr.Add(t0, Point{10, 0})
	tr.Add(t0.Add(time.Second), Point{10.5, 0}) // a duplicate
	if !c.Lone() {
		t.Error("one strike and its copy: want lone")
	}
	tr.Add(t0.Add(time.Minute), Point{11, 1})
	if c.Lone() {
		t.Error("a second strike a minute later: want not lone")
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
