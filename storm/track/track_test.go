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
	// 60 km west, moving east at 60 km/h: 10 minutes of strikes, 3 km scatter.
	c := feed(tr, r, Point{-60, 0}, 60, 0, 3, 20*time.Second, 10*time.Minute)
	if n := len(tr.Cells()); n != 1 {
		t.Fatalf("%d cells, want 1", n)
	}
	p := tr.Predict(c, 16)
	if !p.OK {
		t.Fatalf("no fit: %+v", p.Fit)
	}
	if math.Abs(p.VX-60) > 10 || math.Abs(p.VY) > 10 {
		t.Errorf("velocity %.1f, %.1f km/h, want about 60, 0", p.VX, p.VY)
	}
	if math.Abs(p.Heading()-90) > 10 {
		t.Errorf("heading %.0f, want about 90", p.Heading())
	}
	// The centre is 50 km out at 60 km/h: 34 km to the radius, 34 min,
	// less the reach and the margin for the error.
	arr := p.Arrival.Sub(p.At)
	if arr <= 15*time.Minute || arr > 34*time.Minute {
		t.Errorf("arrival in %v, want earlier than the 34 min of the bare centre but not absurdly so", arr)
	}
}

func TestPassingCellNeverArrives(t *testing.T) {
	tr := New(DefaultConfig())
	r := rand.New(rand.NewPCG(3, 4))
	// Passing 40 km north of the site, moving east.
	c := feed(tr, r, Point{-50, 40}, 50, 0, 3, 20*time.Second, 10*time.Minute)
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
	a := feed(tr, r, Point{-60, -30}, 40, 0, 3, 30*time.Second, 8*time.Minute)
	b := feed(tr, r, Point{30, 60}, 0, -40, 3, 30*time.Second, 8*time.Minute)
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
