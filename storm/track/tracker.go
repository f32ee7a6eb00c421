package track

import (
	"math"
	"slices"
	"time"
)

// gridKey names a square of the grid the tracker files cells under, so
// finding a strike's cell looks at a few squares, not at every cell.
type gridKey struct{ x, y int32 }

// Tracker follows the cells of the strikes it is given. It is not safe for
// concurrent use.
type Tracker struct {
	cfg    Config
	cells  []*Cell
	grid   map[gridKey][]*Cell
	free   []*Cell
	nextID int
	size   float64 // grid square side, km
	nbins  int
}

// New returns an empty Tracker; cfg must pass Validate.
func New(cfg Config) *Tracker {
	return &Tracker{
		cfg:   cfg,
		grid:  map[gridKey][]*Cell{},
		size:  2 * cfg.JoinKM,
		nbins: int(cfg.Window/time.Minute) + 2,
	}
}

// Config returns the tracker's settings.
func (t *Tracker) Config() Config { return t.cfg }

// Cells returns the cells being followed, in no particular order. The
// slice and the cells are the tracker's: read them, keep none.
func (t *Tracker) Cells() []*Cell { return t.cells }

func (t *Tracker) keyOf(p Point) gridKey {
	return gridKey{int32(math.Floor(p.X / t.size)), int32(math.Floor(p.Y / t.size))}
}

// Add files a strike at p, time at, under the nearest cell whose expected
// position is within JoinKM, or under a new cell, and returns that cell. A
// cell with MinStrikes in its window is preferred to a smaller one, so a
// few scattered strikes do not split a storm in two.
func (t *Tracker) Add(at time.Time, p Point) *Cell {
	var best *Cell
	bestD, bestBig := t.cfg.JoinKM, false
	t.Near(at, p, t.cfg.JoinKM, nil, func(c *Cell, d float64) bool {
		big := c.Fit(&t.cfg).N >= t.cfg.MinStrikes
		if (big && !bestBig) || (big == bestBig && d < bestD) {
			best, bestD, bestBig = c, d, big
		}
		return true
	})
	if best == nil {
		best = t.newCell(at)
	}
	best.add(at, p)
	t.mergeNear(best)
	t.refile(best, best.expected(best.Last, &t.cfg))
	return best
}

// mergeNear folds into c another cell whose expected position is within
// half of JoinKM of c's: two cells that close are one storm that a few
// scattered first strikes split. One merge per strike is enough.
func (t *Tracker) mergeNear(c *Cell) {
	var o *Cell
	t.Near(c.Last, c.expected(c.Last, &t.cfg), t.cfg.JoinKM/2, c, func(n *Cell, _ float64) bool {
		o = n
		return false
	})
	if o != nil {
		c.merge(o)
		t.remove(slices.Index(t.cells, o))
	}
}

func (t *Tracker) newCell(at time.Time) *Cell {
	if len(t.cells) >= t.cfg.MaxCells {
		oldest := 0
		for i, c := range t.cells {
			if c.Last.Before(t.cells[oldest].Last) {
				oldest = i
			}
		}
		t.remove(oldest)
	}
	var c *Cell
	if n := len(t.free); n > 0 {
		c, t.free = t.free[n-1], t.free[:n-1]
	} else {
		c = new(Cell)
	}
	t.nextID++
	c.reset(t.nextID, at, t.nbins)
	c.key = gridKey{math.MaxInt32, math.MaxInt32}
	t.cells = append(t.cells, c)
	return c
}

// refile moves c to the grid square of p when it changed.
func (t *Tracker) refile(c *Cell, p Point) {
	k := t.keyOf(p)
	if k == c.key {
		return
	}
	t.unfile(c)
	c.key = k
	t.grid[k] = append(t.grid[k], c)
}

func (t *Tracker) unfile(c *Cell) {
	s := t.grid[c.key]
	if i := slices.Index(s, c); i >= 0 {
		s[i] = s[len(s)-1]
		s[len(s)-1] = nil
		s = s[:len(s)-1]
		if len(s) == 0 {
			delete(t.grid, c.key)
		} else {
			t.grid[c.key] = s
		}
	}
}

func (t *Tracker) remove(i int) {
	c := t.cells[i]
	t.unfile(c)
	last := len(t.cells) - 1
	t.cells[i] = t.cells[last]
	t.cells[last] = nil
	t.cells = t.cells[:last]
	t.free = append(t.free, c)
}

// Expire drops the cells with no strike for Forget before now.
func (t *Tracker) Expire(now time.Time) {
	for i := 0; i < len(t.cells); {
		if now.Sub(t.cells[i].Last) > t.cfg.Forget {
			t.remove(i)
			continue
		}
		i++
	}
}

// Reset forgets every cell.
func (t *Tracker) Reset() {
	for len(t.cells) > 0 {
		t.remove(len(t.cells) - 1)
	}
}

// Near calls fn for every cell, other than skip, whose expected position at
// at is within km of p (km at most twice JoinKM, the reach of the grid's
// nine squares), until fn returns false.
func (t *Tracker) Near(at time.Time, p Point, km float64, skip *Cell, fn func(c *Cell, dist float64) bool) {
	k := t.keyOf(p)
	for dx := int32(-1); dx <= 1; dx++ {
		for dy := int32(-1); dy <= 1; dy++ {
			for _, c := range t.grid[gridKey{k.x + dx, k.y + dy}] {
				if c == skip || at.Sub(c.Last) > t.cfg.Forget {
					continue
				}
				e := c.expected(at, &t.cfg)
				if d := math.Hypot(e.X-p.X, e.Y-p.Y); d < km && !fn(c, d) {
					return
				}
			}
		}
	}
}
