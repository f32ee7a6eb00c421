package scheduler

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stormguard/stormguard/weather"
)

// failing answers each call with the error errs gives for it; nil is a success.
func failing(name string, errs func(call int) error) *fakePoller {
	return &fakePoller{name: name, poll: func(_ context.Context, call int) (weather.Report, error) {
		return weather.Report{}, errs(call)
	}}
}

func TestBackoff(t *testing.T) {
	broken := errors.New("http 503")
	tests := []struct {
		name string
		errs func(call int) error
		want []int // minutes after start at which a poll ran
	}{
		{"healthy source polls every interval", func(int) error { return nil },
			[]int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}},
		// Waits of 1, 2, 4, then the 4 minute cap, and back to every minute
		// after the success at 11.
		{"backoff grows, caps and resets on success", func(call int) error {
			if call <= 4 {
				return broken
			}
			return nil
		}, []int{0, 1, 3, 7, 11, 12}},
		{"one error costs no extra wait", func(call int) error {
			if call == 2 {
				return broken
			}
			return nil
		}, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, func(o *Options) { o.MaxBackoff = 4 * time.Minute })
			p := failing("xweather", tc.errs)
			if err := h.s.Add(p, time.Minute, 0); err != nil {
				t.Fatal(err)
			}
			h.s.Start()
			got := h.pollMinutes("xweather", 12)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("polled at minutes %v, want %v", got, tc.want)
			}
		})
	}
}

func TestBackoffReportsEveryError(t *testing.T) {
	h := newHarness(t, nil)
	p := failing("nws", func(call int) error { return fmt.Errorf("call %d: %w", call, weather.ErrMalformed) })
	if err := h.s.Add(p, time.Minute, 0); err != nil {
		t.Fatal(err)
	}
	h.s.Start()
	h.pollMinutes("nws", 3) // polls at 0, 1 and 3
	for i := 1; i <= 3; i++ {
		rep := h.waitReport()
		if rep.name != "nws" || !errors.Is(rep.err, weather.ErrMalformed) {
			t.Fatalf("report %d = %+v, want nws's error", i, rep)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	tests := []struct {
		name       string
		retryAfter time.Duration
		want       []int
	}{
		// A 429 on the first poll; the next poll succeeds.
		{"retry-after longer than the backoff", 150 * time.Second, []int{0, 3, 4, 5, 6}},
		{"retry-after beyond the backoff cap", 10 * time.Minute, []int{0, 10}},
		{"retry-after shorter than the interval", 30 * time.Second, []int{0, 1, 2, 3, 4, 5, 6}},
		{"429 without retry-after", 0, []int{0, 1, 2, 3, 4, 5, 6}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, func(o *Options) { o.MaxBackoff = 4 * time.Minute })
			p := failing("openmeteo", func(call int) error {
				if call == 1 {
					return fmt.Errorf("poll openmeteo: %w", &weather.HTTPError{Status: 429, RetryAfter: tc.retryAfter})
				}
				return nil
			})
			if err := h.s.Add(p, time.Minute, 0); err != nil {
				t.Fatal(err)
			}
			h.s.Start()
			got := h.pollMinutes("openmeteo", 10)
			if len(got) > len(tc.want) {
				got = got[:len(tc.want)]
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("polled at minutes %v, want %v", got, tc.want)
			}
		})
	}
}
