package weather

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func newTestOWM(t *testing.T, base string) *OpenWeatherMap {
	t.Helper()
	o, err := NewOpenWeatherMap(OpenWeatherMapConfig{HTTP: HTTPConfig{BaseURL: base}, Site: fixtureSite, APIKey: "k3y-owm"})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestOpenWeatherMapFixture(t *testing.T) {
	base, rec := serve(t, 200, nil, readFixture(t, "owm-onecall.json"))
	rep, err := newTestOWM(t, base).Poll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	req := rec.last(t)
	q := req.URL.Query()
	if req.URL.Path != "/data/3.0/onecall" || q.Get("appid") != "k3y-owm" || q.Get("lat") != "40.0" || q.Get("lon") != "-105.0" || q.Get("units") != "metric" {
		t.Errorf("request = %s", req.URL.Path)
	}
	if len(rep.Signals) != 2 {
		t.Fatalf("signals = %+v, want current + one alert", rep.Signals)
	}
	cur, alert := rep.Signals[0], rep.Signals[1]
	if !cur.Thunderstorm || !strings.Contains(cur.Detail, "211") || cur.Time.Unix() != 1784145612 {
		t.Errorf("current = %+v", cur)
	}
	if !alert.Thunderstorm || !strings.HasPrefix(alert.Detail, "Severe Thunderstorm Warning") ||
		alert.Time.Unix() != 1784145480 || !alert.Until.Equal(time.Date(2026, 7, 15, 20, 45, 0, 0, time.UTC)) {
		t.Errorf("alert = %+v, want the warning until 20:45Z", alert)
	}
}

func TestOpenWeatherMapQuiet(t *testing.T) {
	body := `{"current":{"dt":1784145612,"weather":[{"id":803,"main":"Clouds","description":"broken clouds"}]},"alerts":[{"event":"Heat Advisory","start":1,"end":2}]}`
	base, _ := serve(t, 200, nil, []byte(body))
	rep, err := newTestOWM(t, base).Poll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Signals) != 1 || rep.Signals[0].Thunderstorm {
		t.Errorf("signals = %+v, want one quiet signal and no heat advisory", rep.Signals)
	}
}

func TestOpenWeatherMapStringCod(t *testing.T) {
	// cod may be a string; a body echoing the key must not leak it.
	for _, body := range []string{
		`{"cod":"429","message":"Your account is temporary blocked, appid=k3y-owm"}`,
		`{"cod":429,"message":"Your account is temporary blocked"}`,
	} {
		base, _ := serve(t, 200, nil, []byte(body))
		_, err := newTestOWM(t, base).Poll(context.Background())
		var ae *APIError
		if !errors.As(err, &ae) || ae.Code != "429" {
			t.Errorf("%s: err = %v, want APIError code 429", body, err)
		}
		if err != nil && strings.Contains(err.Error(), "k3y-owm") {
			t.Errorf("error leaks the key: %v", err)
		}
	}
}

func TestOpenWeatherMapConfig(t *testing.T) {
	_, err := NewOpenWeatherMap(OpenWeatherMapConfig{Site: fixtureSite})
	if err == nil || !strings.Contains(err.Error(), "APIKey") {
		t.Errorf("missing key: %v", err)
	}
}

func FuzzDecodeOWM(f *testing.F) {
	f.Add(readFixture(f, "owm-onecall.json"))
	f.Add(readFixture(f, "owm-error.json"))
	f.Fuzz(func(t *testing.T, b []byte) {
		signals, err := decodeOWM(b)
		if err == nil && len(signals) == 0 {
			t.Fatal("no error and no signal")
		}
	})
}
