package sim

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/stormguard/stormguard/storm"
)

// Result is one storm played under one rule, judged against its truth.
type Result struct {
	Kind Kind
	Seed uint64
	// Inside is whether a true strike came inside the shutdown radius;
	// FirstInside is the first one. FromOutside: the storm's first true
	// strike was beyond the watch radius.
	Inside      bool
	FirstInside time.Time
	FromOutside bool
	// ClosestKM is the closest any core came.
	ClosestKM float64
	Outcome   Outcome
	// Lead is from the hosts being down (deadline plus shutdown time) to
	// the first true strike inside; negative when they were late.
	Lead time.Duration
	// Missed: lightning came inside and no countdown started before the
	// storm's last true strike inside.
	Missed bool
	// Close: the first countdown was started by a strike inside the close
	// radius, which no rule doubts (for a storm that never came inside,
	// a detection placed far from where it was).
	Close bool
}

// Judge plays s under cfg and holds the outcome against the truth.
func Judge(s Storm, cfg storm.Config, tick time.Duration) (Result, error) {
	o, err := Play(s, cfg, tick)
	if err != nil {
		return Result{}, err
	}
	r := Result{Kind: s.Params.Kind, Seed: s.Params.Seed, Outcome: o, ClosestKM: math.Inf(1)}
	closeKM := cfg.CloseRadiusKM
	if closeKM == 0 || closeKM > cfg.ShutdownRadiusKM {
		closeKM = cfg.ShutdownRadiusKM
	}
	r.Close = cfg.Predict && o.StrikeKM > 0 && o.StrikeKM < closeKM
	for _, c := range s.Cells {
		r.ClosestKM = min(r.ClosestKM, c.ClosestKM)
	}
	var lastInside time.Time
	for i, t := range s.Truth {
		if i == 0 {
			r.FromOutside = !(t.Dist() < cfg.WatchRadiusKM)
		}
		if t.Dist() < cfg.ShutdownRadiusKM {
			if !r.Inside {
				r.Inside, r.FirstInside = true, t.Time
			}
			lastInside = t.Time
		}
	}
	if r.Inside {
		r.Missed = o.Countdown.IsZero() || o.Countdown.After(lastInside)
		if !o.Countdown.IsZero() {
			r.Lead = r.FirstInside.Sub(o.Countdown.Add(cfg.Grace + cfg.ShutdownTime))
		}
	}
	return r, nil
}

// Rule is a named engine configuration to score.
type Rule struct {
	Name string
	Cfg  storm.Config
}

// Rules returns the reactive rule (a strike inside the radius, as before
// tracking) and the default rule, with the same grace and shutdown time.
func Rules() []Rule {
	reactive := storm.DefaultConfig()
	reactive.Predict = false
	reactive.CloseRadiusKM = 0
	return []Rule{{"reactive", reactive}, {"tracking", storm.DefaultConfig()}}
}

// Seeds returns the seeds 1..n, the ones the committed score uses with n = PerKind.
func Seeds(n int) []uint64 {
	s := make([]uint64, n)
	for i := range s {
		s[i] = uint64(i + 1)
	}
	return s
}

// PerKind is how many storms of each kind the committed score plays.
const PerKind = 50

// ScoreTick is how often the scored engine ticks.
const ScoreTick = 5 * time.Second

// Score plays every kind with every seed under each rule. The storms are
// made once and shared by the rules.
func Score(rules []Rule, seeds []uint64, tick time.Duration) ([][]Result, error) {
	var storms []Storm
	for _, k := range Kinds {
		for _, seed := range seeds {
			storms = append(storms, Generate(Params{Seed: seed, Kind: k}))
		}
	}
	out := make([][]Result, len(rules))
	for i, rule := range rules {
		for _, s := range storms {
			r, err := Judge(s, rule.Cfg, tick)
			if err != nil {
				return nil, fmt.Errorf("%s, %s seed %d: %w", rule.Name, s.Params.Kind, s.Params.Seed, err)
			}
			out[i] = append(out[i], r)
		}
	}
	return out, nil
}

// Summary is one rule's score.
type Summary struct {
	// Approaching: storms that came inside, not born overhead.
	Approaching, DownBefore, Missed int
	MedianLead, P10Lead             time.Duration
	// FromOutside: those whose first lightning was beyond the watch
	// radius; FromOutsideOK of them had the hosts down in time.
	FromOutside, FromOutsideOK int
	// ByKind counts, per kind, the storms that came inside and those
	// whose hosts were down in time.
	ByKind map[Kind][2]int
	// Overhead storms, apart.
	Overhead, OverheadMissed int
	OverheadMedianLead       time.Duration
	// Outside: storms that never came inside, by kind and the closest
	// their core came (a Buckets index).
	Outside map[OutKey]Counts
}

// OutKey groups the storms that never came inside.
type OutKey struct {
	Kind   Kind
	Bucket int
}

// Counts are storms, those with a countdown, those whose first countdown
// a cell's predicted arrival started, and those whose first countdown a
// strike inside the close radius started.
type Counts struct{ Storms, Counted, Predicted, Close int }

// add counts one storm that never came inside.
func (c Counts) add(r Result) Counts {
	c.Storms++
	if r.Outcome.Countdowns > 0 {
		c.Counted++
		if r.Outcome.Predicted {
			c.Predicted++
		}
		if r.Close {
			c.Close++
		}
	}
	return c
}

// Buckets are the closest approaches false countdowns are counted by;
// each is [lower, next lower) km.
var Buckets = [...]float64{0, 16, 22, 25, 35}

func bucket(km float64) int {
	i := 0
	for i+1 < len(Buckets) && km >= Buckets[i+1] {
		i++
	}
	return i
}

// Summarize adds up one rule's results.
func Summarize(rs []Result) Summary {
	s := Summary{Outside: map[OutKey]Counts{}, ByKind: map[Kind][2]int{}}
	var leads, over []time.Duration
	for _, r := range rs {
		switch {
		case r.Inside && r.Kind == Overhead:
			s.Overhead++
			if r.Missed {
				s.OverheadMissed++
			} else {
				over = append(over, r.Lead)
			}
		case r.Inside:
			s.Approaching++
			k := s.ByKind[r.Kind]
			k[0]++
			if !r.Missed && r.Lead >= 0 {
				k[1]++
			}
			s.ByKind[r.Kind] = k
			if r.Missed {
				s.Missed++
				continue
			}
			leads = append(leads, r.Lead)
			if r.Lead >= 0 {
				s.DownBefore++
			}
			if r.FromOutside {
				s.FromOutside++
				if r.Lead >= 0 {
					s.FromOutsideOK++
				}
			}
		default:
			b := bucket(r.ClosestKM)
			for _, kind := range []Kind{r.Kind, "all"} {
				k := OutKey{kind, b}
				s.Outside[k] = s.Outside[k].add(r)
			}
		}
	}
	s.MedianLead, s.P10Lead = quantile(leads, 0.5), quantile(leads, 0.1)
	s.OverheadMedianLead = quantile(over, 0.5)
	return s
}

// quantile is the q-quantile, nearest rank.
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	ds = slices.Clone(ds)
	slices.Sort(ds)
	i := int(math.Ceil(q*float64(len(ds)))) - 1
	return ds[max(i, 0)]
}

func pct(n, of int) string {
	if of == 0 {
		return "-"
	}
	return fmt.Sprintf("%d/%d (%.0f%%)", n, of, 100*float64(n)/float64(of))
}

func mins(d time.Duration) string { return fmt.Sprintf("%+.1f min", d.Minutes()) }

// Table prints the rules side by side.
func Table(rules []Rule, sums []Summary) string {
	var b strings.Builder
	row := func(name string, f func(Summary) string) {
		b.WriteString("| " + name + " |")
		for _, s := range sums {
			b.WriteString(" " + f(s) + " |")
		}
		b.WriteString("\n")
	}
	b.WriteString("| |")
	for _, r := range rules {
		b.WriteString(" " + r.Name + " |")
	}
	b.WriteString("\n|---|" + strings.Repeat("---|", len(rules)) + "\n")
	row("storms that came inside 16 km (not formed overhead)", func(s Summary) string { return fmt.Sprint(s.Approaching) })
	row("hosts down before the first true strike inside", func(s Summary) string { return pct(s.DownBefore, s.Approaching) })
	row("of those first seen beyond the 40 km watch radius", func(s Summary) string { return pct(s.FromOutsideOK, s.FromOutside) })
	row("median lead time", func(s Summary) string { return mins(s.MedianLead) })
	row("10th-percentile lead time", func(s Summary) string { return mins(s.P10Lead) })
	row("missed storms", func(s Summary) string { return fmt.Sprint(s.Missed) })
	for _, k := range Kinds {
		if sums[0].ByKind[k][0] == 0 {
			continue
		}
		row(fmt.Sprintf("… %s: hosts down in time", k), func(s Summary) string { return pct(s.ByKind[k][1], s.ByKind[k][0]) })
	}
	row("formed overhead: storms, missed", func(s Summary) string { return fmt.Sprintf("%d, %d", s.Overhead, s.OverheadMissed) })
	row("formed overhead: median lead time", func(s Summary) string { return mins(s.OverheadMedianLead) })
	for _, k := range append([]Kind{"all"}, Kinds...) {
		for i := range Buckets {
			key := OutKey{k, i}
			if sums[0].Outside[key].Storms == 0 {
				continue
			}
			name := fmt.Sprintf("countdowns, never inside: %s, core closest %v–%v km", k, Buckets[i], upper(i))
			row(name, func(s Summary) string {
				c := s.Outside[key]
				t := pct(c.Counted, c.Storms)
				if c.Predicted > 0 {
					t += fmt.Sprintf(", %d predicted", c.Predicted)
				}
				if c.Close > 0 {
					t += fmt.Sprintf(", %d by a strike inside the close radius", c.Close)
				}
				return t
			})
		}
	}
	return b.String()
}

func upper(i int) string {
	if i+1 < len(Buckets) {
		return fmt.Sprint(Buckets[i+1])
	}
	return "∞"
}

// CurveRules are the settings the trade-off curve plays: the time margin,
// the position error allowed for, the confirmation, the turn fit and the
// close radius.
func CurveRules() []Rule {
	var out []Rule
	add := func(name string, mod func(*storm.Config)) {
		c := storm.DefaultConfig()
		mod(&c)
		out = append(out, Rule{name, c})
	}
	add("reactive", func(c *storm.Config) { c.Predict = false; c.CloseRadiusKM = 0 })
	for _, m := range []time.Duration{0, 5 * time.Minute, 15 * time.Minute} {
		add(fmt.Sprintf("margin %v", m), func(c *storm.Config) { c.PredictMargin = m })
	}
	add("default (margin 10m, 1σ, confirm 1m, close radius 10 km)", func(*storm.Config) {})
	add("2σ", func(c *storm.Config) { c.Track.Sigmas = 2 })
	add("confirm 0", func(c *storm.Config) { c.ConfirmFor = 0 })
	add("confirm 3m", func(c *storm.Config) { c.ConfirmFor = 3 * time.Minute })
	add("speed error up to 15 km/h", func(c *storm.Config) { c.Track.MaxSpeedErrKMH = 15 })
	add("no turn fit", func(c *storm.Config) { c.Track.TurnWindow = 0 })
	add("close radius 16 km (every strike inside, no doubt)", func(c *storm.Config) { c.CloseRadiusKM = 0 })
	add("close radius 8 km", func(c *storm.Config) { c.CloseRadiusKM = 8 })
	add("close radius 5 km", func(c *storm.Config) { c.CloseRadiusKM = 5 })
	add("close radius 2 km", func(c *storm.Config) { c.CloseRadiusKM = 2 })
	return out
}

// CurveTable prints one line per setting: lead time against countdowns
// for storms that never came inside.
func CurveTable(rules []Rule, sums []Summary) string {
	var b strings.Builder
	b.WriteString("| setting | down in time (first seen beyond 40 km) | median lead | p10 lead | missed | near miss 16–25 km: countdowns (predicted, close strike) | pass 25–35 km: countdowns (predicted, close strike) | dies on the way: countdowns (predicted, close strike) |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|\n")
	for i, r := range rules {
		s := sums[i]
		out := func(kinds []Kind, lo, hi int) string {
			var c Counts
			for _, k := range kinds {
				for bk := lo; bk < hi; bk++ {
					x := s.Outside[OutKey{k, bk}]
					c.Storms += x.Storms
					c.Counted += x.Counted
					c.Predicted += x.Predicted
					c.Close += x.Close
				}
			}
			return fmt.Sprintf("%s (%d, %d)", pct(c.Counted, c.Storms), c.Predicted, c.Close)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %d | %s | %s | %s |\n", r.Name, pct(s.FromOutsideOK, s.FromOutside),
			mins(s.MedianLead), mins(s.P10Lead), s.Missed+s.OverheadMissed,
			out([]Kind{"all"}, bucket(16), bucket(25)), out([]Kind{Pass}, bucket(25), bucket(35)), out([]Kind{Dies}, 0, len(Buckets)))
	}
	return b.String()
}
