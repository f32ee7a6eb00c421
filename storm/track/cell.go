package track

import (
	"math"
	"time"
)

// bin holds the sums of one minute's strikes, times in seconds after the
// cell's origin, positions in km.
type bin struct {
	minute                  int64
	n, st, sx, sy           float64
	stt, stx, sty, sxx, syy float64
}

// Cell is one thunderstorm cell as the tracker follows it.
type Cell struct {
	ID int
	// First and Last are the times of its first and newest strikes.
	First, Last time.Time
	// Strikes counts every strike it took.
	Strikes int
	// prev is the newest strike more than copyGap before Last, zero if none.
	prev time.Time

	origin time.Time
	bins   []bin // a ring, indexed by minute
	key    gridKey
	fit    Fit
	dirty  bool
	// pred caches the last prediction for predRadius until a strike comes.
	pred       Prediction
	predRadius float64
	predFresh  bool
}

// Fit is a cell's fitted motion at the time of its newest strike.
type Fit struct {
	// OK is true when the cell has enough strikes over enough time, and a
	// speed known well enough, to predict.
	OK bool
	// At is the time of the newest strike; Pos the fitted centre then.
	At  time.Time
	Pos Point
	// VX and VY are the velocity in km/h east and north.
	VX, VY float64
	// SpeedErrKMH is the standard error of each velocity component.
	SpeedErrKMH float64
	// PosErrKM is the standard error of the centre at At, per axis.
	PosErrKM float64
	// ReachKM is how far from the centre its lightning is expected.
	ReachKM float64
	// N is the number of strikes fitted, Span the time they cover.
	N    int
	Span time.Duration
}

// Speed is the speed in km/h.
func (f Fit) Speed() float64 { return math.Hypot(f.VX, f.VY) }

// Heading is the direction of motion, degrees clockwise from north.
func (f Fit) Heading() float64 { return Point{f.VX, f.VY}.Bearing() }

// PosAt returns the fitted centre at t and its standard error per axis.
func (f Fit) PosAt(t time.Time) (Point, float64) {
	h := t.Sub(f.At).Hours()
	p := Point{f.Pos.X + f.VX*h, f.Pos.Y + f.VY*h}
	return p, math.Sqrt(f.PosErrKM*f.PosErrKM + f.SpeedErrKMH*f.SpeedErrKMH*h*h)
}

// copyGap is how close in time two strikes of a cell may be and still be
// one strike reported twice.
const copyGap = 5 * time.Second

// Lone reports whether the cell's newest strike (or copies of it) had no
// other strike of the cell within the window before it: typical of a
// strike placed far from where it was.
func (c *Cell) Lone(window time.Duration) bool {
	return c.prev.IsZero() || c.Last.Sub(c.prev) > window
}

func (c *Cell) reset(id int, t time.Time, nbins int) {
	bins := c.bins
	if cap(bins) < nbins {
		bins = make([]bin, nbins)
	}
	bins = bins[:nbins]
	clear(bins)
	*c = Cell{ID: id, First: t, Last: t, origin: t, bins: bins, dirty: true}
}

// add records a strike at p, time t.
func (c *Cell) add(t time.Time, p Point) {
	m := t.Unix() / 60
	b := &c.bins[int(m%int64(len(c.bins)))]
	if b.minute != m {
		if b.n > 0 && b.minute > m {
			// Older than the ring holds: too old to matter for the motion.
			c.Strikes++
			return
		}
		*b = bin{minute: m}
	}
	s := t.Sub(c.origin).Seconds()
	b.n++
	b.st += s
	b.sx += p.X
	b.sy += p.Y
	b.stt += s * s
	b.stx += s * p.X
	b.sty += s * p.Y
	b.sxx += p.X * p.X
	b.syy += p.Y * p.Y
	c.Strikes++
	c.predFresh = false
	switch {
	case t.Sub(c.Last) >= copyGap:
		c.prev, c.Last = c.Last, t
	case t.After(c.Last):
		c.Last = t
	case c.Last.Sub(t) >= copyGap && t.After(c.prev):
		c.prev = t
	}
	if t.Before(c.First) {
		c.First = t
	}
	c.dirty = true
}

// merge adds o's strikes to c.
func (c *Cell) merge(o *Cell) {
	d := o.origin.Sub(c.origin).Seconds()
	for i := range o.bins {
		b := o.bins[i]
		if b.n == 0 {
			continue
		}
		// Times relative to c's origin.
		b.stt += 2*d*b.st + b.n*d*d
		b.stx += d * b.sx
		b.sty += d * b.sy
		b.st += b.n * d
		a := &c.bins[int(b.minute%int64(len(c.bins)))]
		switch {
		case a.n == 0 || a.minute < b.minute:
			*a = b
		case a.minute == b.minute:
			a.n += b.n
			a.st += b.st
			a.sx += b.sx
			a.sy += b.sy
			a.stt += b.stt
			a.stx += b.stx
			a.sty += b.sty
			a.sxx += b.sxx
			a.syy += b.syy
		}
	}
	c.Strikes += o.Strikes
	c.predFresh = false
	c.First = earliest(c.First, o.First)
	older, newer := c.Last, o.Last
	if newer.Before(older) {
		older, newer = newer, older
	}
	for _, t := range []time.Time{c.prev, o.prev, older} {
		if newer.Sub(t) >= copyGap && t.After(c.prev) {
			c.prev = t
		}
	}
	c.Last = newer
	c.dirty = true
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// expected is where a strike at t would most likely fall: the fitted
// track when there is one, else the centre of the recent strikes.
func (c *Cell) expected(t time.Time, cfg *Config) Point {
	f := c.Fit(cfg)
	if f.OK {
		p, _ := f.PosAt(t)
		return p
	}
	return f.Pos
}

// Fit returns the cell's motion, fitting it again if a strike came since.
func (c *Cell) Fit(cfg *Config) Fit {
	if !c.dirty {
		return c.fit
	}
	c.dirty = false
	c.fit = c.fitOver(cfg, cfg.Window)
	return c.fit
}

// fitOver fits the cell's motion over the window before its newest strike.
func (c *Cell) fitOver(cfg *Config, window time.Duration) Fit {
	from := c.Last.Add(-window).Unix() / 60
	var s bin
	var lo, hi int64 = math.MaxInt64, math.MinInt64
	for i := range c.bins {
		b := &c.bins[i]
		if b.n == 0 || b.minute < from {
			continue
		}
		lo, hi = min(lo, b.minute), max(hi, b.minute)
		s.n += b.n
		s.st += b.st
		s.sx += b.sx
		s.sy += b.sy
		s.stt += b.stt
		s.stx += b.stx
		s.sty += b.sty
		s.sxx += b.sxx
		s.syy += b.syy
	}
	f := Fit{At: c.Last, N: int(s.n)}
	if s.n == 0 {
		return f
	}
	f.Span = time.Duration(hi-lo) * time.Minute
	n := s.n
	mt, mx, my := s.st/n, s.sx/n, s.sy/n
	ctt := s.stt - n*mt*mt
	ctx := s.stx - n*mt*mx
	cty := s.sty - n*mt*my
	cxx := s.sxx - n*mx*mx
	cyy := s.syy - n*my*my
	f.Pos = Point{mx, my}
	if n < float64(cfg.MinStrikes) || f.Span < cfg.MinSpan || !(ctt > 0) {
		// Too little to fit: the centre and spread of what there is.
		f.ReachKM = clamp(cfg.ReachSigmas*math.Sqrt(max(cxx+cyy, 0)/(2*n)), cfg.MinReachKM, cfg.MaxReachKM)
		return f
	}
	vx, vy := ctx/ctt, cty/ctt // km per second
	rss := max(cxx-vx*ctx+cyy-vy*cty, 0)
	sigma2 := rss / (2*n - 4)
	sigma := math.Sqrt(sigma2)
	last := c.Last.Sub(c.origin).Seconds()
	f.VX, f.VY = vx*3600, vy*3600
	f.Pos = Point{mx + vx*(last-mt), my + vy*(last-mt)}
	f.SpeedErrKMH = math.Sqrt(sigma2/ctt) * 3600
	// The centre at the newest strike: the mean's error plus the slope's
	// carried over from the mean time.
	f.PosErrKM = math.Sqrt(sigma2/n + sigma2/ctt*(last-mt)*(last-mt))
	f.ReachKM = clamp(cfg.ReachSigmas*sigma, cfg.MinReachKM, cfg.MaxReachKM)
	f.OK = f.SpeedErrKMH <= cfg.MaxSpeedErrKMH
	return f
}

func clamp(v, lo, hi float64) float64 { return min(max(v, lo), hi) }

// CountSince is how many of the cell's strikes fell in the minutes from
// t's on (whole minutes: the cell keeps no finer record).
func (c *Cell) CountSince(t time.Time) int {
	from := t.Unix() / 60
	n := 0.0
	for i := range c.bins {
		if b := &c.bins[i]; b.n > 0 && b.minute >= from {
			n += b.n
		}
	}
	return int(n)
}
