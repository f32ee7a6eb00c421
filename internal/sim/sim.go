// Package sim makes thunderstorms with the truth known and what a
// lightning network would report of them, to score how early stormguard
// powers a fleet down.
//
// A storm is one or two cells. A cell is born, its flash rate grows,
// holds and decays; its core moves in a straight line (or turns once) at
// 10 to 80 km/h. Its ground strikes fall about a point a little ahead of
// the core, and some well ahead of it, as lightning does. The network
// sees each strike with a probability (the detection efficiency), places
// it with an error (median 2 to 5 km), sometimes tens of kilometres off
// (an outlier), sometimes twice (a duplicate), and delivers it a few
// seconds late, only within its radius of the site. The true strikes are
// kept apart from the detections: the score judges against the truth,
// stormguard sees only the detections.
//
// Everything comes from a seed: the same Params give the same storm.
package sim

import (
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// Kind is the shape of a scenario.
type Kind string

const (
	// Hit: the core passes 0 to 10 km from the site.
	Hit Kind = "direct hit"
	// NearMiss: the core passes 17 to 22 km from the site.
	NearMiss Kind = "near miss"
	// Pass: the core passes 25 to 35 km from the site.
	Pass Kind = "pass"
	// Overhead: the cell is born within 12 km of the site.
	Overhead Kind = "forms overhead"
	// Dies: a cell heading for the site that dies 20 to 45 km out.
	Dies Kind = "dies on the way"
	// Two: a direct hit and, at the same time, a second cell passing 15
	// to 40 km away on another heading.
	Two Kind = "two cells"
	// Turn: a cell that turns by 30 to 70 degrees half way, towards or
	// away from the site.
	Turn Kind = "turns"
)

// Kinds lists every scenario, in the order the score prints them.
var Kinds = []Kind{Hit, NearMiss, Pass, Overhead, Dies, Two, Turn}

// Params shape one storm.
type Params struct {
	Seed uint64
	Kind Kind
	// Start is the birth of the first cell.
	Start time.Time
	// FeedRadiusKM is how far from the site the network delivers strikes;
	// default 100 (the Blitzortung feed's radius).
	FeedRadiusKM float64
}

// Strike is one ground strike: a true one, or a detection of one.
type Strike struct {
	// Time is when it happened; At when a detection reached the site.
	Time, At time.Time
	// X and Y are km east and north of the site.
	X, Y float64
	Cell int
}

// Dist is the distance from the site.
func (s Strike) Dist() float64 { return math.Hypot(s.X, s.Y) }

// Bearing is the direction from the site, degrees clockwise from north.
func (s Strike) Bearing() float64 { return math.Mod(math.Atan2(s.X, s.Y)*180/math.Pi+360, 360) }

// Cell is one cell's truth.
type Cell struct {
	SpeedKMH, HeadingDeg float64
	// ClosestKM is the closest the core comes to the site while it lives.
	ClosestKM float64
	// Born and Died bound its life.
	Born, Died time.Time
}

// Storm is a scenario with its truth and what the network reported.
type Storm struct {
	Params Params
	Cells  []Cell
	// Truth are every ground strike, Detected what the network delivered,
	// each in time order (Detected by arrival).
	Truth, Detected []Strike
	// DetectionEfficiency and MedianErrorKM are the network's for this storm.
	DetectionEfficiency, MedianErrorKM float64
	End                                time.Time
}

// cellPlan is what the generator decides about a cell before making it.
type cellPlan struct {
	speed, heading float64 // km/h, radians clockwise from north
	cx, cy         float64 // where the core is at tc
	tc             time.Duration
	born, died     time.Duration // from Params.Start
	grow, decay    time.Duration
	peak           float64 // flashes a minute
	turnAt         time.Duration
	turn           float64 // radians, applied at turnAt
}

// Generate makes the storm p describes.
func Generate(p Params) Storm {
	if p.FeedRadiusKM == 0 {
		p.FeedRadiusKM = 100
	}
	if p.Start.IsZero() {
		p.Start = time.Date(2026, 7, 15, 18, 0, 0, 0, time.UTC)
	}
	rng := rand.New(rand.NewPCG(p.Seed, uint64(len(p.Kind))^0x5707e))
	s := Storm{Params: p}
	var plans []cellPlan
	switch p.Kind {
	case Hit:
		plans = append(plans, approach(rng, 10*rng.Float64()))
	case NearMiss:
		plans = append(plans, approach(rng, 17+5*rng.Float64()))
	case Pass:
		plans = append(plans, approach(rng, 25+10*rng.Float64()))
	case Overhead:
		c := approach(rng, 0)
		// Born within 12 km, slower, young.
		c.speed = 10 + 30*rng.Float64()
		r, a := 12*math.Sqrt(rng.Float64()), 2*math.Pi*rng.Float64()
		c.cx, c.cy = r*math.Sin(a), r*math.Cos(a)
		c.tc = c.born + time.Minute
		c.died = c.born + time.Duration((60+60*rng.Float64())*float64(time.Minute))
		plans = append(plans, c)
	case Dies:
		c := approach(rng, 10*rng.Float64())
		// It dies (the decay ends) when the core is 20 to 45 km from closest.
		out := 20 + 25*rng.Float64()
		c.died = c.tc - time.Duration(out/c.speed*float64(time.Hour))
		c.decay = time.Duration((10 + 10*rng.Float64()) * float64(time.Minute))
		if c.died-c.decay < c.born+c.grow {
			c.born = c.died - c.decay - c.grow - 20*time.Minute
		}
		plans = append(plans, c)
	case Two:
		a := approach(rng, 10*rng.Float64())
		b := approach(rng, 15+25*rng.Float64())
		b.heading = a.heading + (math.Pi/3+math.Pi/3*rng.Float64())*sign(rng)
		b.cx, b.cy = perp(b.heading, math.Hypot(b.cx, b.cy), rng)
		plans = append(plans, a, b)
	case Turn:
		c := approach(rng, 5+25*rng.Float64())
		c.turnAt = c.born + (c.tc-c.born)*time.Duration(40+30*rng.IntN(2))/100
		c.turn = (math.Pi/6 + math.Pi*2/9*rng.Float64()) * sign(rng)
		plans = append(plans, c)
	}
	s.DetectionEfficiency = 0.6 + 0.35*rng.Float64()
	s.MedianErrorKM = 2 + 3*rng.Float64()
	for i, c := range plans {
		s.Cells = append(s.Cells, s.makeCell(rng, i, c))
	}
	slices.SortFunc(s.Truth, func(a, b Strike) int { return a.Time.Compare(b.Time) })
	s.detect(rng)
	for _, t := range s.Truth {
		s.End = latestTime(s.End, t.Time)
	}
	return s
}

// approach plans a mature cell whose core passes closest km from the
// site, first seen 40 to 100 minutes of travel before that, never closer
// than 45 km along its track.
func approach(rng *rand.Rand, closest float64) cellPlan {
	var c cellPlan
	c.speed = 10 + 70*rng.Float64()
	c.heading = 2 * math.Pi * rng.Float64()
	c.cx, c.cy = perp(c.heading, closest, rng)
	travel := max((40+60*rng.Float64())/60*c.speed, 45) // km along the track before tc
	travel = min(travel, 110)
	c.tc = time.Duration(travel/c.speed*float64(time.Hour)) + 30*time.Minute
	c.grow = time.Duration((10 + 15*rng.Float64()) * float64(time.Minute))
	c.born = c.tc - time.Duration(travel/c.speed*float64(time.Hour)) - c.grow
	if c.born < 0 {
		c.tc -= c.born
		c.born = 0
	}
	c.decay = time.Duration((15 + 15*rng.Float64()) * float64(time.Minute))
	// It lives until it is 30 to 60 km past the site.
	c.died = c.tc + time.Duration((30+30*rng.Float64())/c.speed*float64(time.Hour)) + c.decay
	c.peak = 2 + 10*rng.Float64()
	return c
}

// perp returns the point at distance d from the site, to one side of a
// track with the heading.
func perp(heading, d float64, rng *rand.Rand) (float64, float64) {
	side := sign(rng)
	return -math.Cos(heading) * d * side, math.Sin(heading) * d * side
}

func sign(rng *rand.Rand) float64 {
	if rng.IntN(2) == 0 {
		return -1
	}
	return 1
}

// core returns the position and heading of c's core at d after the start.
func (c cellPlan) core(d time.Duration) (x, y, heading float64) {
	h := (d - c.tc).Hours()
	heading = c.heading
	if c.turn != 0 && d > c.turnAt {
		// Straight to the turn, then on the new heading.
		ht := (c.turnAt - c.tc).Hours()
		x0, y0 := c.cx+math.Sin(c.heading)*c.speed*ht, c.cy+math.Cos(c.heading)*c.speed*ht
		heading = c.heading + c.turn
		ha := (d - c.turnAt).Hours()
		return x0 + math.Sin(heading)*c.speed*ha, y0 + math.Cos(heading)*c.speed*ha, heading
	}
	return c.cx + math.Sin(heading)*c.speed*h, c.cy + math.Cos(heading)*c.speed*h, heading
}

// rate is c's flash rate, a minute, at d after the start.
func (c cellPlan) rate(d time.Duration) float64 {
	switch {
	case d < c.born || d >= c.died:
		return 0
	case d < c.born+c.grow:
		return c.peak * float64(d-c.born) / float64(c.grow)
	case d > c.died-c.decay:
		return c.peak * float64(c.died-d) / float64(c.decay)
	}
	return c.peak
}

// makeCell adds c's true strikes and returns its truth.
func (s *Storm) makeCell(rng *rand.Rand, id int, c cellPlan) Cell {
	p := s.Params
	closest := math.Inf(1)
	for d := c.born; d < c.died; d += 10 * time.Second {
		x, y, _ := c.core(d)
		closest = min(closest, math.Hypot(x, y))
	}
	// Strikes come as a Poisson process thinned to the rate.
	for d := c.born; d < c.died; {
		d += time.Duration(rng.ExpFloat64() / c.peak * float64(time.Minute))
		if d >= c.died || rng.Float64()*c.peak > c.rate(d) {
			continue
		}
		x, y, hd := c.core(d)
		ux, uy := math.Sin(hd), math.Cos(hd)
		var along, across float64
		if rng.Float64() < 0.15 {
			// Well ahead of the core, under the anvil.
			along, across = 5+7*rng.Float64(), 3*rng.NormFloat64()
		} else {
			along, across = 1.5+3*rng.NormFloat64(), 3*rng.NormFloat64()
		}
		x += ux*along + uy*across
		y += uy*along - ux*across
		t := p.Start.Add(d).Truncate(time.Millisecond)
		s.Truth = append(s.Truth, Strike{Time: t, At: t, X: x, Y: y, Cell: id})
	}
	return Cell{
		SpeedKMH: c.speed, HeadingDeg: math.Mod(c.heading*180/math.Pi+360, 360), ClosestKM: closest,
		Born: p.Start.Add(c.born), Died: p.Start.Add(c.died),
	}
}

// detect makes what the network delivers of the truth.
func (s *Storm) detect(rng *rand.Rand) {
	sigma := s.MedianErrorKM / math.Sqrt(2*math.Ln2) // Rayleigh: median = σ√(2 ln 2)
	place := func(t Strike, err float64) Strike {
		t.X += rng.NormFloat64() * err
		t.Y += rng.NormFloat64() * err
		t.At = t.Time.Add(time.Duration((2 + 2*rng.Float64()) * float64(time.Second)))
		return t
	}
	for _, t := range s.Truth {
		if rng.Float64() >= s.DetectionEfficiency {
			continue
		}
		d := place(t, sigma)
		if rng.Float64() < 0.01 {
			// An outlier: placed 15 to 60 km from where it was.
			r, a := 15+45*rng.Float64(), 2*math.Pi*rng.Float64()
			d.X, d.Y = t.X+r*math.Sin(a), t.Y+r*math.Cos(a)
		}
		s.keep(d)
		if rng.Float64() < 0.03 {
			// A duplicate: the same strike again, placed again.
			s.keep(place(t, sigma))
		}
	}
	slices.SortStableFunc(s.Detected, func(a, b Strike) int { return a.At.Compare(b.At) })
}

func (s *Storm) keep(d Strike) {
	if d.Dist() < s.Params.FeedRadiusKM {
		s.Detected = append(s.Detected, d)
	}
}

func latestTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
