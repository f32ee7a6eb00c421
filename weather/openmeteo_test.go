package weather

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func newTestOpenMeteo(t *testing.T, base string) *OpenMeteo {
	t.Helper()
	o, err := NewOpenMeteo(OpenMeteoConfig{HTTP: HTTPConfig{BaseURL: base}, Site: fixtureSite})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestOpenMeteoFixture(t *testing.T) {
	base, rec := serve(t, 200, nil, readFixture(t, "openmeteo-forecast.json"))
	o := newTestOpenMeteo(t, base)
	if o.Kind() != Context {
		t.Errorf("Kind = %v, want context", o.Kind())
	}
	rep, err := o.Poll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	req := rec.last(t)
	q := req.URL.Query()
	if req.URL.Path != "/v1/forecast" || q.Get("latitude") != "40.0" || q.Get("longitude") != "-105.0" ||
		q.Get("current") != "weather_code" || q.Get("minutely_15") != "weather_code" || q.Get("forecast_minutely_15") != "8" {
		t.Errorf("request = %s", req.URL)
	}
	if len(rep.Signals) != 2 {
		t.Fatalf("signals = %+v, want current and forecast", rep.Signals)
	}
	cur, fc := rep.Signals[0], rep.Signals[1]
	if !cur.Thunderstorm || !cur.Time.Equal(t0) || !cur.Until.Equal(t0.Add(15*time.Minute)) || cur.Detail != "weather code 95 now" {
		t.Errorf("current = %+v", cur)
	}
	// 95,95,95,96,95 from 20:00 to 21:00, then 80: thunder until 21:15, peak 96.
	if !fc.Thunderstorm || !fc.Time.Equal(t0) || !fc.Until.Equal(t0.Add(75*time.Minute)) || !strings.Contains(fc.Detail, "96") {
		t.Errorf("forecast = %+v", fc)
	}
}

func TestOpenMeteoQuietForecast(t *testing.T) {
	body := `{"utc_offset_seconds":-21600,"current":{"time":"2026-07-15T14:00","interval":900,"weather_code":3},"minutely_15":{"time":["2026-07-15T14:00","2026-07-15T14:15"],"weather_code":[3,null]}}`
	base, _ := serve(t, 200, nil, []byte(body))
	rep, err := newTestOpenMeteo(t, base).Poll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Signals) != 1 || rep.Signals[0].Thunderstorm {
		t.Fatalf("signals = %+v, want one quiet signal", rep.Signals)
	}
	// Local 14:00 at UTC-6 is 20:00Z.
	if !rep.Signals[0].Time.Equal(t0) {
		t.Errorf("time = %v, want %v", rep.Signals[0].Time, t0)
	}
}

func TestOpenMeteoRateLimitFixture(t *testing.T) {
	base, _ := serve(t, 429, http.Header{"Retry-After": {"60"}}, readFixture(t, "openmeteo-error-ratelimit.json"))
	_, err := newTestOpenMeteo(t, base).Poll(context.Background())
	if wait, ok := RateLimited(err); !ok || wait != time.Minute {
		t.Fatalf("RateLimited = %v, %v (err %v)", wait, ok, err)
	}
	if !strings.Contains(err.Error(), "Minutely API request limit exceeded") {
		t.Errorf("err = %v, want the reason", err)
	}
}

func TestOpenMeteoErrorOn200(t *testing.T) {
	base, _ := serve(t, 200, nil, readFixture(t, "openmeteo-error.json"))
	_, err := newTestOpenMeteo(t, base).Poll(context.Background())
	var ae *APIError
	if !errors.As(err, &ae) || !strings.Contains(ae.Message, "Latitude") {
		t.Fatalf("err = %v, want APIError with the reason", err)
	}
}

func TestOpenMeteoConfig(t *testing.T) {
	if _, err := NewOpenMeteo(OpenMeteoConfig{Site: fixtureSite, Slots: 200}); err == nil || !strings.Contains(err.Error(), "Slots") {
		t.Errorf("Slots: %v", err)
	}
	if _, err := NewOpenMeteo(OpenMeteoConfig{Site: Site{Lat: 40, Lon: 200}}); err == nil || !strings.Contains(err.Error(), "Lon") {
		t.Errorf("Lon: %v", err)
	}
}

func FuzzDecodeOpenMeteo(f *testing.F) {
	f.Add(readFixture(f, "openmeteo-forecast.json"))
	f.Add(readFixture(f, "openmeteo-error.json"))
	f.Fuzz(func(t *testing.T, b []byte) {
		signals, err := decodeOpenMeteo(b)
		if err == nil && len(signals) == 0 {
			t.Fatal("no error and no signal")
		}
	})
}
