package track

import (
	"math"
	"time"
)

// Prediction says whether and when a cell's lightning comes inside a radius.
type Prediction struct {
	Fit
	// Arrival is the first moment lightning may be inside the radius, with
	// the reach and Sigmas standard errors allowed for; zero when the cell
	// cannot predict or the moment is beyond the Horizon. It is At (or
	// earlier than now) when lightning may already be inside.
	Arrival time.Time
	// ClosestKM is the closest the fitted centre comes within the Horizon.
	ClosestKM float64
}

// predictStep is the time step of the search for the arrival.
const predictStep = 30 * time.Second

// Predict returns when c's lightning may come inside radiusKM of the site.
// The answer is kept until the cell takes another strike.
func (t *Tracker) Predict(c *Cell, radiusKM float64) Prediction {
	if c.predFresh && c.predRadius == radiusKM {
		return c.pred
	}
	p := t.predict(c, radiusKM)
	c.pred, c.predRadius, c.predFresh = p, radiusKM, true
	return p
}

func (t *Tracker) predict(c *Cell, radiusKM float64) Prediction {
	p := t.predictFit(c.Fit(&t.cfg), radiusKM)
	if t.cfg.TurnWindow <= 0 || !p.OK {
		return p
	}
	// A cell that turned is seen first in its most recent strikes: the
	// short fit's arrival counts when it is the earlier one.
	q := t.predictFit(c.fitOver(&t.cfg, t.cfg.TurnWindow), radiusKM)
	if q.OK && !q.Arrival.IsZero() && (p.Arrival.IsZero() || q.Arrival.Before(p.Arrival)) {
		return q
	}
	return p
}

func (t *Tracker) predictFit(f Fit, radiusKM float64) Prediction {
	p := Prediction{Fit: f, ClosestKM: f.Pos.Dist()}
	if !f.OK {
		return p
	}
	// Closest approach of the centre, within the horizon.
	h := t.cfg.Horizon.Hours()
	v2 := f.VX*f.VX + f.VY*f.VY
	tc := 0.0
	if v2 > 0 {
		tc = clamp(-(f.Pos.X*f.VX+f.Pos.Y*f.VY)/v2, 0, h)
	}
	p.ClosestKM = math.Hypot(f.Pos.X+f.VX*tc, f.Pos.Y+f.VY*tc)
	_, errEnd := f.PosAt(f.At.Add(t.cfg.Horizon))
	if p.ClosestKM-f.ReachKM-t.cfg.Sigmas*errEnd >= radiusKM {
		return p // cannot come inside, even at its most uncertain
	}
	for d := time.Duration(0); d <= t.cfg.Horizon; d += predictStep {
		at := f.At.Add(d)
		pos, err := f.PosAt(at)
		if pos.Dist()-f.ReachKM-t.cfg.Sigmas*err < radiusKM {
			p.Arrival = at
			break
		}
	}
	return p
}
