package main

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"

	"github.com/stormguard/stormguard/cmd/internal/cli"
	"github.com/stormguard/stormguard/heartbeat"
	"github.com/stormguard/stormguard/internal/guard"
	"github.com/stormguard/stormguard/keys"
	"github.com/stormguard/stormguard/storm"
	"github.com/stormguard/stormguard/weather"
	"github.com/stormguard/stormguard/wire"
)

const summary = `stormguard watches lightning sources around one site. When a strike comes
inside the shutdown radius it publishes SHUTDOWN (JSON, with a deadline the
hosts count down to themselves) and the reason, e.g.
  lightning 9.2 km WNW at 19:58Z (blitzortung); powering down at 20:03Z unless cancelled on CANCEL
Anyone can publish to CANCEL to call the countdown off. Its state is retained
on stormguard/state/stormguard, its events go to stormguard/event/stormguard,
and it resumes after a restart from the state under -state-dir.

The site, the storm rules and the sources are config-file sections (site:,
storm:, sources:); examples/stormguard.yaml explains every key.`

// settings is everything stormguard reads from flags, environment and file.
type settings struct {
	cli.Conn  `mapstructure:",squash"`
	Name      string           `mapstructure:"name"`
	StateDir  string           `mapstructure:"state-dir"`
	SignKey   string           `mapstructure:"sign-key"`
	Expires   time.Duration    `mapstructure:"expires"`
	Tick      time.Duration    `mapstructure:"tick"`
	Site      map[string]any   `mapstructure:"site"`
	Storm     map[string]any   `mapstructure:"storm"`
	Sources   []map[string]any `mapstructure:"sources"`
	Heartbeat time.Duration    `mapstructure:"heartbeat"`
	// The status page, Home Assistant and notifications (reach.go).
	HTTP          string         `mapstructure:"http"`
	Status        map[string]any `mapstructure:"status"`
	HomeAssistant map[string]any `mapstructure:"homeassistant"`
	Notify        map[string]any `mapstructure:"notify"`
	// Waking the fleet after the storm (wake.go).
	Wake map[string]any `mapstructure:"wake"`
}

// config is a loaded, checked configuration, ready to run.
type config struct {
	s       settings
	site    weather.Site
	storm   storm.Config
	sources []sourceSpec
	signKey ed25519.PrivateKey
	topics  wire.Topics
	reach   reach
	wake    guard.WakeConfig
}

// newLoader defines the flags of run and check.
func newLoader(program string, out io.Writer) *cli.Loader {
	l := cli.NewLoader(program, summary, "[flags]", "STORMGUARD", out)
	l.Keys = []string{"site", "storm", "sources", "status", "homeassistant", "notify", "wake"}
	l.EnvNames = []string{"STORMGUARD_XWEATHER_CLIENT_SECRET", "STORMGUARD_OWM_API_KEY"}
	fs := l.FS
	cli.AddConnFlags(fs, 1)
	host, _ := os.Hostname()
	fs.String("name", host, "this host's `name`, in the issuer (stormguard@NAME) and the MQTT client id")
	fs.String("state-dir", "/var/lib/stormguard", "`directory` for the saved state (phase, deadline, all-clear timer)")
	fs.String("sign-key", "", "sign every SHUTDOWN with this Ed25519 private key `file` (shutdownall -keygen makes one)")
	fs.Duration("expires", 15*time.Minute, "a SHUTDOWN not carried out by its deadline plus this is void")
	fs.Duration("tick", time.Second, "how often deadlines, the all clear and silent sources are checked")
	fs.String("http", "", "serve the status page and /metrics on this `address`, e.g. 127.0.0.1:8080; off when empty")
	fs.Duration("heartbeat", heartbeat.DefaultInterval, "publish a heartbeat on stormguard/heartbeat/stormguard this `often`; 0 turns it off")
	return l
}

// load reads and checks the settings; every error names the key at fault.
func load(l *cli.Loader, args []string) (config, error) {
	var s settings
	rest, err := l.Load(args, &s)
	if err != nil {
		return config{}, err
	}
	if len(rest) > 0 {
		return config{}, fmt.Errorf("unexpected argument %q", rest[0])
	}
	if err := s.Conn.Validate(); err != nil {
		return config{}, err
	}
	c := config{s: s, topics: s.Topics()}
	if c.site, err = loadSite(s.Site); err != nil {
		return config{}, err
	}
	if c.storm, err = loadStorm(s.Storm, c.topics); err != nil {
		return config{}, err
	}
	switch {
	case s.StateDir == "":
		return config{}, errors.New("state-dir: empty")
	case s.Expires <= 0:
		return config{}, errors.New("expires: must be positive")
	case s.Tick <= 0:
		return config{}, errors.New("tick: must be positive")
	case heartbeat.Config{Interval: s.Heartbeat}.Validate() != nil:
		return config{}, heartbeat.Config{Interval: s.Heartbeat}.Validate()
	case wire.ValidName(s.Name) != nil:
		return config{}, fmt.Errorf("name: %w", wire.ValidName(s.Name))
	}
	if s.SignKey != "" {
		if c.signKey, err = keys.LoadPrivate(s.SignKey); err != nil {
			return config{}, fmt.Errorf("sign-key: %w", err)
		}
	}
	if c.wake, err = loadWake(s.Wake); err != nil {
		return config{}, err
	}
	if c.sources, err = loadSources(s.Sources, c); err != nil {
		return config{}, err
	}
	c.storm.TimeScale = replaySpeed(c.sources)
	for i, name := range c.storm.ContextTriggers {
		if !slices.ContainsFunc(c.sources, func(sp sourceSpec) bool { return sp.name == name }) {
			return config{}, fmt.Errorf("storm.context-triggers[%d]: no source named %q", i, name)
		}
	}
	if c.reach, err = loadReach(s, c.topics); err != nil {
		return config{}, err
	}
	return c, nil
}

func loadSite(m map[string]any) (weather.Site, error) {
	var raw struct {
		Lat *float64 `mapstructure:"lat"`
		Lon *float64 `mapstructure:"lon"`
	}
	if err := decodeStrict("site", m, &raw); err != nil {
		return weather.Site{}, err
	}
	switch {
	case raw.Lat == nil:
		return weather.Site{}, errors.New("site.lat: required (the site's latitude in degrees, north positive)")
	case raw.Lon == nil:
		return weather.Site{}, errors.New("site.lon: required (the site's longitude in degrees, east positive)")
	case *raw.Lat < -90 || *raw.Lat > 90:
		return weather.Site{}, fmt.Errorf("site.lat: %v is not between -90 and 90", *raw.Lat)
	case *raw.Lon < -180 || *raw.Lon > 180:
		return weather.Site{}, fmt.Errorf("site.lon: %v is not between -180 and 180", *raw.Lon)
	}
	return weather.Site{Lat: *raw.Lat, Lon: *raw.Lon}, nil
}

// stormKeys maps the engine's field names to config keys, so its
// validation errors name the key a user wrote.
var stormKeys = map[string]string{
	"ShutdownRadiusKM": "shutdown-radius-km", "WatchRadiusKM": "watch-radius-km", "Grace": "grace",
	"AllClear": "all-clear", "HoldAfterCancel": "hold-after-cancel", "ContextTriggers": "context-triggers",
	"SilentAfterBySource": "silent-after-by-source", "SilentAfter": "silent-after", "FailAfter": "fail-after",
	"FutureTolerance": "future-tolerance",
	"BlindPolicy":     "blind-policy",
	"ShutdownTime":    "shutdown-time", "PredictMargin": "predict-margin", "ConfirmFor": "confirm-for",
	"TrackRadiusKM": "track-radius-km", "CloseRadiusKM": "close-radius-km",
}

// replaySpeed is the speed every source replays at, when all are replays
// at one speed (a drill): the tracker then runs on the recording's clock,
// so a cell's speed and its windows keep their meaning. Otherwise 1.
func replaySpeed(sources []sourceSpec) float64 {
	speed := 0.0
	for _, sp := range sources {
		if sp.speed == 0 || (speed != 0 && sp.speed != speed) {
			return 1
		}
		speed = sp.speed
	}
	if speed == 0 {
		return 1
	}
	return speed
}

func loadStorm(m map[string]any, t wire.Topics) (storm.Config, error) {
	d := storm.DefaultConfig()
	raw := struct {
		ShutdownRadiusKM    float64                  `mapstructure:"shutdown-radius-km"`
		WatchRadiusKM       float64                  `mapstructure:"watch-radius-km"`
		Grace               time.Duration            `mapstructure:"grace"`
		AllClear            time.Duration            `mapstructure:"all-clear"`
		HoldAfterCancel     time.Duration            `mapstructure:"hold-after-cancel"`
		ContextTriggers     []string                 `mapstructure:"context-triggers"`
		FutureTolerance     time.Duration            `mapstructure:"future-tolerance"`
		SilentAfter         time.Duration            `mapstructure:"silent-after"`
		SilentAfterBySource map[string]time.Duration `mapstructure:"silent-after-by-source"`
		FailAfter           int                      `mapstructure:"fail-after"`
		BlindPolicy         string                   `mapstructure:"blind-policy"`
		Predict             bool                     `mapstructure:"predict"`
		ShutdownTime        time.Duration            `mapstructure:"shutdown-time"`
		PredictMargin       time.Duration            `mapstructure:"predict-margin"`
		ConfirmFor          time.Duration            `mapstructure:"confirm-for"`
		TrackRadiusKM       float64                  `mapstructure:"track-radius-km"`
		CloseRadiusKM       float64                  `mapstructure:"close-radius-km"`
	}{d.ShutdownRadiusKM, d.WatchRadiusKM, d.Grace, d.AllClear, d.HoldAfterCancel, nil, d.FutureTolerance, d.SilentAfter, nil, d.FailAfter, string(d.BlindPolicy),
		d.Predict, d.ShutdownTime, d.PredictMargin, d.ConfirmFor, d.TrackRadiusKM, d.CloseRadiusKM}
	if err := decodeStrict("storm", m, &raw); err != nil {
		return storm.Config{}, err
	}
	if _, set := m["close-radius-km"]; raw.CloseRadiusKM > raw.ShutdownRadiusKM {
		if set {
			return storm.Config{}, fmt.Errorf("storm.close-radius-km: %v is beyond shutdown-radius-km (%v); it must be between 0 and that", raw.CloseRadiusKM, raw.ShutdownRadiusKM)
		}
		// The default close radius never exceeds a smaller shutdown radius.
		raw.CloseRadiusKM = raw.ShutdownRadiusKM
	}
	c := storm.Config{
		ShutdownRadiusKM: raw.ShutdownRadiusKM, WatchRadiusKM: raw.WatchRadiusKM, Grace: raw.Grace,
		AllClear: raw.AllClear, HoldAfterCancel: raw.HoldAfterCancel, ContextTriggers: raw.ContextTriggers,
		FutureTolerance: raw.FutureTolerance, SilentAfter: raw.SilentAfter, SilentAfterBySource: raw.SilentAfterBySource, FailAfter: raw.FailAfter,
		BlindPolicy: storm.BlindPolicy(raw.BlindPolicy), CancelTopic: t.Command(wire.Cancel),
		Predict: raw.Predict, ShutdownTime: raw.ShutdownTime, PredictMargin: raw.PredictMargin, ConfirmFor: raw.ConfirmFor,
		TrackRadiusKM: raw.TrackRadiusKM, CloseRadiusKM: raw.CloseRadiusKM, Track: d.Track,
	}
	if err := c.Validate(); err != nil {
		msg := err.Error()
		fields := make([]string, 0, len(stormKeys))
		for f := range stormKeys {
			fields = append(fields, f)
		}
		// Longest first, so SilentAfterBySource wins over SilentAfter.
		sort.Slice(fields, func(i, j int) bool { return len(fields[i]) > len(fields[j]) })
		for _, f := range fields {
			if rest, ok := strings.CutPrefix(msg, f); ok {
				return storm.Config{}, fmt.Errorf("storm.%s:%s", stormKeys[f], rest)
			}
		}
		return storm.Config{}, fmt.Errorf("storm: %w", err)
	}
	return c, nil
}

// decodeStrict decodes one config section; a key the section does not
// have is an error naming it, so a typo is never silently ignored.
func decodeStrict(section string, in map[string]any, out any) error {
	var md mapstructure.Metadata
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		Metadata: &md, WeaklyTypedInput: true, Result: out,
		DecodeHook: mapstructure.StringToTimeDurationHookFunc(),
	})
	if err != nil {
		return fmt.Errorf("%s: %w", section, err)
	}
	if err := dec.Decode(in); err != nil {
		return decodeError(section, err)
	}
	if len(md.Unused) > 0 {
		sort.Strings(md.Unused)
		return fmt.Errorf("%s.%s: unknown key%s", section, md.Unused[0], hint(md.Unused[0]))
	}
	return nil
}

// hint steers a secret written into the file towards a file or the environment.
func hint(key string) string {
	switch key {
	case "client-secret", "api-key", "password":
		return fmt.Sprintf(" (secrets are read from %s-file or the environment, never the config file)", key)
	}
	return ""
}

// decodeError turns mapstructure's "decoding failed ... 'grace' time:
// invalid duration" into "storm.grace: time: invalid duration", one line.
func decodeError(section string, err error) error {
	msg := err.Error()
	if _, rest, ok := strings.Cut(msg, "error(s):"); ok {
		msg = strings.TrimSpace(rest)
	}
	msg, _, _ = strings.Cut(msg, "\n")
	msg = strings.TrimPrefix(strings.TrimSpace(msg), "* ")
	if strings.HasPrefix(msg, "'") {
		if key, rest, ok := strings.Cut(msg[1:], "'"); ok {
			return fmt.Errorf("%s.%s:%s", section, key, rest)
		}
	}
	return fmt.Errorf("%s: %s", section, msg)
}
