package status

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stormguard/stormguard/internal/watch"
	"github.com/stormguard/stormguard/storm"
)

func TestPlot(t *testing.T) {
	now := time.Date(2026, 7, 1, 18, 0, 0, 0, time.UTC)
	st := &storm.State{Recent: []storm.Strike{
		{DistanceKM: 20, BearingDeg: 90, HasBearing: true, Time: now.Add(-time.Minute), Source: "a"},
		{DistanceKM: 12, Estimate: true, Time: now.Add(-20 * time.Minute), Source: "as3935"},
		{DistanceKM: 5, BearingDeg: 0, HasBearing: true, Time: now.Add(-2 * time.Hour), Source: "a"},
	}}
	cells := []watch.Cell{{ID: watch.CellID("c1<"), DistanceKM: 30, BearingDeg: 270, HeadingDeg: 90, SpeedKMH: 40}}
	svg := Plot(st, cells, 16, 40, 30*time.Minute, now)
	for _, want := range []string{
		`<circle cx="0" cy="0" r="32.00" class="ring shutdown"/>`, // 16 km of 40 at 80
		`<circle cx="40.00" cy="-0.00" r="3" class="strike" opacity="0.97" data-km="20.0" data-bearing="90">`,
		`class="strike estimate" opacity="0.33" data-km="12.0"`,
		`<g class="cell" data-cell="c1&lt;">`,
		`<line x1="-60.00" y1="0.00" x2="-20.00" y2="0.00"`, // 20 km east in 30 min
	} {
		if !strings.Contains(svg, want) {
			t.Errorf("plot lacks %s\n%s", want, svg)
		}
	}
	if strings.Contains(svg, `data-km="5.0"`) {
		t.Error("a strike older than the window is drawn")
	}
}

func TestCancelEndpoint(t *testing.T) {
	var reasons []string
	fail := false
	cancel := func(_ context.Context, reason string) error {
		if fail {
			return errors.New("not connected")
		}
		reasons = append(reasons, reason)
		return nil
	}
	tests := []struct {
		name   string
		token  string
		send   string
		fail   bool
		status int
		calls  int
	}{
		{"right token", "s3cret", "Bearer s3cret", false, 200, 1},
		{"wrong token", "s3cret", "Bearer guess", false, 401, 0},
		{"no token sent", "s3cret", "", false, 401, 0},
		{"not configured", "", "Bearer ", false, 403, 0},
		{"broker refuses", "s3cret", "Bearer s3cret", true, 502, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reasons, fail = nil, tt.fail
			s := &Server{cfg: Config{Token: tt.token, Cancel: cancel}, log: discard()}
			req := httptest.NewRequest("POST", "/api/cancel", nil)
			if tt.send != "" {
				req.Header.Set("Authorization", tt.send)
			}
			rec := httptest.NewRecorder()
			s.cancel(rec, req)
			if rec.Code != tt.status || len(reasons) != tt.calls {
				t.Errorf("status %d with %d CANCELs, want %d with %d: %s", rec.Code, len(reasons), tt.status, tt.calls, rec.Body)
			}
		})
	}
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

func TestPageHasNothingFromOutside(t *testing.T) {
	for _, f := range []string{"assets/index.html", "assets/app.js", "assets/app.css"} {
		b, err := assets.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{"http://", "https://", "//cdn", "@import", "url("} {
			if strings.Contains(string(b), bad) {
				t.Errorf("%s refers to %q: the page must work with no internet", f, bad)
			}
		}
	}
	s := New(Config{})
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/assets/app.js", nil))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Header().Get("Content-Security-Policy"), "script-src 'self'") {
		t.Errorf("app.js: %d, CSP %q", rec.Code, rec.Header().Get("Content-Security-Policy"))
	}
}
