package weather

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"
)

// ReplayConfig configures a replay of recorded strikes, for demos and drills.
type ReplayConfig struct {
	// Path is a file of one JSON strike per line, in any of three forms:
	//   {"topic":"blitzortung/1.1/...","payload":"<strike JSON>"}  (the Blitzortung fixture form)
	//   {"time":"<RFC 3339>","lat":40.1,"lon":-105.2}
	//   {"time":"<RFC 3339>","distance_km":8,"bearing_deg":300}  (bearing optional)
	// Blank lines, lines starting with '#' and MQTT lines on other topics are skipped.
	Path string
	Site Site
	// RadiusKM drops strikes at or beyond it; default 100.
	RadiusKM float64
	// Speed is how many times faster than recorded to play; default 1.
	Speed float64
	// Clock times the playback; default the real clock.
	Clock clockwork.Clock
}

// Validate names the first field that cannot work.
func (c ReplayConfig) Validate() error {
	if c.Path == "" {
		return errors.New("replay: Path is required")
	}
	if err := c.Site.Validate(); err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	if !(c.RadiusKM > 0) {
		return fmt.Errorf("replay: RadiusKM %v is not positive", c.RadiusKM)
	}
	if !(c.Speed > 0) || !finite(c.Speed) {
		return fmt.Errorf("replay: Speed %v is not positive", c.Speed)
	}
	return nil
}

// Replay plays a file of recorded strikes back onto the wall clock. A strike
// recorded at t is emitted at start + (t - t0)/Speed, where start is when
// Stream began and t0 the earliest recorded time, and it carries that
// moment as its Time, so a drill looks to the storm logic like a live storm.
type Replay struct {
	cfg    ReplayConfig
	events []replayEvent
}

// replayEvent is one recorded strike before rescaling.
type replayEvent struct {
	at     time.Time
	strike Strike // DistanceKM and bearing only
}

// NewReplay checks cfg, reads the file and returns the source.
func NewReplay(cfg ReplayConfig) (*Replay, error) {
	if cfg.RadiusKM == 0 {
		cfg.RadiusKM = 100
	}
	if cfg.Speed == 0 {
		cfg.Speed = 1
	}
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(cfg.Path)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	var events []replayEvent
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		ev, ok, err := parseReplayLine(sc.Bytes(), cfg.Site)
		if err != nil {
			return nil, fmt.Errorf("replay: %s line %d: %w", cfg.Path, n, err)
		}
		if ok {
			events = append(events, ev)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("replay: %s: %w", cfg.Path, err)
	}
	slices.SortStableFunc(events, func(a, b replayEvent) int { return a.at.Compare(b.at) })
	return &Replay{cfg: cfg, events: events}, nil
}

// Name returns "replay".
func (r *Replay) Name() string { return "replay" }

// Kind returns Trigger.
func (r *Replay) Kind() Kind { return Trigger }

// Stream plays the file once, emitting each strike inside the radius when
// its rescaled moment comes. It returns nil at the end of the file or when
// ctx ends.
func (r *Replay) Stream(ctx context.Context, emit func(Report)) error {
	if len(r.events) == 0 {
		return nil
	}
	clock := r.cfg.Clock
	start := clock.Now()
	t0 := r.events[0].at
	for _, ev := range r.events {
		if !(ev.strike.DistanceKM < r.cfg.RadiusKM) {
			continue
		}
		due := start.Add(time.Duration(float64(ev.at.Sub(t0)) / r.cfg.Speed))
		if wait := due.Sub(clock.Now()); wait > 0 {
			select {
			case <-clock.After(wait):
			case <-ctx.Done():
				return nil
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		s := ev.strike
		s.Time = due
		s.Source = r.Name()
		emit(Report{Source: r.Name(), At: clock.Now(), Strikes: []Strike{s}})
	}
	return nil
}

// parseReplayLine reads one line; ok is false for lines to skip.
func parseReplayLine(line []byte, site Site) (replayEvent, bool, error) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 || line[0] == '#' {
		return replayEvent{}, false, nil
	}
	var l struct {
		Topic      *string  `json:"topic"`
		Payload    *string  `json:"payload"`
		Time       string   `json:"time"`
		Lat        *float64 `json:"lat"`
		Lon        *float64 `json:"lon"`
		DistanceKM *float64 `json:"distance_km"`
		BearingDeg *float64 `json:"bearing_deg"`
	}
	if err := json.Unmarshal(line, &l); err != nil {
		return replayEvent{}, false, malformed("replay", err)
	}
	if l.Topic != nil {
		if !strings.HasPrefix(*l.Topic, "blitzortung/") {
			return replayEvent{}, false, nil
		}
		if l.Payload == nil {
			return replayEvent{}, false, malformed("replay", errors.New("topic without payload"))
		}
		s, err := decodeBlitzortung([]byte(*l.Payload), site)
		if err != nil {
			return replayEvent{}, false, err
		}
		return replayEvent{at: s.Time, strike: s}, true, nil
	}
	at, err := time.Parse(time.RFC3339Nano, l.Time)
	if err != nil {
		return replayEvent{}, false, malformed("replay", err)
	}
	var s Strike
	switch {
	case l.Lat != nil && l.Lon != nil:
		if *l.Lat < -90 || *l.Lat > 90 || *l.Lon < -180 || *l.Lon > 180 {
			return replayEvent{}, false, malformed("replay", fmt.Errorf("lat %v, lon %v out of range", *l.Lat, *l.Lon))
		}
		s.DistanceKM, s.BearingDeg = site.Polar(*l.Lat, *l.Lon)
		s.HasBearing = true
	case l.DistanceKM != nil:
		if !finite(*l.DistanceKM) || *l.DistanceKM < 0 {
			return replayEvent{}, false, malformed("replay", fmt.Errorf("distance_km %v", *l.DistanceKM))
		}
		s.DistanceKM = *l.DistanceKM
		if l.BearingDeg != nil && finite(*l.BearingDeg) {
			s.BearingDeg, s.HasBearing = *l.BearingDeg, true
		}
	default:
		return replayEvent{}, false, malformed("replay", errors.New("neither lat/lon nor distance_km"))
	}
	return replayEvent{at: at.UTC(), strike: s}, true, nil
}
