package weather

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"
)

// OpenMeteoBaseURL is the public Open-Meteo forecast host.
const OpenMeteoBaseURL = "https://api.open-meteo.com"

// OpenMeteoConfig configures the Open-Meteo forecast source.
type OpenMeteoConfig struct {
	HTTP HTTPConfig
	Site Site
	// Slots is how many 15-minute forecast slots to look ahead; default 8 (2 h).
	Slots int
	// APIKey is only for Open-Meteo's commercial servers; empty for the free API.
	APIKey string
}

// Validate names the first field that cannot work.
func (c OpenMeteoConfig) Validate() error {
	if err := c.Site.Validate(); err != nil {
		return fmt.Errorf("openmeteo: %w", err)
	}
	if err := c.HTTP.validate(); err != nil {
		return fmt.Errorf("openmeteo: %w", err)
	}
	if c.Slots < 1 || c.Slots > 96 {
		return fmt.Errorf("openmeteo: Slots %d is outside 1..96", c.Slots)
	}
	return nil
}

// OpenMeteo polls the Open-Meteo forecast for thunderstorm weather codes
// (WMO 95, 96, 99) now and in the coming quarter hours. The codes are a
// model diagnosis, not an observation, so the source has Kind Context.
type OpenMeteo struct {
	cfg OpenMeteoConfig
}

// NewOpenMeteo checks cfg and returns the source.
func NewOpenMeteo(cfg OpenMeteoConfig) (*OpenMeteo, error) {
	cfg.HTTP = cfg.HTTP.withDefaults(OpenMeteoBaseURL)
	if cfg.Slots == 0 {
		cfg.Slots = 8
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &OpenMeteo{cfg: cfg}, nil
}

// Name returns "openmeteo".
func (o *OpenMeteo) Name() string { return "openmeteo" }

// Kind returns Context.
func (o *OpenMeteo) Kind() Kind { return Context }

// Poll fetches the current and 15-minutely weather codes. It returns one
// signal for the current conditions and, when a thunderstorm is forecast in
// the next slots, one for the forecast.
func (o *OpenMeteo) Poll(ctx context.Context) (Report, error) {
	c := o.cfg
	q := url.Values{}
	q.Set("latitude", coord(c.Site.Lat))
	q.Set("longitude", coord(c.Site.Lon))
	q.Set("current", "weather_code")
	q.Set("minutely_15", "weather_code")
	q.Set("forecast_minutely_15", strconv.Itoa(c.Slots))
	q.Set("timezone", "GMT")
	if c.APIKey != "" {
		q.Set("apikey", c.APIKey)
	}
	f := fetch{cfg: c.HTTP, path: "/v1/forecast", query: q, secrets: []string{c.APIKey}, errDetail: openMeteoErrDetail}
	body, err := f.do(ctx)
	if err != nil {
		return Report{}, fmt.Errorf("openmeteo: %w", err)
	}
	signals, err := decodeOpenMeteo(body)
	if err != nil {
		return Report{}, err
	}
	return Report{Source: o.Name(), At: time.Now(), Signals: signals}, nil
}

type openMeteoBody struct {
	Error     bool   `json:"error"`
	Reason    string `json:"reason"`
	UTCOffset int    `json:"utc_offset_seconds"`
	Current   *struct {
		Time        string `json:"time"`
		Interval    int    `json:"interval"`
		WeatherCode *int   `json:"weather_code"`
	} `json:"current"`
	Minutely15 *struct {
		Time        []string `json:"time"`
		WeatherCode []*int   `json:"weather_code"`
	} `json:"minutely_15"`
}

// thunderCode reports whether a WMO weather code is a thunderstorm.
func thunderCode(c int) bool { return c == 95 || c == 96 || c == 99 }

// decodeOpenMeteo turns a forecast body into signals.
func decodeOpenMeteo(body []byte) ([]Signal, error) {
	var b openMeteoBody
	if err := json.Unmarshal(body, &b); err != nil {
		return nil, malformed("openmeteo", err)
	}
	if b.Error {
		return nil, &APIError{Source: "openmeteo", Message: b.Reason}
	}
	if b.Current == nil || b.Current.WeatherCode == nil {
		return nil, malformed("openmeteo", errors.New("no current weather_code"))
	}
	offset := time.Duration(b.UTCOffset) * time.Second
	parse := func(s string) (time.Time, error) {
		t, err := time.ParseInLocation("2006-01-02T15:04", s, time.UTC)
		if err != nil {
			return time.Time{}, malformed("openmeteo", err)
		}
		return t.Add(-offset), nil
	}
	now, err := parse(b.Current.Time)
	if err != nil {
		return nil, err
	}
	interval := time.Duration(b.Current.Interval) * time.Second
	if interval <= 0 {
		interval = 15 * time.Minute
	}
	code := *b.Current.WeatherCode
	cur := Signal{Time: now, Source: "openmeteo", Thunderstorm: thunderCode(code), Detail: fmt.Sprintf("weather code %d now", code)}
	if cur.Thunderstorm {
		cur.Until = now.Add(interval)
	}
	signals := []Signal{cur}

	if m := b.Minutely15; m != nil {
		var fc Signal
		maxCode := 0
		for i := 0; i < len(m.Time) && i < len(m.WeatherCode); i++ {
			if m.WeatherCode[i] == nil || !thunderCode(*m.WeatherCode[i]) {
				continue
			}
			at, err := parse(m.Time[i])
			if err != nil {
				return nil, err
			}
			if fc.Time.IsZero() {
				fc = Signal{Time: at, Source: "openmeteo", Thunderstorm: true}
			}
			fc.Until = at.Add(15 * time.Minute)
			maxCode = max(maxCode, *m.WeatherCode[i])
		}
		if fc.Thunderstorm {
			fc.Detail = fmt.Sprintf("weather code %d forecast %s to %s", maxCode, fc.Time.Format("15:04Z"), fc.Until.Format("15:04Z"))
			signals = append(signals, fc)
		}
	}
	return signals, nil
}

// openMeteoErrDetail reads the reason from {"error":true,"reason":...}.
func openMeteoErrDetail(body []byte) string {
	var b openMeteoBody
	if json.Unmarshal(body, &b) != nil || b.Reason == "" {
		return clip(string(body))
	}
	return b.Reason
}
