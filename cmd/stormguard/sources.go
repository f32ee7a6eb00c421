package main

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/stormguard/stormguard/internal/guard"
	"github.com/stormguard/stormguard/mqtt"
	"github.com/stormguard/stormguard/weather"
)

// sourceSpec is one configured source, built but not started. client, when
// set, is the MQTT connection the source subscribes through.
type sourceSpec struct {
	name, typ string
	source    weather.Source
	interval  time.Duration
	watch     time.Duration
	client    *mqtt.Client
	// speed is a replay's playback speed (1 when unset); 0 for live sources.
	speed float64
}

// common holds the keys every source has.
type common struct {
	Type          string        `mapstructure:"type"`
	Name          string        `mapstructure:"name"`
	Interval      time.Duration `mapstructure:"interval"`
	WatchInterval time.Duration `mapstructure:"watch-interval"`
	Timeout       time.Duration `mapstructure:"timeout"`
	BaseURL       string        `mapstructure:"base-url"`
	UserAgent     string        `mapstructure:"user-agent"`
}

func (c common) http() weather.HTTPConfig {
	return weather.HTTPConfig{BaseURL: c.BaseURL, Timeout: c.Timeout, UserAgent: c.UserAgent}
}

// broker holds the keys of a source that reads from an MQTT broker.
type broker struct {
	Broker       string `mapstructure:"broker"`
	User         string `mapstructure:"user"`
	PasswordFile string `mapstructure:"password-file"`
	ClientID     string `mapstructure:"client-id"`
}

// intervals are the default normal and watch polling intervals per type:
// gentle on free services, faster where a storm is being watched.
var intervals = map[string][2]time.Duration{
	"xweather":       {2 * time.Minute, time.Minute},
	"ecowitt":        {time.Minute, 30 * time.Second},
	"openmeteo":      {15 * time.Minute, 5 * time.Minute},
	"openweathermap": {10 * time.Minute, 5 * time.Minute},
	"nws":            {5 * time.Minute, 2 * time.Minute},
}

func loadSources(list []map[string]any, c config) ([]sourceSpec, error) {
	if len(list) == 0 {
		return nil, errors.New("sources: none configured (add a sources: list to the -config file; examples/stormguard.yaml shows each type)")
	}
	var out []sourceSpec
	names := map[string]bool{}
	for i, m := range list {
		typ, _ := m["type"].(string)
		key := fmt.Sprintf("sources[%d]", i)
		sp, err := buildSource(key, typ, m, c)
		if err != nil {
			return nil, err
		}
		if names[sp.name] {
			return nil, fmt.Errorf("%s.name: %q is already used by another source", key, sp.name)
		}
		names[sp.name] = true
		out = append(out, sp)
	}
	return out, nil
}

func buildSource(key, typ string, m map[string]any, c config) (sourceSpec, error) {
	var cm common
	var src weather.Source
	var speed float64
	var client *mqtt.Client
	var err error
	site := c.site
	switch typ {
	case "blitzortung":
		var s struct {
			common   `mapstructure:",squash"`
			broker   `mapstructure:",squash"`
			RadiusKM float64 `mapstructure:"radius-km"`
			Prefix   string  `mapstructure:"topic-prefix"`
		}
		if err = decodeStrict(key, m, &s); err != nil {
			return sourceSpec{}, err
		}
		if s.Broker == "" {
			return sourceSpec{}, fmt.Errorf("%s.broker: required: the strike feed's broker URL (no default; see the terms in docs/stormguard.md)", key)
		}
		if s.RadiusKM == 0 {
			s.RadiusKM = c.storm.WatchRadiusKM
		}
		cm = s.common
		if client, err = sourceClient(key, s.broker, s.nameOr(typ), c); err == nil {
			src, err = weather.NewBlitzortung(weather.BlitzortungConfig{Subscriber: client, Site: site, RadiusKM: s.RadiusKM, TopicPrefix: s.Prefix})
		}
	case "mqtt-sensor":
		var s struct {
			common        `mapstructure:",squash"`
			broker        `mapstructure:",squash"`
			Node          string        `mapstructure:"node"`
			DistanceTopic string        `mapstructure:"distance-topic"`
			StatusTopic   string        `mapstructure:"status-topic"`
			OutOfRangeKM  float64       `mapstructure:"out-of-range-km"`
			SettleTime    time.Duration `mapstructure:"settle-time"`
		}
		if err = decodeStrict(key, m, &s); err != nil {
			return sourceSpec{}, err
		}
		cm = s.common
		if client, err = sourceClient(key, s.broker, s.nameOr(typ), c); err == nil {
			src, err = weather.NewMQTTSensor(weather.MQTTSensorConfig{Subscriber: client, Node: s.Node, DistanceTopic: s.DistanceTopic,
				StatusTopic: s.StatusTopic, OutOfRangeKM: s.OutOfRangeKM, SettleTime: s.SettleTime})
		}
	case "xweather":
		var s struct {
			common           `mapstructure:",squash"`
			ClientID         string  `mapstructure:"client-id"`
			ClientSecretFile string  `mapstructure:"client-secret-file"`
			RadiusKM         float64 `mapstructure:"radius-km"`
			Filter           string  `mapstructure:"filter"`
			Limit            int     `mapstructure:"limit"`
			Action           string  `mapstructure:"action"`
		}
		if err = decodeStrict(key, m, &s); err != nil {
			return sourceSpec{}, err
		}
		cm = s.common
		if s.ClientID == "" {
			return sourceSpec{}, fmt.Errorf("%s.client-id: required (the Xweather API client id)", key)
		}
		secret, err := secret(key, "client-secret-file", s.ClientSecretFile, "STORMGUARD_XWEATHER_CLIENT_SECRET")
		if err != nil {
			return sourceSpec{}, err
		}
		src, err = weather.NewXweather(weather.XweatherConfig{HTTP: cm.http(), Site: site, ClientID: s.ClientID, ClientSecret: secret,
			RadiusKM: s.RadiusKM, Filter: s.Filter, Limit: s.Limit, Action: s.Action})
		if err != nil {
			return sourceSpec{}, fmt.Errorf("%s: %w", key, err)
		}
	case "tempest":
		var s struct {
			common `mapstructure:",squash"`
			Addr   string `mapstructure:"addr"`
			Serial string `mapstructure:"serial"`
		}
		if err = decodeStrict(key, m, &s); err != nil {
			return sourceSpec{}, err
		}
		cm = s.common
		src, err = weather.NewTempest(weather.TempestConfig{Addr: s.Addr, Serial: s.Serial})
	case "ecowitt":
		var s struct {
			common `mapstructure:",squash"`
			URL    string        `mapstructure:"url"`
			MaxAge time.Duration `mapstructure:"max-age"`
		}
		if err = decodeStrict(key, m, &s); err != nil {
			return sourceSpec{}, err
		}
		cm = s.common
		if s.URL == "" {
			return sourceSpec{}, fmt.Errorf("%s.url: required (the gateway, e.g. http://192.168.1.20)", key)
		}
		h := cm.http()
		h.BaseURL = s.URL
		src, err = weather.NewEcowitt(weather.EcowittConfig{HTTP: h, MaxAge: s.MaxAge})
	case "openmeteo":
		var s struct {
			common     `mapstructure:",squash"`
			Slots      int    `mapstructure:"slots"`
			APIKeyFile string `mapstructure:"api-key-file"`
		}
		if err = decodeStrict(key, m, &s); err != nil {
			return sourceSpec{}, err
		}
		cm = s.common
		k, err := optionalSecret(key, "api-key-file", s.APIKeyFile)
		if err != nil {
			return sourceSpec{}, err
		}
		src, err = weather.NewOpenMeteo(weather.OpenMeteoConfig{HTTP: cm.http(), Site: site, Slots: s.Slots, APIKey: k})
		if err != nil {
			return sourceSpec{}, fmt.Errorf("%s: %w", key, err)
		}
	case "openweathermap":
		var s struct {
			common     `mapstructure:",squash"`
			APIKeyFile string `mapstructure:"api-key-file"`
		}
		if err = decodeStrict(key, m, &s); err != nil {
			return sourceSpec{}, err
		}
		cm = s.common
		k, err := secret(key, "api-key-file", s.APIKeyFile, "STORMGUARD_OWM_API_KEY")
		if err != nil {
			return sourceSpec{}, err
		}
		src, err = weather.NewOpenWeatherMap(weather.OpenWeatherMapConfig{HTTP: cm.http(), Site: site, APIKey: k})
		if err != nil {
			return sourceSpec{}, fmt.Errorf("%s: %w", key, err)
		}
	case "nws":
		var s struct {
			common `mapstructure:",squash"`
		}
		if err = decodeStrict(key, m, &s); err != nil {
			return sourceSpec{}, err
		}
		cm = s.common
		src, err = weather.NewNWS(weather.NWSConfig{HTTP: cm.http(), Site: site})
	case "replay":
		var s struct {
			common   `mapstructure:",squash"`
			Path     string  `mapstructure:"path"`
			Speed    float64 `mapstructure:"speed"`
			RadiusKM float64 `mapstructure:"radius-km"`
		}
		if err = decodeStrict(key, m, &s); err != nil {
			return sourceSpec{}, err
		}
		cm = s.common
		if s.Path == "" {
			return sourceSpec{}, fmt.Errorf("%s.path: required (a file of recorded strikes)", key)
		}
		src, err = weather.NewReplay(weather.ReplayConfig{Path: s.Path, Site: site, Speed: s.Speed, RadiusKM: s.RadiusKM})
		speed = cmp.Or(s.Speed, 1)
	case "":
		return sourceSpec{}, fmt.Errorf("%s.type: required (%s)", key, types)
	default:
		return sourceSpec{}, fmt.Errorf("%s.type: %q is not one of %s", key, typ, types)
	}
	if err != nil {
		return sourceSpec{}, fmt.Errorf("%s: %w", key, err)
	}
	name := cm.nameOr(typ)
	sp := sourceSpec{name: name, typ: typ, source: guard.Rename(src, name), client: client, interval: cm.Interval, watch: cm.WatchInterval, speed: speed}
	if _, polled := src.(weather.Poller); polled {
		d := intervals[typ]
		if sp.interval == 0 {
			sp.interval = d[0]
		}
		if sp.watch == 0 {
			sp.watch = min(d[1], sp.interval)
		}
		if sp.interval < 0 || sp.watch < 0 {
			return sourceSpec{}, fmt.Errorf("%s.interval: must be positive", key)
		}
	} else if cm.Interval != 0 || cm.WatchInterval != 0 {
		return sourceSpec{}, fmt.Errorf("%s.interval: %s streams; it has no polling interval", key, typ)
	}
	return sp, nil
}

const types = "blitzortung, xweather, tempest, ecowitt, mqtt-sensor, openmeteo, openweathermap, nws or replay"

func (c common) nameOr(typ string) string {
	if c.Name != "" {
		return c.Name
	}
	return typ
}

// sourceClient connects a streaming source to its broker: the one it names,
// or the fleet broker. It is started by the caller.
func sourceClient(key string, b broker, name string, c config) (*mqtt.Client, error) {
	cfg, err := c.s.Conn.MQTT("stormguard-" + c.s.Name + "-" + name)
	if err != nil {
		return nil, err
	}
	if b.Broker != "" {
		cfg.Brokers, cfg.TLS, cfg.Username, cfg.Password = []string{b.Broker}, nil, b.User, ""
	}
	if b.PasswordFile != "" {
		p, err := readSecretFile(b.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("%s.password-file: %w", key, err)
		}
		cfg.Password = p
	}
	if b.ClientID != "" {
		cfg.ClientID = b.ClientID
	}
	cfg.CleanSession = true
	// A feed's handlers only decode and hand over, and an availability
	// topic's "offline" must not overtake the "online" before it.
	cfg.Ordered = true
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%s.broker: %w", key, err)
	}
	return mqtt.New(cfg)
}

// secret reads a required secret from its file key or the environment.
func secret(key, fileKey, path, env string) (string, error) {
	if path == "" {
		if v := os.Getenv(env); v != "" {
			return v, nil
		}
		return "", fmt.Errorf("%s.%s: required (or set %s)", key, fileKey, env)
	}
	return optionalSecret(key, fileKey, path)
}

func optionalSecret(key, fileKey, path string) (string, error) {
	if path == "" {
		return "", nil
	}
	v, err := readSecretFile(path)
	if err != nil {
		return "", fmt.Errorf("%s.%s: %w", key, fileKey, err)
	}
	return v, nil
}

// readSecretFile returns the first line of a file; the value is never logged.
func readSecretFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	line = strings.TrimSpace(line)
	if line == "" {
		return "", fmt.Errorf("%s: empty", path)
	}
	return line, nil
}
