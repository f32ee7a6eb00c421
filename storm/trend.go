package storm

import "time"

// recentMax bounds the strikes kept for the trend, so memory stays flat on
// a long feed.
const recentMax = 32

// trendSlopeKMH is the distance change per hour below which a storm is steady.
const trendSlopeKMH = 2.0

// addRecent keeps the last recentMax strikes inside the watch radius and
// updates the trend.
func (e *Engine) addRecent(s Strike) {
	r := e.st.Recent
	switch {
	case len(r) < recentMax && cap(r) < recentMax:
		r = append(make([]Strike, 0, recentMax), r...)
		r = append(r, s)
	case len(r) < recentMax:
		r = append(r, s)
	default:
		copy(r, r[1:])
		r[len(r)-1] = s
	}
	e.st.Recent = r
	e.st.Trend = trendOf(r, e.cfg.AllClear)
}

// trendOf fits a line to distance over time for the strikes within window of
// the newest one. It needs three strikes spread over at least a minute.
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
