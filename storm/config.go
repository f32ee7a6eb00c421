package storm

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/stormguard/stormguard/storm/track"
)

// BlindPolicy says what to do when no trigger-capable source can see.
type BlindPolicy string

const (
	// BlindHold keeps the current phase and warns loudly; no automatic shutdown.
	BlindHold BlindPolicy = "hold"
	// BlindShutdown starts a countdown, once per storm, when every
	// trigger-capable source is blind, failing or silent.
	BlindShutdown BlindPolicy = "shutdown"
)

// Config holds the storm rules. Start from DefaultConfig and change fields;
// NewEngine rejects a Config that does not pass Validate.
type Config struct {
	// ShutdownRadiusKM is the trigger radius; a strike counts as inside only
	// when it is strictly closer than this.
	ShutdownRadiusKM float64
	// WatchRadiusKM is the warning radius; it must not be smaller than ShutdownRadiusKM.
	WatchRadiusKM float64
	// Grace is the countdown from the SHUTDOWN to the hosts powering down.
	Grace time.Duration
	// AllClear is how long after the last strike inside the shutdown radius the
	// storm is over; each new strike inside restarts it. The watch ends the
	// same time after the last strike inside the watch radius.
	AllClear time.Duration
	// HoldAfterCancel is how long a cancel holds off a new countdown, unless
	// lightning comes closer than the nearest strike seen when it was
	// cancelled. Zero means no hold.
	HoldAfterCancel time.Duration
	// ContextTriggers names context sources (forecasts, alerts) whose
	// thunderstorm signals and strikes may start a countdown. By default
	// context sources only arm the watch.
	ContextTriggers []string
	// FutureTolerance is how far ahead of now a strike may be stamped and
	// still be trusted, for clocks a little apart. Strikes stamped later, or
	// earlier than AllClear ago, are ignored and counted in the source's health.
	FutureTolerance time.Duration
	// SilentAfter is how long a source that answers on a schedule may go
	// without a report or an error before it counts as silent, and how long
	// an event feed may take to connect after the start.
	SilentAfter time.Duration
	// SilentAfterBySource overrides SilentAfter for named sources.
	SilentAfterBySource map[string]time.Duration
	// FailAfter is how many errors in a row make a source count as failing;
	// fewer are treated as a passing hiccup.
	FailAfter int
	// BlindPolicy says what to do when every trigger-capable source is blind,
	// failing or silent.
	BlindPolicy BlindPolicy
	// CancelTopic is named in reason texts so a person knows how to stop a countdown.
	CancelTopic string

	// Predict starts a countdown from a tracked storm cell's predicted
	// arrival, early enough that the hosts are down before its lightning
	// comes inside the shutdown radius. A strike inside the radius still
	// starts one at once when no prediction did.
	Predict bool
	// ShutdownTime is how long the fleet's hosts take to power down after
	// the deadline; the prediction allows for it.
	ShutdownTime time.Duration
	// PredictMargin is time allowed on top of Grace and ShutdownTime.
	PredictMargin time.Duration
	// ConfirmFor is how long a cell's prediction must keep calling for a
	// countdown before it starts one, so one fit that is off by chance
	// does not; a prediction with less than Grace and ShutdownTime left
	// starts one at once.
	ConfirmFor time.Duration
	// TrackRadiusKM is how far out located strikes from trigger sources are
	// tracked; those beyond the watch radius feed only the tracker.
	TrackRadiusKM float64
	// CloseRadiusKM is how close a doubtful strike must be to start a
	// countdown on its own. A strike is doubtful when it is lone (no other
	// near it in Track.LoneWindow, typical of a mislocated detection) or
	// lies at the fringe of a tracked cell whose lightning is not expected
	// inside the shutdown radius (the scatter and location error of a
	// storm passing by); beyond the close radius it waits for confirmation.
	// Default 10 km: about one flash-to-flash step (NSSL: half of
	// successive flashes are about 9 km apart), so a strike that close is
	// acted on whatever else is known. Zero means the shutdown radius:
	// every strike inside starts one, the rule before tracking. It needs
	// Predict: without tracking, every strike inside starts one.
	CloseRadiusKM float64
	// Track tunes the tracker.
	Track track.Config
	// TimeScale is how many seconds of storm pass in one second of the
	// engine's clock: 1 (or 0) for real weather, more for a recorded storm
	// replayed fast (a demo, a compressed drill). The tracker works in
	// storm time, so speeds and its windows keep their meaning; every
	// other duration here is on the engine's clock.
	TimeScale float64
}

// DefaultConfig returns the lightning-safety defaults: 16 km to shut down,
// 40 km to watch, a 5 minute grace and the 30 minute all clear.
func DefaultConfig() Config {
	return Config{
		ShutdownRadiusKM: 16,
		WatchRadiusKM:    40,
		Grace:            5 * time.Minute,
		AllClear:         30 * time.Minute,
		HoldAfterCancel:  30 * time.Minute,
		FutureTolerance:  2 * time.Minute,
		SilentAfter:      10 * time.Minute,
		FailAfter:        3,
		BlindPolicy:      BlindHold,
		CancelTopic:      "CANCEL",
		Predict:          true,
		ShutdownTime:     3 * time.Minute,
		PredictMargin:    10 * time.Minute,
		ConfirmFor:       time.Minute,
		TrackRadiusKM:    100,
		CloseRadiusKM:    10,
		Track:            track.DefaultConfig(),
	}
}

// Validate reports the first field that makes no sense, by name.
func (c Config) Validate() error {
	switch {
	case !(c.ShutdownRadiusKM > 0) || math.IsInf(c.ShutdownRadiusKM, 0):
		return fmt.Errorf("ShutdownRadiusKM %v: must be a positive distance", c.ShutdownRadiusKM)
	case !(c.WatchRadiusKM >= c.ShutdownRadiusKM) || math.IsInf(c.WatchRadiusKM, 0):
		return fmt.Errorf("WatchRadiusKM %v: must be at least ShutdownRadiusKM (%v)", c.WatchRadiusKM, c.ShutdownRadiusKM)
	case c.Grace < 0:
		return fmt.Errorf("Grace %v: must not be negative", c.Grace)
	case c.AllClear <= 0:
		return fmt.Errorf("AllClear %v: must be positive", c.AllClear)
	case c.HoldAfterCancel < 0:
		return fmt.Errorf("HoldAfterCancel %v: must not be negative", c.HoldAfterCancel)
	case c.FutureTolerance < 0:
		return fmt.Errorf("FutureTolerance %v: must not be negative", c.FutureTolerance)
	case c.SilentAfter <= 0:
		return fmt.Errorf("SilentAfter %v: must be positive", c.SilentAfter)
	case c.FailAfter < 1:
		return fmt.Errorf("FailAfter %d: must be at least 1", c.FailAfter)
	case c.BlindPolicy != BlindHold && c.BlindPolicy != BlindShutdown:
		return fmt.Errorf("BlindPolicy %q: must be %q or %q", c.BlindPolicy, BlindHold, BlindShutdown)
	case c.CancelTopic == "":
		return fmt.Errorf("CancelTopic: must not be empty")
	case c.ShutdownTime < 0:
		return fmt.Errorf("ShutdownTime %v: must not be negative", c.ShutdownTime)
	case c.TimeScale < 0 || math.IsNaN(c.TimeScale) || math.IsInf(c.TimeScale, 0):
		return fmt.Errorf("TimeScale %v: must be 0 (real time) or positive", c.TimeScale)
	case c.ConfirmFor < 0:
		return fmt.Errorf("ConfirmFor %v: must not be negative", c.ConfirmFor)
	case c.PredictMargin < 0:
		return fmt.Errorf("PredictMargin %v: must not be negative", c.PredictMargin)
	case c.Predict && (!(c.TrackRadiusKM >= c.WatchRadiusKM) || math.IsInf(c.TrackRadiusKM, 0)):
		return fmt.Errorf("TrackRadiusKM %v: must be at least WatchRadiusKM (%v)", c.TrackRadiusKM, c.WatchRadiusKM)
	case !(c.CloseRadiusKM >= 0) || math.IsInf(c.CloseRadiusKM, 0):
		return fmt.Errorf("CloseRadiusKM %v: must be a distance, 0 or more", c.CloseRadiusKM)
	}
	if c.Predict {
		if err := c.Track.Validate(); err != nil {
			return fmt.Errorf("Track: %w", err)
		}
	}
	if i := slices.Index(c.ContextTriggers, ""); i >= 0 {
		return fmt.Errorf("ContextTriggers[%d]: empty source name", i)
	}
	for name, d := range c.SilentAfterBySource {
		if d <= 0 {
			return fmt.Errorf("SilentAfterBySource[%q] %v: must be positive", name, d)
		}
	}
	return nil
}

// closeRadius is the radius inside which a doubtful strike starts a countdown.
func (c Config) closeRadius() float64 {
	if c.CloseRadiusKM == 0 {
		return c.ShutdownRadiusKM
	}
	return min(c.CloseRadiusKM, c.ShutdownRadiusKM)
}

// lead is how long before lightning arrives a countdown must start for the
// hosts to be down in time.
func (c Config) lead() time.Duration { return c.Grace + c.ShutdownTime + c.PredictMargin }

// silentAfter is the silence limit for one source.
func (c Config) silentAfter(source string) time.Duration {
	if d, ok := c.SilentAfterBySource[source]; ok {
		return d
	}
	return c.SilentAfter
}
