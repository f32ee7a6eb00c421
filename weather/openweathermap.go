package weather

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// OpenWeatherMapBaseURL is the public OpenWeatherMap API host.
const OpenWeatherMapBaseURL = "https://api.openweathermap.org"

// OpenWeatherMapConfig configures the OpenWeatherMap One Call 3.0 source.
type OpenWeatherMapConfig struct {
	HTTP HTTPConfig
	Site Site
	// APIKey is the appid; required, and never shown in an error.
	APIKey string
}

// Validate names the first field that cannot work.
func (c OpenWeatherMapConfig) Validate() error {
	if err := c.Site.Validate(); err != nil {
		return fmt.Errorf("openweathermap: %w", err)
	}
	if err := c.HTTP.validate(); err != nil {
		return fmt.Errorf("openweathermap: %w", err)
	}
	if c.APIKey == "" {
		return errors.New("openweathermap: APIKey is required")
	}
	return nil
}

// OpenWeatherMap polls One Call 3.0 for a thunderstorm in the current
// conditions (weather id 2xx) and for thunderstorm alerts.
type OpenWeatherMap struct {
	cfg OpenWeatherMapConfig
}

// NewOpenWeatherMap checks cfg and returns the source.
func NewOpenWeatherMap(cfg OpenWeatherMapConfig) (*OpenWeatherMap, error) {
	cfg.HTTP = cfg.HTTP.withDefaults(OpenWeatherMapBaseURL)
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &OpenWeatherMap{cfg: cfg}, nil
}

// Name returns "openweathermap".
func (o *OpenWeatherMap) Name() string { return "openweathermap" }

// Kind returns Context.
func (o *OpenWeatherMap) Kind() Kind { return Context }

// Poll returns one signal for the current conditions and one per
// thunderstorm alert.
func (o *OpenWeatherMap) Poll(ctx context.Context) (Report, error) {
	c := o.cfg
	q := url.Values{}
	q.Set("lat", coord(c.Site.Lat))
	q.Set("lon", coord(c.Site.Lon))
	q.Set("appid", c.APIKey)
	q.Set("units", "metric")
	q.Set("exclude", "minutely,daily")
	f := fetch{cfg: c.HTTP, path: "/data/3.0/onecall", query: q, secrets: []string{c.APIKey}, errDetail: owmErrDetail}
	body, err := f.do(ctx)
	if err != nil {
		return Report{}, fmt.Errorf("openweathermap: %w", err)
	}
	signals, err := decodeOWM(body)
	if err != nil {
		var ae *APIError
		if errors.As(err, &ae) {
			ae.Message = f.redact(ae.Message)
		}
		return Report{}, err
	}
	return Report{Source: o.Name(), At: time.Now(), Signals: signals}, nil
}

type owmBody struct {
	Cod     json.RawMessage `json:"cod"`
	Message string          `json:"message"`
	Current *struct {
		Dt      int64 `json:"dt"`
		Weather []struct {
			ID          int    `json:"id"`
			Description string `json:"description"`
		} `json:"weather"`
	} `json:"current"`
	Alerts []struct {
		SenderName string `json:"sender_name"`
		Event      string `json:"event"`
		Start      int64  `json:"start"`
		End        int64  `json:"end"`
	} `json:"alerts"`
}

// owmCode returns the error code, which OWM sends as a number or a string.
func owmCode(raw json.RawMessage) string {
	return string(bytes.Trim(bytes.TrimSpace(raw), `"`))
}

// decodeOWM turns a One Call body into signals.
func decodeOWM(body []byte) ([]Signal, error) {
	var b owmBody
	if err := json.Unmarshal(body, &b); err != nil {
		return nil, malformed("openweathermap", err)
	}
	if code := owmCode(b.Cod); code != "" && code != "200" {
		return nil, &APIError{Source: "openweathermap", Code: code, Message: b.Message}
	}
	if b.Current == nil {
		return nil, malformed("openweathermap", errors.New("no current conditions"))
	}
	now := time.Unix(b.Current.Dt, 0).UTC()
	cur := Signal{Time: now, Source: "openweathermap"}
	var descs []string
	for _, w := range b.Current.Weather {
		if w.ID >= 200 && w.ID < 300 {
			cur.Thunderstorm = true
		}
		descs = append(descs, fmt.Sprintf("%s (%d)", w.Description, w.ID))
	}
	cur.Detail = strings.Join(descs, ", ")
	signals := []Signal{cur}
	for _, a := range b.Alerts {
		if !strings.Contains(strings.ToLower(a.Event), "thunderstorm") {
			continue
		}
		s := Signal{Time: time.Unix(a.Start, 0).UTC(), Source: "openweathermap", Thunderstorm: true, Detail: a.Event}
		if a.End > 0 {
			s.Until = time.Unix(a.End, 0).UTC()
		}
		if a.SenderName != "" {
			s.Detail += " (" + a.SenderName + ")"
		}
		signals = append(signals, s)
	}
	return signals, nil
}

// owmErrDetail reads {"cod":..., "message":...}.
func owmErrDetail(body []byte) string {
	var b owmBody
	if json.Unmarshal(body, &b) != nil || b.Message == "" {
		return clip(string(body))
	}
	return b.Message
}
