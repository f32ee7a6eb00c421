package weather

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"
)

// XweatherBaseURL is the public Xweather API host.
const XweatherBaseURL = "https://data.api.xweather.com"

// XweatherConfig configures the Xweather lightning source.
type XweatherConfig struct {
	HTTP HTTPConfig
	Site Site
	// ClientID and ClientSecret are the API credentials; both are required.
	// The secret never appears in an error.
	ClientID     string
	ClientSecret string
	// RadiusKM is the search radius; default 50, at most 100 on the standard plan.
	RadiusKM float64
	// Filter is the pulse filter; default "cg" (cloud-to-ground).
	Filter string
	// Limit is the most strikes per poll; default 100, at most 1000.
	Limit int
	// Action is "closest" (the default; needs the Lightning Enterprise
	// add-on) or "point", which asks /lightning/{lat},{lon} as the standard
	// plan allows.
	Action string
}

// withDefaults fills the zero fields.
func (c XweatherConfig) withDefaults() XweatherConfig {
	c.HTTP = c.HTTP.withDefaults(XweatherBaseURL)
	if c.RadiusKM == 0 {
		c.RadiusKM = 50
	}
	if c.Filter == "" {
		c.Filter = "cg"
	}
	if c.Limit == 0 {
		c.Limit = 100
	}
	if c.Action == "" {
		c.Action = "closest"
	}
	return c
}

// Validate names the first field that cannot work.
func (c XweatherConfig) Validate() error {
	if err := c.Site.Validate(); err != nil {
		return fmt.Errorf("xweather: %w", err)
	}
	if err := c.HTTP.validate(); err != nil {
		return fmt.Errorf("xweather: %w", err)
	}
	switch {
	case c.ClientID == "":
		return errors.New("xweather: ClientID is required")
	case c.ClientSecret == "":
		return errors.New("xweather: ClientSecret is required")
	case !(c.RadiusKM > 0 && c.RadiusKM <= 500):
		return fmt.Errorf("xweather: RadiusKM %v is outside (0, 500]", c.RadiusKM)
	case c.Action != "closest" && c.Action != "point":
		return fmt.Errorf("xweather: Action %q is neither closest nor point", c.Action)
	case c.Limit < 1 || c.Limit > 1000:
		return fmt.Errorf("xweather: Limit %d is outside 1..1000", c.Limit)
	}
	return nil
}

// Xweather polls the Xweather (formerly AerisWeather) lightning API for
// located strikes around the site.
type Xweather struct {
	cfg XweatherConfig
}

// NewXweather checks cfg and returns the source.
func NewXweather(cfg XweatherConfig) (*Xweather, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Xweather{cfg: cfg}, nil
}

// Name returns "xweather".
func (x *Xweather) Name() string { return "xweather" }

// Kind returns Trigger.
func (x *Xweather) Kind() Kind { return Trigger }

// Poll asks for the strikes of the last five minutes within the radius.
func (x *Xweather) Poll(ctx context.Context) (Report, error) {
	c := x.cfg
	q := url.Values{}
	q.Set("p", coord(c.Site.Lat)+","+coord(c.Site.Lon))
	q.Set("radius", strconv.FormatFloat(c.RadiusKM, 'f', -1, 64)+"km")
	q.Set("filter", c.Filter)
	q.Set("limit", strconv.Itoa(c.Limit))
	q.Set("client_id", c.ClientID)
	q.Set("client_secret", c.ClientSecret)
	path := "/lightning/closest"
	if c.Action == "point" {
		path = "/lightning/" + coord(c.Site.Lat) + "," + coord(c.Site.Lon)
	}
	f := fetch{
		cfg:       c.HTTP,
		path:      path,
		query:     q,
		secrets:   []string{c.ClientSecret},
		errDetail: xweatherErrDetail,
	}
	body, err := f.do(ctx)
	if err != nil {
		return Report{}, fmt.Errorf("xweather: %w", err)
	}
	strikes, err := decodeXweather(body, c.Site)
	if err != nil {
		var ae *APIError
		if errors.As(err, &ae) {
			ae.Message = f.redact(ae.Message)
		}
		return Report{}, err
	}
	kept := strikes[:0]
	for _, s := range strikes {
		if s.DistanceKM < c.RadiusKM {
			kept = append(kept, s)
		}
	}
	return Report{Source: x.Name(), At: time.Now(), Strikes: kept}, nil
}

type xweatherBody struct {
	Success bool `json:"success"`
	Error   *struct {
		Code        string `json:"code"`
		Description string `json:"description"`
	} `json:"error"`
	Response json.RawMessage `json:"response"`
}

type xweatherRecord struct {
	Loc *struct {
		Lat  float64 `json:"lat"`
		Long float64 `json:"long"`
	} `json:"loc"`
	Ob struct {
		Timestamp int64 `json:"timestamp"`
	} `json:"ob"`
	RelativeTo *struct {
		Bearing    *float64 `json:"bearing"`
		DistanceKM *float64 `json:"distanceKM"`
	} `json:"relativeTo"`
}

// decodeXweather turns a lightning response into strikes. warn_no_data with
// success:true is zero strikes; success:false is an *APIError.
func decodeXweather(body []byte, site Site) ([]Strike, error) {
	var b xweatherBody
	if err := json.Unmarshal(body, &b); err != nil {
		return nil, malformed("xweather", err)
	}
	if !b.Success {
		ae := &APIError{Source: "xweather", Code: "unknown"}
		if b.Error != nil {
			ae.Code, ae.Message = b.Error.Code, b.Error.Description
		}
		return nil, ae
	}
	var recs []xweatherRecord
	raw := bytes.TrimSpace(b.Response)
	switch {
	case len(raw) == 0 || bytes.Equal(raw, []byte("null")):
	case raw[0] == '{': // the location action may answer a single object
		var r xweatherRecord
		if err := json.Unmarshal(raw, &r); err != nil {
			return nil, malformed("xweather", err)
		}
		recs = []xweatherRecord{r}
	default:
		if err := json.Unmarshal(raw, &recs); err != nil {
			return nil, malformed("xweather", err)
		}
	}
	strikes := make([]Strike, 0, len(recs))
	for i, r := range recs {
		s := Strike{Time: time.Unix(r.Ob.Timestamp, 0).UTC(), Source: "xweather"}
		switch {
		case r.RelativeTo != nil && r.RelativeTo.DistanceKM != nil:
			s.DistanceKM = *r.RelativeTo.DistanceKM
			if r.RelativeTo.Bearing != nil {
				s.BearingDeg, s.HasBearing = *r.RelativeTo.Bearing, true
			}
		case r.Loc != nil:
			s.DistanceKM, s.BearingDeg = site.Polar(r.Loc.Lat, r.Loc.Long)
			s.HasBearing = true
		default:
			return nil, malformed("xweather", fmt.Errorf("record %d has neither relativeTo nor loc", i))
		}
		if r.Ob.Timestamp <= 0 || !finite(s.DistanceKM) || s.DistanceKM < 0 {
			return nil, malformed("xweather", fmt.Errorf("record %d: bad timestamp or distance", i))
		}
		strikes = append(strikes, s)
	}
	return strikes, nil
}

// xweatherErrDetail reads "code: description" from an error body.
func xweatherErrDetail(body []byte) string {
	var b xweatherBody
	if json.Unmarshal(body, &b) != nil || b.Error == nil {
		return clip(string(body))
	}
	if b.Error.Description == "" {
		return b.Error.Code
	}
	return b.Error.Code + ": " + b.Error.Description
}

// coord formats a coordinate with at most 4 decimals and at least one.
func coord(v float64) string {
	s := strconv.FormatFloat(v, 'f', 4, 64)
	for len(s) > 0 && s[len(s)-1] == '0' && s[len(s)-2] != '.' {
		s = s[:len(s)-1]
	}
	return s
}
