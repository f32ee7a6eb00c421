package storm

import (
	"slices"
	"time"
)

// recentMax bounds the minutes kept for the trend, so memory stays flat on
// a long feed.
const recentMax = 32

// trendSlopeKMH is the distance change per hour below which a storm is steady.
const trendSlopeKMH = 5.0

// addRecent keeps, for each of the last recentMax minutes with lightning
// inside the watch radius, the nearest strike of that minute: the storm's
// front, which a dense feed would otherwise crowd out of a short window.
// Entries stay in time order; a strike for a minute older than all of them
// is dropped.
func (e *Engine) addRecent(s Strike) {
	r := e.st.Recent
	if cap(r) < recentMax {
		r = append(make([]Strike, 0, recentMax), r...)
	}
	minute := s.Time.Truncate(time.Minute)
	i := len(r)
	for i > 0 && !r[i-1].Time.Truncate(time.Minute).Before(minute) {
		i--
	}
	switch {
	case i < len(r) && r[i].Time.Truncate(time.Minute).Equal(minute):
		if s.DistanceKM < r[i].DistanceKM {
			r[i] = s
		}
	case len(r) < recentMax:
		r = slices.Insert(r, i, s)
	case i > 0:
		copy(r, r[1:i])
		r[i-1] = s
	}
	e.st.Recent = r
	e.st.Trend = trendOf(r, e.cfg.AllClear)
}

// trendOf fits a line to distance over time for the strikes within window of
// the newest one. It needs three of them, which span two minutes or more.
func trendOf(r []Strike, window time.Duration) Trend {
	var newest time.Time
	for _, s := range r {
		newest = latest(newest, s.Time)
	}
	from := newest.Add(-window)
	var n, sx, sy float64
	var first, last time.Time
	for _, s := range r {
		if s.Time.Before(from) {
			continue
		}
		if first.IsZero() || s.Time.Before(first) {
			first = s.Time
		}
		last = latest(last, s.Time)
		n++
		sx += s.Time.Sub(newest).Hours()
		sy += s.DistanceKM
	}
	if n < 3 || last.Sub(first) < time.Minute {
		return TrendUnknown
	}
	mx, my := sx/n, sy/n
	var sxy, sxx float64
	for _, s := range r {
		if s.Time.Before(from) {
			continue
		}
		dx := s.Time.Sub(newest).Hours() - mx
		sxy += dx * (s.DistanceKM - my)
		sxx += dx * dx
	}
	switch slope := sxy / sxx; {
	case slope <= -trendSlopeKMH:
		return TrendApproaching
	case slope >= trendSlopeKMH:
		return TrendReceding
	}
	return TrendSteady
}
