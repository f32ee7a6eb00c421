// Package season makes weeks of weather with the truth known: fair days,
// storms passing far and near, storms dying out near the site, several in a
// day, a strike feed going down and coming back, stormguard restarted in the
// middle of a storm, a countdown cancelled by a person. Players feed it to
// the pure storm engine or, compressed, to the stormguard binary over a
// real broker, record what came out, and Check holds that against the
// truth: every storm that comes inside the shutdown radius gets exactly one
// countdown (unless cancelled), none that stays outside does, every storm
// ends in an all clear, and stormguard is blind only while the feed is down.
package season

import (
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// Params shape a season. Zero fields take the lightning-safety defaults.
type Params struct {
	Seed  uint64
	Days  int
	Start time.Time
	// ShutdownKM, WatchKM and AllClear are the rules the season is judged
	// by: they decide which storms come inside and where one storm ends.
	ShutdownKM, WatchKM float64
	AllClear            time.Duration
}

func (p Params) withDefaults() Params {
	if p.Days == 0 {
		p.Days = 14
	}
	if p.Start.IsZero() {
		p.Start = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	}
	if p.ShutdownKM == 0 {
		p.ShutdownKM = 16
	}
	if p.WatchKM == 0 {
		p.WatchKM = 40
	}
	if p.AllClear == 0 {
		p.AllClear = 30 * time.Minute
	}
	return p
}

// Kind is what happens at one moment of the season.
type Kind int

const (
	// Strike is a strike the feed carries (it is near the site).
	Strike Kind = iota
	// FeedDown and FeedUp bound an outage of the strike feed.
	FeedDown
	FeedUp
	// Restart stops stormguard and starts it again after Season.Downtime.
	Restart
)

// Event is one moment of the season.
type Event struct {
	At   time.Time
	Kind Kind
	// For a Strike: where, from the site, and which storm it belongs to.
	DistanceKM, BearingDeg float64
	Storm                  int
}

// Storm is one thunderstorm cell, as the generator made it.
type Storm struct {
	ID int
	// Type is "far", "pass", "graze" or "dies nearby".
	Type       string
	Start, End time.Time
	ClosestKM  float64
	// Cancel asks the player to cancel this storm's first countdown, a
	// minute after it sees it.
	Cancel bool
	// Role says what else the generator did during this storm, for the table.
	Role string
}

// Season is the generated weather, in time order.
type Season struct {
	Params   Params
	End      time.Time
	Events   []Event
	Storms   []Storm
	Downtime time.Duration
}

// Generate makes a season from p; the same p always gives the same season.
func Generate(p Params) Season {
	p = p.withDefaults()
	rng := rand.New(rand.NewPCG(p.Seed, p.Seed^0x5eed5eed))
	s := Season{Params: p, End: p.Start.Add(time.Duration(p.Days) * 24 * time.Hour), Downtime: 20 * time.Second}
	perDay := make([]int, p.Days)
	for d := range perDay {
		switch r := rng.Float64(); {
		case r < 0.30:
		case r < 0.65:
			perDay[d] = 1
		case r < 0.88:
			perDay[d] = 2
		default:
			perDay[d] = 3
		}
	}
	// Every week has at least two fair days, the last ones if chance gave none.
	for w := 0; w < p.Days; w += 7 {
		week := perDay[w:min(w+7, p.Days)]
		for d := len(week) - 1; d >= 0 && count(week, 0) < 2; d-- {
			week[d] = 0
		}
	}
	for d, n := range perDay {
		day := p.Start.Add(time.Duration(d) * 24 * time.Hour)
		part := 24 * time.Hour / time.Duration(max(n, 1))
		for i := range n {
			// Each storm lasts at most 3 hours and starts early in its part
			// of the day, so storms stay hours apart.
			start := day.Add(time.Duration(i)*part + time.Duration(rng.Float64()*float64(part-4*time.Hour)))
			s.Storms = append(s.Storms, Storm{ID: len(s.Storms), Start: start, Type: pickType(rng)})
		}
	}
	// Every kind of storm is in the season: take one from a kind there is
	// more than one of.
	for _, want := range []string{"far", "pass", "dies nearby"} {
		n := map[string]int{}
		for _, st := range s.Storms {
			n[st.Type]++
		}
		if n[want] > 0 {
			continue
		}
		for i := range s.Storms {
			if n[s.Storms[i].Type] > 1 {
				s.Storms[i].Type = want
				break
			}
		}
	}
	// Enough storms come inside for every role: convert far ones if not.
	const roles = 4
	for i := 0; countInside(s.Storms) < roles && i < len(s.Storms); i++ {
		if s.Storms[i].Type == "far" {
			s.Storms[i].Type = "pass"
		}
	}
	var strikes [][]Event
	for i := range s.Storms {
		strikes = append(strikes, s.makeStorm(rng, &s.Storms[i]))
	}
	for _, st := range strikes {
		s.Events = append(s.Events, st...)
	}
	s.addRoles(strikes)
	slices.SortStableFunc(s.Events, func(a, b Event) int { return a.At.Compare(b.At) })
	return s
}

func count(s []int, v int) int {
	n := 0
	for _, x := range s {
		if x == v {
			n++
		}
	}
	return n
}

func pickType(rng *rand.Rand) string {
	switch r := rng.Float64(); {
	case r < 0.35:
		return "far"
	case r < 0.70:
		return "pass"
	case r < 0.85:
		return "dies nearby"
	}
	return "graze"
}

func countInside(storms []Storm) int {
	n := 0
	for _, s := range storms {
		if s.Type == "pass" || s.Type == "dies nearby" {
			n++
		}
	}
	return n
}

// makeStorm moves a cell in a straight line past the site and makes its
// strikes: one every 40 s on average, scattered 2.5 km about the cell. A
// pass comes within 0 to 10 km, a graze 13 to 19 km, a far storm 22 to
// 60 km; a storm that dies nearby stops at 5 to 12 km while still coming
// closer. Only strikes inside the watch radius are kept (the feed carries
// no others), and none is left within 0.3 km of a radius, so a distance
// computed again from latitude and longitude lands on the same side.
func (s *Season) makeStorm(rng *rand.Rand, st *Storm) []Event {
	p := s.Params
	for attempt := 0; ; attempt++ {
		dur := time.Duration((1 + 2*rng.Float64()) * float64(time.Hour))
		st.End = st.Start.Add(dur)
		speed := 20 + 40*rng.Float64() // km/h
		heading := rng.Float64() * 2 * math.Pi
		ux, uy := math.Sin(heading), math.Cos(heading)
		side := 1.0
		if rng.IntN(2) == 0 {
			side = -1
		}
		switch st.Type {
		case "pass":
			st.ClosestKM = 10 * rng.Float64()
		case "graze":
			st.ClosestKM = 13 + 6*rng.Float64()
		case "dies nearby":
			st.ClosestKM = 5 + 7*rng.Float64()
		default:
			st.ClosestKM = 22 + 38*rng.Float64()
		}
		// The cell is closest at tc: half way for a pass, the end for one
		// that dies nearby (it dies at ClosestKM, still approaching).
		tc := st.Start.Add(dur / 2)
		if st.Type == "dies nearby" {
			tc = st.End
		}
		cx, cy := -uy*st.ClosestKM*side, ux*st.ClosestKM*side
		var out []Event
		for t := st.Start; t.Before(st.End); {
			h := t.Sub(tc).Hours()
			x := cx + ux*speed*h + rng.NormFloat64()*2.5
			y := cy + uy*speed*h + rng.NormFloat64()*2.5
			d := math.Hypot(x, y)
			for _, r := range []float64{p.ShutdownKM, p.WatchKM} {
				if math.Abs(d-r) < 0.3 {
					k := (r + math.Copysign(0.3, d-r)) / d
					x, y, d = x*k, y*k, r+math.Copysign(0.3, d-r)
				}
			}
			if d < p.WatchKM {
				b := math.Mod(math.Atan2(x, y)*180/math.Pi+360, 360)
				out = append(out, Event{At: t, Kind: Strike, DistanceKM: d, BearingDeg: b, Storm: st.ID})
			}
			gap := time.Duration(rng.ExpFloat64() * float64(40*time.Second))
			t = t.Add(min(max(gap, time.Second), 3*time.Minute)).Truncate(time.Millisecond)
		}
		// Inside strikes of one storm stay well under the all clear apart,
		// or well over it, so a compressed run with a little jitter cannot
		// split or join storms differently from the truth.
		if splitSafe(out, p) || attempt == 20 {
			return out
		}
	}
}

func splitSafe(strikes []Event, p Params) bool {
	var last time.Time
	for _, e := range strikes {
		if !(e.DistanceKM < p.ShutdownKM) {
			continue
		}
		if !last.IsZero() {
			g := e.At.Sub(last)
			if g > p.AllClear/2 && g < p.AllClear*3/2 {
				return false
			}
		}
		last = e.At
	}
	return true
}

// addRoles puts the outages, restarts and the cancel into the season: a two
// hour feed outage in fair weather each week, an eight minute one in the
// middle of a storm, a restart during a countdown (two minutes after a
// storm's first strike inside) and one in the shutdown phase (twenty
// minutes after), and a cancel.
func (s *Season) addRoles(strikes [][]Event) {
	p := s.Params
	firstInside := func(id int) (time.Time, bool) {
		for _, e := range strikes[id] {
			if e.DistanceKM < p.ShutdownKM {
				return e.At, true
			}
		}
		return time.Time{}, false
	}
	roles := []string{"cancel", "feed down mid-storm", "restart in countdown", "restart in shutdown"}
	used := map[int]bool{}
	weeks := max(1, p.Days/7)
	for w := range weeks {
		from := p.Start.Add(time.Duration(w) * 7 * 24 * time.Hour)
		to := from.Add(7 * 24 * time.Hour)
		if w == weeks-1 {
			to = s.End
		}
		for _, role := range roles {
			for i := range s.Storms {
				st := &s.Storms[i]
				fi, ok := firstInside(i)
				if used[i] || !ok || st.Start.Before(from) || !st.Start.Before(to) {
					continue
				}
				used[i] = true
				st.Role = role
				switch role {
				case "cancel":
					st.Cancel = true
				case "feed down mid-storm":
					at := fi.Add(10 * time.Minute)
					s.Events = append(s.Events, Event{At: at, Kind: FeedDown}, Event{At: at.Add(8 * time.Minute), Kind: FeedUp})
				case "restart in countdown":
					s.Events = append(s.Events, Event{At: fi.Add(2 * time.Minute), Kind: Restart})
				case "restart in shutdown":
					s.Events = append(s.Events, Event{At: fi.Add(20 * time.Minute), Kind: Restart})
				}
				break
			}
		}
		// The fair-weather outage: the longest gap between storms this week.
		var best, bestEnd time.Time
		prevEnd := from
		for _, st := range s.Storms {
			if st.Start.Before(from) || !st.Start.Before(to) {
				continue
			}
			if st.Start.Sub(prevEnd) > bestEnd.Sub(best) {
				best, bestEnd = prevEnd, st.Start
			}
			prevEnd = st.End
		}
		if to.Sub(prevEnd) > bestEnd.Sub(best) {
			best, bestEnd = prevEnd, to
		}
		if bestEnd.Sub(best) > 5*time.Hour {
			mid := best.Add(bestEnd.Sub(best) / 2)
			s.Events = append(s.Events, Event{At: mid.Add(-time.Hour), Kind: FeedDown}, Event{At: mid.Add(time.Hour), Kind: FeedUp})
		}
	}
}

// Compress returns the season with every stretch longer than gap between
// two events cut down to gap, storms' times moved with their strikes. A
// compressed season has the same storms, outages and restarts in the same
// order, with less fair weather between them.
func (s Season) Compress(gap time.Duration) Season {
	c := s
	c.Events = make([]Event, len(s.Events))
	c.Storms = slices.Clone(s.Storms)
	var cut time.Duration
	prev := s.Params.Start
	for i, e := range s.Events {
		if g := e.At.Sub(prev); g > gap {
			cut += g - gap
		}
		prev = e.At
		e.At = e.At.Add(-cut)
		c.Events[i] = e
	}
	c.End = prev.Add(-cut).Add(gap)
	// A storm's times move with its first strike (or stay, with none).
	for i := range c.Storms {
		for j, e := range s.Events {
			if e.Kind == Strike && e.Storm == i {
				shift := s.Events[j].At.Sub(c.Events[j].At)
				c.Storms[i].Start = c.Storms[i].Start.Add(-shift)
				c.Storms[i].End = c.Storms[i].End.Add(-shift)
				break
			}
		}
	}
	return c
}
