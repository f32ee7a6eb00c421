package weather

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// NWSBaseURL is the US National Weather Service API host.
const NWSBaseURL = "https://api.weather.gov"

// NWSConfig configures the NWS active-alerts source. The API requires a
// User-Agent naming the application and a contact; set HTTP.UserAgent to
// something like "stormguard (ops@example.com)".
type NWSConfig struct {
	HTTP HTTPConfig
	Site Site
}

// Validate names the first field that cannot work.
func (c NWSConfig) Validate() error {
	if err := c.Site.Validate(); err != nil {
		return fmt.Errorf("nws: %w", err)
	}
	if err := c.HTTP.validate(); err != nil {
		return fmt.Errorf("nws: %w", err)
	}
	return nil
}

// NWS polls api.weather.gov for active alerts at the site and reports those
// about thunderstorms, tornadoes or lightning. Severe thunderstorm warnings
// are issued for hail and wind, not lightning, so this is context only.
type NWS struct {
	cfg NWSConfig
}

// NewNWS checks cfg and returns the source.
func NewNWS(cfg NWSConfig) (*NWS, error) {
	cfg.HTTP = cfg.HTTP.withDefaults(NWSBaseURL)
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &NWS{cfg: cfg}, nil
}

// Name returns "nws".
func (n *NWS) Name() string { return "nws" }

// Kind returns Context.
func (n *NWS) Kind() Kind { return Context }

// Poll returns one signal per relevant active alert; none when all is quiet.
func (n *NWS) Poll(ctx context.Context) (Report, error) {
	q := url.Values{}
	// The API refuses more than 4 decimals.
	q.Set("point", coord(n.cfg.Site.Lat)+","+coord(n.cfg.Site.Lon))
	f := fetch{cfg: n.cfg.HTTP, path: "/alerts/active", query: q, accept: "application/geo+json", errDetail: nwsErrDetail}
	body, err := f.do(ctx)
	if err != nil {
		return Report{}, fmt.Errorf("nws: %w", err)
	}
	signals, err := decodeNWS(body)
	if err != nil {
		return Report{}, err
	}
	return Report{Source: n.Name(), At: time.Now(), Signals: signals}, nil
}

type nwsAlert struct {
	ID          string     `json:"id"`
	Event       string     `json:"event"`
	Status      string     `json:"status"`
	MessageType string     `json:"messageType"`
	Sent        *time.Time `json:"sent"`
	Effective   *time.Time `json:"effective"`
	Onset       *time.Time `json:"onset"`
	Expires     *time.Time `json:"expires"`
	Ends        *time.Time `json:"ends"`
	Description string     `json:"description"`
	Instruction *string    `json:"instruction"`
	References  []struct {
		Identifier string `json:"identifier"`
	} `json:"references"`
}

var (
	nwsStormEvent = regexp.MustCompile(`(?i)thunderstorm|tornado|lightning`)
	nwsLightning  = regexp.MustCompile(`(?i)lightning`)
)

// decodeNWS turns an alerts FeatureCollection into signals. It keeps actual
// alerts whose event names a thunderstorm, tornado or lightning, and other
// alerts (such as a Special Weather Statement) whose text warns of
// lightning; cancelled and superseded alerts are dropped.
func decodeNWS(body []byte) ([]Signal, error) {
	var fc struct {
		Features []struct {
			Properties nwsAlert `json:"properties"`
		} `json:"features"`
	}
	if err := json.Unmarshal(body, &fc); err != nil {
		return nil, malformed("nws", err)
	}
	superseded := map[string]bool{}
	for _, f := range fc.Features {
		for _, r := range f.Properties.References {
			superseded[r.Identifier] = true
		}
	}
	var signals []Signal
	for _, f := range fc.Features {
		a := f.Properties
		if a.Status != "Actual" || a.MessageType == "Cancel" || superseded[a.ID] {
			continue
		}
		detail := a.Event
		if !nwsStormEvent.MatchString(a.Event) {
			text := a.Description
			if a.Instruction != nil {
				text += " " + *a.Instruction
			}
			if !nwsLightning.MatchString(text) {
				continue
			}
			detail += ": lightning mentioned"
		}
		s := Signal{Source: "nws", Thunderstorm: true, Detail: detail}
		for _, t := range []*time.Time{a.Onset, a.Effective, a.Sent} {
			if t != nil {
				s.Time = t.UTC()
				break
			}
		}
		for _, t := range []*time.Time{a.Ends, a.Expires} {
			if t != nil {
				s.Until = t.UTC()
				break
			}
		}
		signals = append(signals, s)
	}
	return signals, nil
}

// nwsErrDetail reads an RFC 7807 problem: "title: detail".
func nwsErrDetail(body []byte) string {
	var p struct {
		Title  string `json:"title"`
		Detail string `json:"detail"`
	}
	if json.Unmarshal(body, &p) != nil || (p.Title == "" && p.Detail == "") {
		return clip(string(body))
	}
	return strings.Trim(p.Title+": "+p.Detail, ": ")
}
