package storm

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/stormguard/stormguard/storm/track"
	"github.com/stormguard/stormguard/weather"
)

// Cell is a tracked storm cell as the state shows it. Values are rounded
// (1 km, 1°, 1 km/h, the minute) so the state changes when a person would
// see a difference, not on every strike.
type Cell struct {
	ID         int     `json:"id"`
	DistanceKM float64 `json:"distance_km"`
	BearingDeg float64 `json:"bearing_deg"`
	SpeedKMH   float64 `json:"speed_kmh"`
	HeadingDeg float64 `json:"heading_deg"`
	// SpeedErrKMH is the standard error of the speed.
	SpeedErrKMH float64 `json:"speed_err_kmh"`
	// ClosestKM is the closest the cell's centre is expected to come.
	ClosestKM float64 `json:"closest_km"`
	// Arrival is when its lightning is expected inside the shutdown
	// radius, with the margins for error; zero if not within the tracker's horizon.
	Arrival time.Time `json:"arrival,omitzero"`
	// CountdownAt is when the countdown must start for the hosts to be
	// down before Arrival.
	CountdownAt time.Time `json:"countdown_at,omitzero"`
	Strikes     int       `json:"strikes"`
}

// cellsShown bounds the cells the state lists.
const cellsShown = 3

// track files a located strike from a trigger-capable source with the
// tracker, and returns its cell, or nil when it cannot be placed.
func (e *Engine) track(s *weather.Strike, t time.Time) *track.Cell {
	if !e.cfg.Predict || !s.HasBearing || s.Estimate || !(s.DistanceKM < e.cfg.TrackRadiusKM) {
		return nil
	}
	c := e.tracker.Add(e.stormTime(t), track.FromPolar(s.DistanceKM, s.BearingDeg))
	if !slices.Contains(e.touched, c) {
		e.touched = append(e.touched, c)
	}
	return c
}

// stormTime maps a time on the engine's clock to the tracker's, which
// runs TimeScale times faster from the engine's start.
func (e *Engine) stormTime(t time.Time) time.Time {
	if e.cfg.TimeScale == 0 || e.cfg.TimeScale == 1 {
		return t
	}
	return e.start.Add(time.Duration(float64(t.Sub(e.start)) * e.cfg.TimeScale))
}

// clockTime maps a time of the tracker's back to the engine's clock.
func (e *Engine) clockTime(t time.Time) time.Time {
	if e.cfg.TimeScale == 0 || e.cfg.TimeScale == 1 || t.IsZero() {
		return t
	}
	return e.start.Add(time.Duration(float64(t.Sub(e.start)) / e.cfg.TimeScale))
}

// predict returns c's prediction with its times on the engine's clock.
func (e *Engine) predict(c *track.Cell) track.Prediction {
	p := e.tracker.Predict(c, e.cfg.ShutdownRadiusKM)
	p.Arrival = e.clockTime(p.Arrival)
	return p
}

// checkCells starts a countdown when a cell's lightning is expected inside
// the shutdown radius sooner than the lead time from now, and keeps a
// triggered storm going while one is. Only the cells in cells are looked at.
func (e *Engine) checkCells(now time.Time, cells []*track.Cell) {
	if !e.cfg.Predict || len(cells) == 0 {
		return
	}
	var best *track.Cell
	var bestP track.Prediction
	coming := false
	for _, c := range cells {
		p, ok := e.threat(now, c)
		if !ok {
			delete(e.threatSince, c.ID)
			continue
		}
		coming = coming || p.Arrival.After(now)
		since, seen := e.threatSince[c.ID]
		if !seen {
			since = now
			e.threatSince[c.ID] = now
		}
		// One fit can be off by chance; a threat that holds for ConfirmFor
		// is not, and one with no time left to wait is acted on at once.
		if now.Sub(since) < e.cfg.ConfirmFor && p.Arrival.After(now.Add(e.cfg.Grace+e.cfg.ShutdownTime)) {
			continue
		}
		if best == nil || p.Arrival.Before(bestP.Arrival) {
			best, bestP = c, p
		}
	}
	// A cell still on its way (not one already over the site, whose
	// strikes speak for themselves) keeps a storm that has had a countdown
	// going, so its all clear waits.
	if coming && e.st.Countdowns > 0 && e.st.Phase != PhaseClear && e.st.Phase != PhaseAllClear &&
		now.Sub(e.st.LastThreat) >= time.Minute {
		e.st.LastThreat = now
		e.dirty = true
	}
	if best == nil {
		return
	}
	if !e.announced[best.ID] {
		e.announced[best.ID] = true
		e.event(EventWatch, "tracking "+e.describeCell(now, best, bestP))
	}
	switch {
	case e.st.Phase == PhaseCountdown || e.st.Phase == PhaseShutdown:
	case now.Before(e.st.HoldUntil), e.st.CancelledBy != "" && e.cfg.HoldAfterCancel == 0:
		// A person cancelled; only a strike overrides that.
	default:
		e.startCountdown(now, e.describeCell(now, best, bestP))
		e.st.LastThreat = latest(e.st.LastThreat, now)
	}
}

// threat returns c's prediction and whether it calls for a countdown now.
func (e *Engine) threat(now time.Time, c *track.Cell) (track.Prediction, bool) {
	if e.stormTime(now).Sub(c.Last) > e.cfg.Track.Stale {
		return track.Prediction{}, false
	}
	p := e.predict(c)
	if !p.OK || p.Arrival.IsZero() {
		return p, false
	}
	return p, !p.Arrival.After(now.Add(e.cfg.lead()))
}

// describeCell says where a cell is, where it goes and when its lightning
// is expected: "storm cell 31 km WSW moving ENE at 62 km/h, lightning
// expected inside 16 km at 20:14Z".
func (e *Engine) describeCell(now time.Time, c *track.Cell, p track.Prediction) string {
	pos, _ := p.PosAt(e.stormTime(now))
	when := "at " + clock(p.Arrival)
	if !p.Arrival.After(now) {
		when = "now"
	}
	return fmt.Sprintf("storm cell %.0f km %s moving %s at %.0f km/h, lightning expected inside %.0f km %s",
		pos.Dist(), weather.Compass(pos.Bearing()), weather.Compass(p.Heading()), p.Speed(), e.cfg.ShutdownRadiusKM, when)
}

// tickCells forgets dead cells, checks every live one and refreshes the
// cells the state shows. It runs on Tick, so its cost grows with the cells
// only once a tick, never per strike.
func (e *Engine) tickCells(now time.Time) {
	if !e.cfg.Predict {
		return
	}
	e.tracker.Expire(e.stormTime(now))
	cells := e.tracker.Cells()
	e.checkCells(now, cells)
	if len(e.announced)+len(e.threatSince) > 4*cellsShown+2*len(cells) {
		announced, since := map[int]bool{}, map[int]time.Time{}
		for _, c := range cells {
			if e.announced[c.ID] {
				announced[c.ID] = true
			}
			if t, ok := e.threatSince[c.ID]; ok {
				since[c.ID] = t
			}
		}
		e.announced, e.threatSince = announced, since
	}
	if e.st.Doubted != "" && e.stormTime(now).Sub(e.stormTime(e.st.DoubtedAt)) > e.cfg.Track.LoneWindow {
		e.st.Doubted, e.st.DoubtedAt = "", time.Time{}
		e.dirty = true
	}
	for id, d := range e.doubted {
		if e.stormTime(now).Sub(e.stormTime(d.Time)) > e.cfg.Track.LoneWindow {
			delete(e.doubted, id)
		}
	}
	for id, hits := range e.fringeHits {
		if len(hits) == 0 || e.stormTime(now).Sub(hits[len(hits)-1]) > e.cfg.Track.LoneWindow {
			delete(e.fringeHits, id)
		}
	}
	e.showCells(now, cells)
}

// showCells puts the most threatening cells in the state: those whose
// lightning is expected inside soonest, then the nearest inside the watch radius.
func (e *Engine) showCells(now time.Time, cells []*track.Cell) {
	views := e.views[:0]
	for _, c := range cells {
		if !e.cfg.Predict || e.stormTime(now).Sub(c.Last) > e.cfg.Track.Stale {
			continue
		}
		p := e.predict(c)
		if !p.OK {
			continue
		}
		pos, _ := p.PosAt(e.stormTime(now))
		if p.Arrival.IsZero() && !(pos.Dist() < e.cfg.WatchRadiusKM) {
			continue
		}
		v := Cell{
			ID: c.ID, DistanceKM: math.Round(pos.Dist()), BearingDeg: math.Round(pos.Bearing()),
			SpeedKMH: math.Round(p.Speed()), HeadingDeg: math.Round(p.Heading()),
			SpeedErrKMH: math.Round(p.SpeedErrKMH), ClosestKM: math.Round(p.ClosestKM), Strikes: c.Strikes,
		}
		if !p.Arrival.IsZero() {
			v.Arrival = p.Arrival.Truncate(time.Minute)
			v.CountdownAt = p.Arrival.Add(-e.cfg.lead()).Truncate(time.Minute)
		}
		views = append(views, v)
	}
	slices.SortFunc(views, func(a, b Cell) int {
		switch {
		case !a.Arrival.IsZero() && !b.Arrival.IsZero():
			return a.Arrival.Compare(b.Arrival)
		case !a.Arrival.IsZero():
			return -1
		case !b.Arrival.IsZero():
			return 1
		}
		return int(a.DistanceKM - b.DistanceKM)
	})
	views = views[:min(len(views), cellsShown)]
	e.views = views
	if !slices.EqualFunc(views, e.st.Cells, sameCell) {
		e.st.Cells = slices.Clone(views)
		e.dirty = true
	}
}

// sameCell compares views without the strike count, which changes on
// every strike.
func sameCell(a, b Cell) bool {
	a.Strikes, b.Strikes = 0, 0
	return a == b
}
