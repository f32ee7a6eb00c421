package weather

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// EcowittConfig configures the Ecowitt gateway source (GW1100, GW2000 and
// the like, with a WH57 lightning sensor).
type EcowittConfig struct {
	// HTTP.BaseURL is the gateway, e.g. "http://192.168.1.20"; required,
	// since the gateway has no public host.
	HTTP HTTPConfig
	// MaxAge is how old the last strike may be on the first poll and still
	// be reported; default 15 minutes. Later polls report every new strike.
	MaxAge time.Duration
	// Now returns the current time; default time.Now.
	Now func() time.Time
}

// Validate names the first field that cannot work.
func (c EcowittConfig) Validate() error {
	if c.HTTP.BaseURL == "" {
		return errors.New("ecowitt: HTTP.BaseURL is required (the gateway's address)")
	}
	if err := c.HTTP.validate(); err != nil {
		return fmt.Errorf("ecowitt: %w", err)
	}
	if c.MaxAge < 0 {
		return fmt.Errorf("ecowitt: MaxAge %v is negative", c.MaxAge)
	}
	return nil
}

// Ecowitt polls an Ecowitt gateway's local live-data page for the WH57's
// last strike.
//
// The gateway only keeps the last strike's distance and time and a daily
// count, so a strike is reported when the timestamp changes between polls.
// The timestamp is read as UTC, as CumulusMX does; the count is turned into
// a delta, allowing for the reset at midnight.
type Ecowitt struct {
	cfg EcowittConfig

	mu        sync.Mutex
	polled    bool
	lastTime  time.Time
	lastCount int
}

// NewEcowitt checks cfg and returns the source.
func NewEcowitt(cfg EcowittConfig) (*Ecowitt, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.HTTP = cfg.HTTP.withDefaults("")
	if cfg.MaxAge == 0 {
		cfg.MaxAge = 15 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Ecowitt{cfg: cfg, lastCount: -1}, nil
}

// Name returns "ecowitt".
func (e *Ecowitt) Name() string { return "ecowitt" }

// Kind returns Trigger.
func (e *Ecowitt) Kind() Kind { return Trigger }

// Poll reads the gateway and reports a strike if there is a new one.
func (e *Ecowitt) Poll(ctx context.Context) (Report, error) {
	f := fetch{cfg: e.cfg.HTTP, path: "/get_livedata_info", errDetail: func(b []byte) string { return clip(string(b)) }}
	body, err := f.do(ctx)
	if err != nil {
		return Report{}, fmt.Errorf("ecowitt: %w", err)
	}
	lt, err := decodeEcowitt(body)
	if err != nil {
		return Report{}, err
	}
	now := e.cfg.Now()
	rep := Report{Source: e.Name(), At: now}
	if !lt.present {
		rep.Blind = true
		rep.Detail = "gateway reports no lightning sensor"
		return rep, nil
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	first := !e.polled
	e.polled = true
	var notes []string
	if lt.count >= 0 {
		if e.lastCount >= 0 && lt.count != e.lastCount {
			delta := lt.count - e.lastCount
			if delta < 0 { // the daily counter was reset
				delta = lt.count
			}
			notes = append(notes, fmt.Sprintf("%d new strikes (%d today)", delta, lt.count))
		}
		e.lastCount = lt.count
	}
	isNew := !lt.time.IsZero() && !lt.time.Equal(e.lastTime)
	if isNew {
		e.lastTime = lt.time
	}
	if first && isNew && now.Sub(lt.time) > e.cfg.MaxAge {
		isNew = false // an old strike from before we started watching
	}
	if isNew && lt.hasDistance {
		rep.Strikes = []Strike{{Time: lt.time, Source: e.Name(), DistanceKM: lt.distanceKM, Estimate: true}}
	}
	rep.Detail = strings.Join(notes, "; ")
	return rep, nil
}

// ecowittLightning is the decoded lightning[0] entry.
type ecowittLightning struct {
	present     bool
	distanceKM  float64
	hasDistance bool
	time        time.Time
	count       int // -1 when unknown
}

// decodeEcowitt reads the lightning part of get_livedata_info. Every value
// is a string: "8 km" or "16.7 mi", with "255 km" and "--" meaning no
// strike yet.
func decodeEcowitt(body []byte) (ecowittLightning, error) {
	var b struct {
		Lightning []struct {
			Distance  string `json:"distance"`
			Timestamp string `json:"timestamp"`
			Count     string `json:"count"`
		} `json:"lightning"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return ecowittLightning{}, malformed("ecowitt", err)
	}
	lt := ecowittLightning{count: -1}
	if len(b.Lightning) == 0 {
		return lt, nil
	}
	l := b.Lightning[0]
	lt.present = true
	var err error
	if lt.distanceKM, lt.hasDistance, err = ecowittDistance(l.Distance); err != nil {
		return ecowittLightning{}, malformed("ecowitt", err)
	}
	if lt.time, err = ecowittTime(l.Timestamp); err != nil {
		return ecowittLightning{}, malformed("ecowitt", err)
	}
	if c := strings.TrimSpace(l.Count); c != "" && c != "--" {
		n, err := strconv.Atoi(c)
		if err != nil || n < 0 {
			return ecowittLightning{}, malformed("ecowitt", fmt.Errorf("count %q", l.Count))
		}
		lt.count = n
	}
	return lt, nil
}

// ecowittSentinel is the WH57 distance before any strike was heard.
const ecowittSentinel = 255

// ecowittDistance parses "<number> <unit>" into km; ok is false for the sentinels.
func ecowittDistance(s string) (km float64, ok bool, err error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "--" {
		return 0, false, nil
	}
	num, unit, _ := strings.Cut(s, " ")
	unit = strings.ToLower(strings.TrimSpace(unit))
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || !finite(v) || v < 0 {
		return 0, false, fmt.Errorf("distance %q", s)
	}
	if v == ecowittSentinel {
		return 0, false, nil
	}
	switch unit {
	case "", "km":
		km = v
	case "mi", "mile", "miles":
		km = v * 1.609344
	case "nmi":
		km = v * 1.852
	default:
		return 0, false, fmt.Errorf("distance %q: unknown unit", s)
	}
	// In miles the sentinel shows as "158.4 mi", which rounds below 255 km;
	// the WH57 itself reaches only about 40 km.
	if km > ecowittSentinel-5 {
		return 0, false, nil
	}
	return km, true, nil
}

// ecowittTime parses "MM/DD/YYYY HH:MM:SS" as UTC, tolerating the
// "HH: MM: SS" some locales emit; zero time for "--".
func ecowittTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "--" {
		return time.Time{}, nil
	}
	s = strings.ReplaceAll(s, ": ", ":")
	t, err := time.ParseInLocation("01/02/2006 15:04:05", s, time.UTC)
	if err != nil {
		return time.Time{}, fmt.Errorf("timestamp %q: %w", s, err)
	}
	return t, nil
}
