// Package track follows thunderstorm cells from located strikes and
// predicts when their lightning comes inside a radius around the site.
//
// A strike joins the cell whose expected position is nearest, if it is
// within JoinKM; otherwise it starts a cell of its own. Each cell keeps, per
// minute, sums of its strikes' times and positions, so adding a strike and
// fitting the cell's motion cost the same however long the cell has lived.
// The motion is a straight-line least-squares fit of position on time over
// the last Window, with the standard errors that go with it, and again over
// the shorter TurnWindow, which sees a turn sooner. A cell's lightning is
// taken to reach ReachSigmas standard deviations of its strikes about the
// fitted track from its centre.
//
// The prediction is deliberately pessimistic: lightning is expected inside
// the radius from the first moment the fitted track, less the reach and
// Sigmas standard errors of the position at that moment, comes inside it.
// The standard error grows with the time from the fitted strikes, so a cell
// whose speed is poorly known is expected sooner, never later.
//
// The package is pure: it takes the times of the strikes and of now, and
// owns no clock.
package track

import (
	"fmt"
	"math"
	"time"
)

// Config tunes the tracker. Start from DefaultConfig.
type Config struct {
	// JoinKM is how far from a cell's expected position a strike may fall
	// and still belong to it.
	JoinKM float64
	// Window is how far back the motion is fitted.
	Window time.Duration
	// TurnWindow, when positive, is a second, shorter fit that sees a
	// turn sooner: its arrival counts when it is the earlier.
	TurnWindow time.Duration
	// Stale is how long a cell may go without a strike and still predict:
	// a cell that stopped flashing may have died.
	Stale time.Duration
	// Forget drops a cell with no strike for this long.
	Forget time.Duration
	// MinStrikes and MinSpan are the least a cell needs, inside Window,
	// before its motion is trusted.
	MinStrikes int
	MinSpan    time.Duration
	// MaxSpeedErrKMH is the largest standard error of the speed with which
	// a cell predicts at all; a worse fit waits for more strikes.
	MaxSpeedErrKMH float64
	// Sigmas is how many standard errors of the position the prediction
	// allows for, on top of the reach.
	Sigmas float64
	// ReachSigmas is how many standard deviations of a cell's strikes about
	// its track its lightning is expected to reach from the centre.
	ReachSigmas float64
	// MinReachKM and MaxReachKM bound how far ahead of a cell's centre its
	// lightning is expected.
	MinReachKM, MaxReachKM float64
	// Horizon is how far ahead arrivals are looked for.
	Horizon time.Duration
	// MaxCells bounds memory: when full, the cell with the oldest last
	// strike makes room.
	MaxCells int
	// LoneWindow: a strike with no other of its cell this long before it
	// is lone, typical of a detection placed far from where it was.
	LoneWindow time.Duration
	// FringeKM: a strike whose own cell is not tracked is taken for the
	// edge of a tracked cell passing by within this distance of it.
	FringeKM float64
	// ActiveStrikes in LoneWindow make a tracked cell an active storm,
	// against which a lone strike elsewhere is doubted.
	ActiveStrikes int
	// EdgeStrikes inside the radius at the fringe of one passing cell in
	// LoneWindow say its lightning is inside after all: the one that makes
	// them that many is not in doubt.
	EdgeStrikes int
}

// DefaultConfig returns the settings the score in docs/stormguard.md was
// measured with.
func DefaultConfig() Config {
	return Config{
		JoinKM:         12,
		Window:         20 * time.Minute,
		TurnWindow:     10 * time.Minute,
		Stale:          6 * time.Minute,
		Forget:         20 * time.Minute,
		MinStrikes:     12,
		MinSpan:        4 * time.Minute,
		MaxSpeedErrKMH: 8,
		Sigmas:         1,
		ReachSigmas:    1,
		MinReachKM:     3,
		MaxReachKM:     12,
		Horizon:        45 * time.Minute,
		MaxCells:       512,
		LoneWindow:     10 * time.Minute,
		FringeKM:       24,
		ActiveStrikes:  3,
		EdgeStrikes:    4,
	}
}

// Validate reports the first field that makes no sense, by name.
func (c Config) Validate() error {
	switch {
	case !(c.JoinKM > 0):
		return fmt.Errorf("JoinKM %v: must be positive", c.JoinKM)
	case c.Window < 2*time.Minute:
		return fmt.Errorf("Window %v: must be at least 2m", c.Window)
	case c.TurnWindow != 0 && (c.TurnWindow < c.MinSpan || c.TurnWindow > c.Window):
		return fmt.Errorf("TurnWindow %v: must be 0 (none) or between MinSpan (%v) and Window (%v)", c.TurnWindow, c.MinSpan, c.Window)
	case c.Stale <= 0 || c.Forget < c.Stale:
		return fmt.Errorf("Stale %v, Forget %v: must be positive, Forget at least Stale", c.Stale, c.Forget)
	case c.MinStrikes < 3:
		return fmt.Errorf("MinStrikes %d: must be at least 3", c.MinStrikes)
	case c.MinSpan < time.Minute || c.MinSpan > c.Window:
		return fmt.Errorf("MinSpan %v: must be between 1m and Window", c.MinSpan)
	case !(c.MaxSpeedErrKMH > 0):
		return fmt.Errorf("MaxSpeedErrKMH %v: must be positive", c.MaxSpeedErrKMH)
	case !(c.Sigmas >= 0):
		return fmt.Errorf("Sigmas %v: must not be negative", c.Sigmas)
	case !(c.ReachSigmas >= 0):
		return fmt.Errorf("ReachSigmas %v: must not be negative", c.ReachSigmas)
	case !(c.MinReachKM >= 0) || !(c.MaxReachKM >= c.MinReachKM):
		return fmt.Errorf("MinReachKM %v, MaxReachKM %v: must be 0 <= min <= max", c.MinReachKM, c.MaxReachKM)
	case c.Horizon <= 0:
		return fmt.Errorf("Horizon %v: must be positive", c.Horizon)
	case c.MaxCells < 1:
		return fmt.Errorf("MaxCells %d: must be at least 1", c.MaxCells)
	case c.LoneWindow <= 0 || c.LoneWindow > c.Forget:
		return fmt.Errorf("LoneWindow %v: must be positive and at most Forget (%v)", c.LoneWindow, c.Forget)
	case !(c.FringeKM >= 0) || c.FringeKM > 2*c.JoinKM:
		return fmt.Errorf("FringeKM %v: must be between 0 and twice JoinKM (%v)", c.FringeKM, 2*c.JoinKM)
	case c.ActiveStrikes < 2:
		return fmt.Errorf("ActiveStrikes %d: must be at least 2", c.ActiveStrikes)
	case c.EdgeStrikes < 2:
		return fmt.Errorf("EdgeStrikes %d: must be at least 2", c.EdgeStrikes)
	}
	return nil
}

// Point is a place relative to the site, in km east (X) and north (Y).
type Point struct{ X, Y float64 }

// FromPolar returns the point at distKM along bearingDeg (clockwise from north).
func FromPolar(distKM, bearingDeg float64) Point {
	s, c := math.Sincos(bearingDeg * math.Pi / 180)
	return Point{distKM * s, distKM * c}
}

// Dist is the distance from the site.
func (p Point) Dist() float64 { return math.Hypot(p.X, p.Y) }

// Bearing is the direction from the site, degrees clockwise from north in [0, 360).
func (p Point) Bearing() float64 {
	return math.Mod(math.Atan2(p.X, p.Y)*180/math.Pi+360, 360)
}
