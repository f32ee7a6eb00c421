package weather

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// httpSourceCase describes one HTTP source for the shared failure suite.
type httpSourceCase struct {
	name string
	// build makes the source pointed at base with the given HTTP settings.
	build func(t *testing.T, h HTTPConfig) Poller
	// ok is a fixture the source decodes without error.
	ok string
	// errStatus and errFixture are the source's documented error answer;
	// errText must appear in the resulting error.
	errStatus  int
	errFixture string
	errText    string
	// hostile is well-formed JSON with the wrong types in the fields the
	// source reads.
	hostile string
	// secret, when set, must never appear in any error text.
	secret string
}

func httpSourceCases() []httpSourceCase {
	return []httpSourceCase{
		{
			name: "xweather",
			build: func(t *testing.T, h HTTPConfig) Poller {
				return mustBuild(t)(NewXweather(XweatherConfig{HTTP: h, Site: fixtureSite, ClientID: "id-1", ClientSecret: "s3cr3t-xw"}))
			},
			ok:         "xweather-lightning-closest.json",
			errStatus:  401,
			errFixture: "xweather-error.json",
			errText:    "invalid_client",
			hostile:    `{"success":true,"error":null,"response":[{"loc":{"lat":"40","long":-105},"ob":{"timestamp":"soon"},"relativeTo":{"distanceKM":"near"}}]}`,
			secret:     "s3cr3t-xw",
		},
		{
			name: "ecowitt",
			build: func(t *testing.T, h HTTPConfig) Poller {
				return mustBuild(t)(NewEcowitt(EcowittConfig{HTTP: h, Now: func() time.Time { return t0 }}))
			},
			ok:         "ecowitt-livedata.json",
			errStatus:  401,
			errFixture: "ecowitt-unauthorized.txt",
			errText:    "login required",
			hostile:    `{"lightning":[{"distance":8,"timestamp":["07/15/2026"],"count":14}]}`,
		},
		{
			name: "openmeteo",
			build: func(t *testing.T, h HTTPConfig) Poller {
				return mustBuild(t)(NewOpenMeteo(OpenMeteoConfig{HTTP: h, Site: fixtureSite}))
			},
			ok:         "openmeteo-forecast.json",
			errStatus:  400,
			errFixture: "openmeteo-error.json",
			errText:    "Latitude must be in range",
			hostile:    `{"current":{"time":20,"interval":"900","weather_code":"95"}}`,
		},
		{
			name: "openweathermap",
			build: func(t *testing.T, h HTTPConfig) Poller {
				return mustBuild(t)(NewOpenWeatherMap(OpenWeatherMapConfig{HTTP: h, Site: fixtureSite, APIKey: "k3y-owm"}))
			},
			ok:         "owm-onecall.json",
			errStatus:  401,
			errFixture: "owm-error.json",
			errText:    "Invalid API key",
			hostile:    `{"current":{"dt":"now","weather":{"id":"211"}},"alerts":[{"event":7}]}`,
			secret:     "k3y-owm",
		},
		{
			name: "nws",
			build: func(t *testing.T, h HTTPConfig) Poller {
				return mustBuild(t)(NewNWS(NWSConfig{HTTP: h, Site: fixtureSite}))
			},
			ok:         "nws-alerts-active.json",
			errStatus:  400,
			errFixture: "nws-error.json",
			errText:    "Invalid Parameter",
			hostile:    `{"features":[{"properties":{"event":5,"ends":"tomorrow","references":"none"}}]}`,
		},
	}
}

// mustBuild fails the test when a source constructor returns an error.
func mustBuild(t *testing.T) func(Poller, error) Poller {
	return func(p Poller, err error) Poller {
		t.Helper()
		if err != nil {
			t.Fatalf("build source: %v", err)
		}
		return p
	}
}

// TestHTTPSourceFailures runs every HTTP source through the same failure
// shapes: documented error body, rate limit, server error, timeout,
// truncated and hostile JSON, oversized body.
func TestHTTPSourceFailures(t *testing.T) {
	for _, tc := range httpSourceCases() {
		t.Run(tc.name, func(t *testing.T) {
			checkSecret := func(t *testing.T, err error) {
				t.Helper()
				if tc.secret != "" && err != nil && strings.Contains(err.Error(), tc.secret) {
					t.Errorf("error text leaks the secret: %v", err)
				}
			}
			poll := func(t *testing.T, status int, hdr http.Header, body []byte) (Report, error) {
				t.Helper()
				base, _ := serve(t, status, hdr, body)
				_, err := tc.build(t, HTTPConfig{BaseURL: base}).Poll(context.Background())
				checkSecret(t, err)
				return Report{}, err
			}

			t.Run("fixture decodes", func(t *testing.T) {
				base, rec := serve(t, 200, nil, readFixture(t, tc.ok))
				_, err := tc.build(t, HTTPConfig{BaseURL: base, UserAgent: "probe/1"}).Poll(context.Background())
				if err != nil {
					t.Fatalf("Poll: %v", err)
				}
				if ua := rec.last(t).Header.Get("User-Agent"); ua != "probe/1" {
					t.Errorf("User-Agent = %q, want probe/1", ua)
				}
			})
			t.Run("default user agent", func(t *testing.T) {
				base, rec := serve(t, 200, nil, readFixture(t, tc.ok))
				if _, err := tc.build(t, HTTPConfig{BaseURL: base}).Poll(context.Background()); err != nil {
					t.Fatalf("Poll: %v", err)
				}
				if ua := rec.last(t).Header.Get("User-Agent"); ua != DefaultUserAgent {
					t.Errorf("User-Agent = %q, want %q", ua, DefaultUserAgent)
				}
			})
			t.Run("documented error body", func(t *testing.T) {
				_, err := poll(t, tc.errStatus, nil, readFixture(t, tc.errFixture))
				var he *HTTPError
				if !errors.As(err, &he) || he.Status != tc.errStatus {
					t.Fatalf("err = %v, want *HTTPError with status %d", err, tc.errStatus)
				}
				if !strings.Contains(err.Error(), tc.errText) {
					t.Errorf("err = %q, want it to carry %q", err, tc.errText)
				}
			})
			t.Run("rate limited", func(t *testing.T) {
				_, err := poll(t, 429, http.Header{"Retry-After": {"120"}}, []byte(`{}`))
				wait, ok := RateLimited(err)
				if !ok || wait != 2*time.Minute {
					t.Fatalf("RateLimited(%v) = %v, %v; want 2m0s, true", err, wait, ok)
				}
			})
			t.Run("server error", func(t *testing.T) {
				_, err := poll(t, 503, nil, []byte("<html>upstream down</html>"))
				var he *HTTPError
				if !errors.As(err, &he) || he.Status != 503 {
					t.Fatalf("err = %v, want *HTTPError 503", err)
				}
				if _, limited := RateLimited(err); limited {
					t.Error("503 reported as rate limited")
				}
			})
			t.Run("timeout", func(t *testing.T) {
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					<-r.Context().Done() // answer only when the client gives up
				}))
				t.Cleanup(srv.Close)
				src := tc.build(t, HTTPConfig{BaseURL: srv.URL, Timeout: 50 * time.Millisecond})
				_, err := src.Poll(context.Background())
				checkSecret(t, err)
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("err = %v, want context.DeadlineExceeded", err)
				}
			})
			t.Run("caller deadline", func(t *testing.T) {
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					<-r.Context().Done()
				}))
				t.Cleanup(srv.Close)
				ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
				defer cancel()
				_, err := tc.build(t, HTTPConfig{BaseURL: srv.URL}).Poll(ctx)
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("err = %v, want context.DeadlineExceeded", err)
				}
			})
			t.Run("truncated JSON", func(t *testing.T) {
				body := readFixture(t, tc.ok)
				_, err := poll(t, 200, nil, body[:len(body)/2])
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("err = %v, want ErrMalformed", err)
				}
			})
			t.Run("hostile JSON", func(t *testing.T) {
				_, err := poll(t, 200, nil, []byte(tc.hostile))
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("err = %v, want ErrMalformed", err)
				}
			})
			t.Run("oversized body", func(t *testing.T) {
				body := append([]byte(`{"pad":"`), make([]byte, MaxBodyBytes)...)
				_, err := poll(t, 200, nil, body)
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("err = %v, want ErrMalformed", err)
				}
			})
		})
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 7, 15, 20, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		h    string
		want time.Duration
	}{
		{"", 0},
		{"30", 30 * time.Second},
		{"-5", 0},
		{"Wed, 15 Jul 2026 20:01:30 GMT", 90 * time.Second},
		{"Wed, 15 Jul 2026 19:00:00 GMT", 0},
		{"soon", 0},
	} {
		if got := retryAfter(tc.h, now); got != tc.want {
			t.Errorf("retryAfter(%q) = %v, want %v", tc.h, got, tc.want)
		}
	}
}
