package season

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Span is a stretch of time.
type Span struct{ From, To time.Time }

// Mark is one thing stormguard did, when the player saw it.
type Mark struct {
	At      time.Time
	StormID string
}

// Record is what a player did and saw, all on the player's clock (the
// season's for the engine, the wall clock for the binary).
type Record struct {
	// Delivered are the strikes handed to stormguard, at the times they
	// were; none while the feed was down or stormguard restarting.
	Delivered []Event
	Outages   []Span
	Restarts  []Span
	// Cancelled are the generator's storms whose countdown the player cancelled.
	Cancelled  map[int]bool
	Countdowns []Mark
	Cancels    []Mark
	AllClears  []Mark
	Blind      []Span
	Start, End time.Time
	FinalPhase string
	// AllClear is the all clear on the player's clock; Tolerance how late
	// (or, for the binary, early) a reaction may be seen.
	AllClear  time.Duration
	Tolerance time.Duration
	// Lead is how long before a storm's first strike inside a predicted
	// countdown may come and still be that storm's (zero: none may).
	Lead time.Duration
	// Calls counts the calls into the engine (the engine player only).
	Calls int
}

// episode is one storm as the safety rule sees it: strikes inside the
// shutdown radius, none more than the all clear apart.
type episode struct {
	first, last time.Time
	storms      map[int]bool
}

func (r Record) episodes(shutdownKM float64) []episode {
	var out []episode
	for _, e := range r.Delivered {
		if !(e.DistanceKM < shutdownKM) {
			continue
		}
		if n := len(out); n > 0 && e.At.Sub(out[n-1].last) < r.AllClear {
			out[n-1].last = e.At
			out[n-1].storms[e.Storm] = true
			continue
		}
		out = append(out, episode{first: e.At, last: e.At, storms: map[int]bool{e.Storm: true}})
	}
	return out
}

// Result is a season held against its truth.
type Result struct {
	Row      Row
	Problems []string
}

// Row is one line of the summary table.
type Row struct {
	Seed                                  uint64
	Days, Storms, Far, Inside, DiedNearby int
	Cancelled, Countdowns, AllClears      int
	Outages, Restarts                     int
	OutageTime, BlindTime                 time.Duration
	MaxCountdownDelay, MaxAllClearLate    time.Duration
	FinalPhase                            string
	// Early counts storms inside whose countdown came before their first
	// strike inside (a prediction); NearMiss countdowns for storms that
	// came within NearMissKM but never inside.
	Early, NearMiss int
}

// NearMissKM is the closest approach under which a storm that never came
// inside may have had a predicted countdown: the issue's "no countdown for
// storms that stay beyond 25 km".
const NearMissKM = 25

// Check holds rec against the season s was generated as.
func Check(s Season, rec Record) Result {
	p := s.Params
	eps := rec.episodes(p.ShutdownKM)
	var probs []string
	bad := func(f string, a ...any) { probs = append(probs, fmt.Sprintf(f, a...)) }
	tol := rec.Tolerance
	row := Row{Seed: p.Seed, Days: p.Days, Storms: len(s.Storms), Inside: len(eps),
		Outages: len(rec.Outages), Restarts: len(rec.Restarts), FinalPhase: rec.FinalPhase}
	inside := map[int]bool{}
	for _, e := range rec.Delivered {
		if e.DistanceKM < p.ShutdownKM {
			inside[e.Storm] = true
		}
	}
	for _, st := range s.Storms {
		switch {
		case !inside[st.ID]:
			row.Far++
		case st.Type == "dies nearby":
			row.DiedNearby++
		}
	}
	used := make([]bool, len(rec.Countdowns))
	for k, ep := range eps {
		next := rec.End
		if k+1 < len(eps) {
			next = eps[k+1].first
		}
		cancelled := false
		for id := range ep.storms {
			cancelled = cancelled || rec.Cancelled[id]
		}
		var cds []Mark
		for i, c := range rec.Countdowns {
			if !used[i] && !c.At.Before(ep.first.Add(-tol-rec.Lead)) && !c.At.After(ep.last.Add(tol)) {
				cds = append(cds, c)
				used[i] = true
			}
		}
		name := fmt.Sprintf("storm inside %s to %s", clock(ep.first, rec.Start), clock(ep.last, rec.Start))
		switch {
		case len(cds) == 0:
			bad("%s: no countdown", name)
		case cancelled:
			row.Cancelled++
			if !slices.ContainsFunc(rec.Cancels, func(m Mark) bool { return !m.At.Before(cds[0].At) && m.At.Before(next) }) {
				bad("%s: cancelled, but no cancel was announced", name)
			}
		case len(cds) > 1:
			bad("%s: %d countdowns (%v), want one", name, len(cds), storms(cds))
		}
		if len(cds) > 0 {
			if k == 0 || row.MaxCountdownDelay < cds[0].At.Sub(ep.first) {
				row.MaxCountdownDelay = cds[0].At.Sub(ep.first)
			}
			if cds[0].At.Before(ep.first.Add(-tol)) {
				row.Early++
			}
		}
		i := slices.IndexFunc(rec.AllClears, func(m Mark) bool { return m.At.After(ep.last) && !m.At.After(next) })
		if i < 0 {
			bad("%s: no all clear before %s", name, clock(next, rec.Start))
			continue
		}
		ac := rec.AllClears[i]
		if early := ep.last.Add(rec.AllClear).Sub(ac.At); early > tol {
			bad("%s: all clear at %s, %v before the all clear was due", name, clock(ac.At, rec.Start), early)
		}
		row.MaxAllClearLate = max(row.MaxAllClearLate, ac.At.Sub(ep.last.Add(rec.AllClear)))
	}
	for i, c := range rec.Countdowns {
		if used[i] {
			continue
		}
		near := rec.Lead > 0 && slices.ContainsFunc(s.Storms, func(st Storm) bool {
			return st.ClosestKM < NearMissKM && !c.At.Before(st.Start) && !c.At.After(st.End)
		})
		if !near {
			bad("countdown %s at %s with no storm inside the radius", c.StormID, clock(c.At, rec.Start))
			continue
		}
		row.NearMiss++
	}
	row.Countdowns, row.AllClears = len(rec.Countdowns), len(rec.AllClears)
	// A near miss that was counted down ends in an all clear of its own,
	// unless a storm inside came before it was due.
	if n := len(rec.AllClears); n < len(eps) || n > len(eps)+row.NearMiss {
		bad("%d all clears for %d storms inside and %d near misses counted down", n, len(eps), row.NearMiss)
	}
	for _, o := range rec.Outages {
		row.OutageTime += o.To.Sub(o.From)
		if !slices.ContainsFunc(rec.Blind, func(b Span) bool { return near(b.From, o.From, tol) }) {
			bad("feed down at %s: stormguard never said it was blind", clock(o.From, rec.Start))
		}
	}
	// Stormguard restarting is an outage too: its feed may take longer to
	// connect than silent-after allows.
	down := append(slices.Clone(rec.Outages), rec.Restarts...)
	for _, b := range rec.Blind {
		row.BlindTime += b.To.Sub(b.From)
		if !slices.ContainsFunc(down, func(o Span) bool {
			return !b.From.Before(o.From.Add(-tol)) && !b.To.After(o.To.Add(tol))
		}) {
			bad("blind from %s to %s with the feed up", clock(b.From, rec.Start), clock(b.To, rec.Start))
		}
	}
	if rec.FinalPhase != "clear" {
		bad("the season ends in phase %s, want clear", rec.FinalPhase)
	}
	return Result{Row: row, Problems: probs}
}

func near(a, b time.Time, tol time.Duration) bool { return a.Sub(b).Abs() <= tol }

func storms(m []Mark) []string {
	var out []string
	for _, c := range m {
		out = append(out, c.StormID)
	}
	return out
}

// clock names a moment as day and time into the season: "d3 14:05".
func clock(t, start time.Time) string {
	d := t.Sub(start)
	day := int(d / (24 * time.Hour))
	rest := d - time.Duration(day)*24*time.Hour
	return fmt.Sprintf("d%d %02d:%02d:%02d", day, int(rest.Hours()), int(rest.Minutes())%60, int(rest.Seconds())%60)
}

// Table formats rows as a Markdown table.
func Table(rows []Row) string {
	var b strings.Builder
	b.WriteString("| seed | days | storms | stayed outside | came inside | died nearby | cancelled | countdowns | predicted early | near misses counted down | all clears | feed outages | outage time | blind time | restarts | slowest countdown | latest all clear | final phase |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %d | %d | %d | %d | %d | %d | %d | %d | %d | %d | %d | %d | %v | %v | %d | %v | +%v | %s |\n",
			r.Seed, r.Days, r.Storms, r.Far, r.Inside, r.DiedNearby, r.Cancelled, r.Countdowns, r.Early, r.NearMiss, r.AllClears,
			r.Outages, roundTo(r.OutageTime), roundTo(r.BlindTime), r.Restarts,
			r.MaxCountdownDelay.Round(time.Millisecond), r.MaxAllClearLate.Round(time.Millisecond), r.FinalPhase)
	}
	return b.String()
}

// roundTo rounds to the second, or to the millisecond under a minute (a
// compressed season's outages last seconds).
func roundTo(d time.Duration) time.Duration {
	if d < time.Minute {
		return d.Round(time.Millisecond)
	}
	return d.Round(time.Second)
}
