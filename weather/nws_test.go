package weather

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestNWSFixture(t *testing.T) {
	base, rec := serve(t, 200, nil, readFixture(t, "nws-alerts-active.json"))
	n, err := NewNWS(NWSConfig{HTTP: HTTPConfig{BaseURL: base, UserAgent: "stormguard-test (ops@example.com)"}, Site: Site{Lat: 40.0123456, Lon: -105}})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := n.Poll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	req := rec.last(t)
	if req.URL.Path != "/alerts/active" || req.URL.Query().Get("point") != "40.0123,-105.0" {
		t.Errorf("request = %s?%s, want point with at most 4 decimals", req.URL.Path, req.URL.RawQuery)
	}
	if ua := req.Header.Get("User-Agent"); ua != "stormguard-test (ops@example.com)" {
		t.Errorf("User-Agent = %q", ua)
	}
	if acc := req.Header.Get("Accept"); acc != "application/geo+json" {
		t.Errorf("Accept = %q", acc)
	}
	want := []struct {
		detail      string
		from, until time.Time
	}{
		{"Severe Thunderstorm Warning", time.Date(2026, 7, 15, 19, 58, 0, 0, time.UTC), time.Date(2026, 7, 15, 20, 45, 0, 0, time.UTC)},
		// ends is null: Until falls back to expires.
		{"Special Weather Statement: lightning mentioned", time.Date(2026, 7, 15, 19, 40, 0, 0, time.UTC), time.Date(2026, 7, 15, 20, 15, 0, 0, time.UTC)},
		{"Severe Thunderstorm Watch", time.Date(2026, 7, 15, 19, 21, 0, 0, time.UTC), time.Date(2026, 7, 16, 2, 0, 0, 0, time.UTC)},
	}
	if len(rep.Signals) != len(want) {
		t.Fatalf("signals = %+v", rep.Signals)
	}
	for i, w := range want {
		s := rep.Signals[i]
		if !s.Thunderstorm || s.Detail != w.detail || !s.Time.Equal(w.from) || !s.Until.Equal(w.until) {
			t.Errorf("signal %d = %+v, want %q %v..%v", i, s, w.detail, w.from, w.until)
		}
	}
}

func TestNWSFiltersAlerts(t *testing.T) {
	body := `{"type":"FeatureCollection","features":[
	 {"properties":{"id":"a","event":"Heat Advisory","status":"Actual","messageType":"Alert","description":"hot","instruction":null,"expires":"2026-07-15T21:00:00Z"}},
	 {"properties":{"id":"b","event":"Tornado Warning","status":"Test","messageType":"Alert","expires":"2026-07-15T21:00:00Z"}},
	 {"properties":{"id":"c","event":"Severe Thunderstorm Warning","status":"Actual","messageType":"Cancel","expires":"2026-07-15T21:00:00Z"}},
	 {"properties":{"id":"d","event":"Severe Thunderstorm Warning","status":"Actual","messageType":"Alert","expires":"2026-07-15T21:00:00Z"}},
	 {"properties":{"id":"e","event":"Severe Thunderstorm Warning","status":"Actual","messageType":"Update","references":[{"identifier":"d"}],"onset":null,"sent":"2026-07-15T20:05:00Z","expires":"2026-07-15T21:30:00Z","ends":null}},
	 {"properties":{"id":"f","event":"Tornado Warning","status":"Actual","messageType":"Alert","expires":"2026-07-15T20:30:00-06:00"}}
	]}`
	base, _ := serve(t, 200, nil, []byte(body))
	n, err := NewNWS(NWSConfig{HTTP: HTTPConfig{BaseURL: base}, Site: fixtureSite})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := n.Poll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// Heat advisory, test message, cancel and the superseded warning "d" go.
	if len(rep.Signals) != 2 {
		t.Fatalf("signals = %+v, want the update and the tornado warning", rep.Signals)
	}
	if s := rep.Signals[0]; !s.Until.Equal(time.Date(2026, 7, 15, 21, 30, 0, 0, time.UTC)) || !s.Time.Equal(time.Date(2026, 7, 15, 20, 5, 0, 0, time.UTC)) {
		t.Errorf("update = %+v", s)
	}
	if s := rep.Signals[1]; s.Detail != "Tornado Warning" || !s.Until.Equal(time.Date(2026, 7, 16, 2, 30, 0, 0, time.UTC)) {
		t.Errorf("tornado = %+v", s)
	}
}

func TestNWSDefaultUserAgent(t *testing.T) {
	base, rec := serve(t, 200, nil, []byte(`{"features":[]}`))
	n, err := NewNWS(NWSConfig{HTTP: HTTPConfig{BaseURL: base}, Site: fixtureSite})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := n.Poll(context.Background())
	if err != nil || len(rep.Signals) != 0 {
		t.Fatalf("empty collection: %+v, %v", rep, err)
	}
	if ua := rec.last(t).Header.Get("User-Agent"); !strings.Contains(ua, "stormguard") {
		t.Errorf("User-Agent = %q, the API refuses requests without one", ua)
	}
}

func FuzzDecodeNWS(f *testing.F) {
	f.Add(readFixture(f, "nws-alerts-active.json"))
	f.Add(readFixture(f, "nws-error.json"))
	f.Fuzz(func(t *testing.T, b []byte) {
		signals, err := decodeNWS(b)
		for _, s := range signals {
			if err != nil || !s.Thunderstorm {
				t.Fatalf("signal %+v with err %v", s, err)
			}
		}
	})
}
