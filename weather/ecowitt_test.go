package weather

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// gateway is a test Ecowitt gateway whose live data the test can change.
type gateway struct {
	mu   sync.Mutex
	body []byte
}

func (g *gateway) set(b []byte) { g.mu.Lock(); g.body = b; g.mu.Unlock() }

func startGateway(t *testing.T, body []byte) (*gateway, string) {
	t.Helper()
	g := &gateway{body: body}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/get_livedata_info" {
			http.NotFound(w, r)
			return
		}
		g.mu.Lock()
		defer g.mu.Unlock()
		w.Write(g.body)
	}))
	t.Cleanup(srv.Close)
	return g, srv.URL
}

// livedata returns the strike fixture with the lightning entry replaced.
func livedata(t *testing.T, distance, timestamp, count string) []byte {
	t.Helper()
	b := string(readFixture(t, "ecowitt-livedata.json"))
	old := `"lightning": [{"distance": "8 km", "timestamp": "07/15/2026 19:59:41", "count": "14", "battery": "5"}]`
	if !strings.Contains(b, old) {
		t.Fatal("fixture changed")
	}
	return []byte(strings.Replace(b, old, `"lightning": [{"distance": "`+distance+`", "timestamp": "`+timestamp+`", "count": "`+count+`", "battery": "5"}]`, 1))
}

func newTestEcowitt(t *testing.T, base string, now time.Time) *Ecowitt {
	t.Helper()
	e, err := NewEcowitt(EcowittConfig{HTTP: HTTPConfig{BaseURL: base}, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestEcowittSequence(t *testing.T) {
	g, base := startGateway(t, readFixture(t, "ecowitt-livedata-nostrike.json"))
	e := newTestEcowitt(t, base, t0)
	poll := func(t *testing.T) Report {
		t.Helper()
		r, err := e.Poll(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return r
	}

	// Before any strike: "255 km" and "--" are sentinels, not a strike.
	if r := poll(t); len(r.Strikes) != 0 || r.Blind {
		t.Fatalf("no-strike body gave %+v", r)
	}
	// The fixture strike: 8 km at 19:59:41Z, count 14.
	g.set(readFixture(t, "ecowitt-livedata.json"))
	r := poll(t)
	if len(r.Strikes) != 1 {
		t.Fatalf("strikes = %+v, want the 8 km strike", r.Strikes)
	}
	s := r.Strikes[0]
	if s.DistanceKM != 8 || !s.Estimate || s.HasBearing || !s.Time.Equal(time.Date(2026, 7, 15, 19, 59, 41, 0, time.UTC)) {
		t.Errorf("strike = %+v", s)
	}
	if !strings.Contains(r.Detail, "14 new strikes") {
		t.Errorf("Detail = %q, want the count delta", r.Detail)
	}
	// Same timestamp again: not a new strike.
	if r := poll(t); len(r.Strikes) != 0 {
		t.Errorf("repeated timestamp gave strikes %+v", r.Strikes)
	}
	// A new strike in miles, with the spaced time format, count +2.
	g.set(livedata(t, "3.7 mi", "07/15/2026 20: 00: 05", "16"))
	r = poll(t)
	if len(r.Strikes) != 1 || !near(r.Strikes[0].DistanceKM, 5.95, 0.01) || r.Strikes[0].Time.Format("15:04:05") != "20:00:05" {
		t.Errorf("mile strike = %+v", r.Strikes)
	}
	if !strings.Contains(r.Detail, "2 new strikes (16 today)") {
		t.Errorf("Detail = %q", r.Detail)
	}
	// After midnight the counter restarts: the delta is the new count.
	g.set(livedata(t, "12 km", "07/16/2026 00:00:09", "1"))
	if r := poll(t); !strings.Contains(r.Detail, "1 new strikes (1 today)") || len(r.Strikes) != 1 {
		t.Errorf("after reset: %+v", r)
	}
}

func TestEcowittFirstPollIgnoresOldStrike(t *testing.T) {
	_, base := startGateway(t, readFixture(t, "ecowitt-livedata.json"))
	// Started an hour after the gateway's last strike: that strike is history.
	r, err := newTestEcowitt(t, base, t0.Add(time.Hour)).Poll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Strikes) != 0 {
		t.Errorf("an hour-old strike was reported on the first poll: %+v", r.Strikes)
	}
}

func TestEcowittNoSensorIsBlind(t *testing.T) {
	_, base := startGateway(t, []byte(`{"common_list":[{"id":"0x02","val":"22.4","unit":"C"}]}`))
	r, err := newTestEcowitt(t, base, t0).Poll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !r.Blind {
		t.Errorf("gateway without a lightning entry gave %+v, want Blind", r)
	}
}

func TestEcowittDistance(t *testing.T) {
	for _, tc := range []struct {
		in   string
		km   float64
		ok   bool
		fail bool
	}{
		{"8 km", 8, true, false}, {"16.7 mi", 26.88, true, false}, {"12", 12, true, false},
		{"255 km", 0, false, false}, {"158.4 mi", 0, false, false}, {"--", 0, false, false},
		{"8 furlongs", 0, false, true}, {"near", 0, false, true}, {"-3 km", 0, false, true}, {"NaN km", 0, false, true},
	} {
		km, ok, err := ecowittDistance(tc.in)
		if (err != nil) != tc.fail || ok != tc.ok || !near(km, tc.km, 0.01) {
			t.Errorf("ecowittDistance(%q) = %v, %v, %v", tc.in, km, ok, err)
		}
	}
}

func TestEcowittConfig(t *testing.T) {
	if _, err := NewEcowitt(EcowittConfig{}); err == nil || !strings.Contains(err.Error(), "BaseURL") {
		t.Errorf("missing BaseURL: %v", err)
	}
	if _, err := NewEcowitt(EcowittConfig{HTTP: HTTPConfig{BaseURL: "http://gw"}, MaxAge: -time.Second}); err == nil || !strings.Contains(err.Error(), "MaxAge") {
		t.Errorf("negative MaxAge: %v", err)
	}
}

func FuzzDecodeEcowitt(f *testing.F) {
	f.Add(readFixture(f, "ecowitt-livedata.json"))
	f.Add(readFixture(f, "ecowitt-livedata-nostrike.json"))
	f.Fuzz(func(t *testing.T, b []byte) {
		lt, err := decodeEcowitt(b)
		if err == nil && lt.hasDistance && (lt.distanceKM < 0 || lt.distanceKM >= ecowittSentinel) {
			t.Fatalf("bad distance %v", lt.distanceKM)
		}
	})
}
