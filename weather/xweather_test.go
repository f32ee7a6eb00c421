package weather

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func newTestXweather(t *testing.T, base string, mod func(*XweatherConfig)) *Xweather {
	t.Helper()
	cfg := XweatherConfig{HTTP: HTTPConfig{BaseURL: base}, Site: fixtureSite, ClientID: "id-1", ClientSecret: "s3cr3t-xw"}
	if mod != nil {
		mod(&cfg)
	}
	x, err := NewXweather(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func TestXweatherFixture(t *testing.T) {
	base, rec := serve(t, 200, nil, readFixture(t, "xweather-lightning-closest.json"))
	rep, err := newTestXweather(t, base, nil).Poll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	req := rec.last(t)
	if req.URL.Path != "/lightning/closest" {
		t.Errorf("path = %q", req.URL.Path)
	}
	q := req.URL.Query()
	for k, want := range map[string]string{"p": "40.0,-105.0", "radius": "50km", "filter": "cg", "limit": "100", "client_id": "id-1", "client_secret": "s3cr3t-xw"} {
		if got := q.Get(k); got != want {
			t.Errorf("query %s = %q, want %q", k, got, want)
		}
	}
	want := []struct {
		km, bearing float64
		at          string
	}{{3.6, 20, "19:59:46"}, {9.1, 318, "19:59:22"}, {16.4, 303, "19:58:49"}, {31.8, 296, "19:57:52"}}
	if len(rep.Strikes) != len(want) {
		t.Fatalf("got %d strikes, want %d: %+v", len(rep.Strikes), len(want), rep.Strikes)
	}
	for i, w := range want {
		s := rep.Strikes[i]
		if s.DistanceKM != w.km || !s.HasBearing || s.BearingDeg != w.bearing || s.Estimate {
			t.Errorf("strike %d = %+v, want %v km at %v°", i, s, w.km, w.bearing)
		}
		if got := s.Time.Format("15:04:05"); got != w.at || s.Time.Location() != time.UTC {
			t.Errorf("strike %d time = %v, want %s UTC", i, s.Time, w.at)
		}
	}
	if rep.Source != "xweather" {
		t.Errorf("Source = %q", rep.Source)
	}
}

func TestXweatherRadiusFilter(t *testing.T) {
	// The fixture's 16.4 km strike falls outside a 10-mile radius.
	base, rec := serve(t, 200, nil, readFixture(t, "xweather-lightning-closest.json"))
	rep, err := newTestXweather(t, base, func(c *XweatherConfig) { c.RadiusKM = 16.09 }).Poll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := rec.last(t).URL.Query().Get("radius"); got != "16.09km" {
		t.Errorf("radius = %q", got)
	}
	if len(rep.Strikes) != 2 || rep.Strikes[1].DistanceKM != 9.1 {
		t.Errorf("strikes = %+v, want 3.6 and 9.1 km", rep.Strikes)
	}
}

func TestXweatherNoDataIsZeroStrikes(t *testing.T) {
	base, _ := serve(t, 200, nil, readFixture(t, "xweather-no-data.json"))
	rep, err := newTestXweather(t, base, nil).Poll(context.Background())
	if err != nil {
		t.Fatalf("warn_no_data gave error %v, want zero strikes", err)
	}
	if len(rep.Strikes) != 0 {
		t.Errorf("strikes = %+v", rep.Strikes)
	}
}

func TestXweatherSuccessFalseOn200(t *testing.T) {
	// Some errors come back as HTTP 200 with success:false; one that echoes
	// the request must still not leak the secret.
	body := `{"success":false,"error":{"code":"maxhits_min","description":"limit hit for client_secret=s3cr3t-xw"},"response":[]}`
	base, _ := serve(t, 200, nil, []byte(body))
	_, err := newTestXweather(t, base, nil).Poll(context.Background())
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != "maxhits_min" {
		t.Fatalf("err = %v, want APIError maxhits_min", err)
	}
	if strings.Contains(err.Error(), "s3cr3t-xw") {
		t.Errorf("error leaks the secret: %v", err)
	}
}

func TestXweatherPointAction(t *testing.T) {
	base, rec := serve(t, 200, nil, []byte(`{"success":true,"error":null,"response":{"loc":{"lat":40.03042,"long":-104.98554},"ob":{"timestamp":1784145586}}}`))
	rep, err := newTestXweather(t, base, func(c *XweatherConfig) { c.Action = "point" }).Poll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if p := rec.last(t).URL.Path; p != "/lightning/40.0,-105.0" {
		t.Errorf("path = %q", p)
	}
	// Without relativeTo the distance comes from loc: the fixture's 3.6 km NNE strike.
	if len(rep.Strikes) != 1 || !near(rep.Strikes[0].DistanceKM, 3.6, 0.05) || Compass(rep.Strikes[0].BearingDeg) != "NNE" {
		t.Errorf("strikes = %+v", rep.Strikes)
	}
}

func TestXweatherConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		field string
		mod   func(*XweatherConfig)
	}{
		{"ClientID", func(c *XweatherConfig) { c.ClientID = "" }},
		{"ClientSecret", func(c *XweatherConfig) { c.ClientSecret = "" }},
		{"RadiusKM", func(c *XweatherConfig) { c.RadiusKM = -1 }},
		{"Limit", func(c *XweatherConfig) { c.Limit = 5000 }},
		{"Action", func(c *XweatherConfig) { c.Action = "within" }},
		{"Lat", func(c *XweatherConfig) { c.Site.Lat = 91 }},
		{"BaseURL", func(c *XweatherConfig) { c.HTTP.BaseURL = "ftp://x" }},
	} {
		cfg := XweatherConfig{Site: fixtureSite, ClientID: "a", ClientSecret: "b"}
		tc.mod(&cfg)
		_, err := NewXweather(cfg)
		if err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: err = %v, want it to name the field", tc.field, err)
		}
		if err != nil && strings.Contains(err.Error(), "b\"") {
			t.Errorf("%s: error quotes the secret: %v", tc.field, err)
		}
	}
}

func FuzzDecodeXweather(f *testing.F) {
	for _, name := range []string{"xweather-lightning-closest.json", "xweather-no-data.json", "xweather-error.json", "xweather-lightning-summary.json"} {
		f.Add(readFixture(f, name))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		strikes, err := decodeXweather(body, fixtureSite)
		if err == nil {
			for _, s := range strikes {
				if s.DistanceKM < 0 || !finite(s.DistanceKM) {
					t.Fatalf("decoded a bad distance %v", s.DistanceKM)
				}
			}
		}
	})
}
