package storm

import (
	"fmt"
	"testing"
	"time"
)

func TestTrend(t *testing.T) {
	tests := []struct {
		name string
		km   []float64 // one strike a minute from 19:40
		want Trend
	}{
		{"approaching", []float64{35, 30, 26, 21, 17}, TrendApproaching},
		{"receding", []float64{18, 22, 27, 31, 36}, TrendReceding},
		{"steady", []float64{25, 24, 26, 24, 25}, TrendSteady},
		{"scattered but approaching", []float64{30, 36, 24, 29, 18, 22}, TrendApproaching},
		{"too few strikes", []float64{30, 20}, TrendUnknown},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEngine(t, nil, blitz)
			for i, km := range tc.km {
				now := at("19:40:00").Add(time.Duration(i) * time.Minute)
				e.Observe(now, hit("blitzortung", km, now))
			}
			if got := e.State().Trend; got != tc.want {
				t.Errorf("trend = %s, want %s", got, tc.want)
			}
		})
	}
}

// TestTrendWindowBounded feeds a long, dense storm (a strike a second for
// three hours) and checks that the state keeps a bounded window that follows
// the storm's latest movement.
func TestTrendWindowBounded(t *testing.T) {
	e := newEngine(t, func(c *Config) { c.ShutdownRadiusKM = 1 }, blitz)
	now := at("17:00:00")
	feed := func(d time.Duration, km func(min float64) float64) {
		for end := now.Add(d); now.Before(end); now = now.Add(time.Second) {
			scatter := float64(now.Second()%7) - 3
			e.Observe(now, hit("blitzortung", km(now.Sub(at("17:00:00")).Minutes())+scatter, now))
		}
	}
	// In from 38 km to 8 km over two and a half hours...
	feed(150*time.Minute, func(m float64) float64 { return 38 - m*0.2 })
	if st := e.State(); st.Trend != TrendApproaching || len(st.Recent) != recentMax {
		t.Fatalf("after approach: trend %s with %d entries, want approaching with %d", st.Trend, len(st.Recent), recentMax)
	}
	// ...then away at 30 km/h for half an hour.
	feed(30*time.Minute, func(m float64) float64 { return 8 + (m-150)*0.5 })
	st := e.State()
	if len(st.Recent) != recentMax {
		t.Errorf("kept %d entries, want %d", len(st.Recent), recentMax)
	}
	if st.Trend != TrendReceding {
		t.Errorf("trend = %s, want receding", st.Trend)
	}
}

func TestRecentOutOfOrder(t *testing.T) {
	e := newEngine(t, nil, blitz, xw)
	e.Observe(at("19:45:10"), hit("blitzortung", 30, at("19:45:10")))
	e.Observe(at("19:47:10"), hit("blitzortung", 28, at("19:47:10")))
	// A polled source reports an older, nearer strike late.
	e.Observe(at("19:47:20"), hit("xweather", 25, at("19:45:40")))
	e.Observe(at("19:47:30"), hit("xweather", 33, at("19:46:40")))
	var got []float64
	for _, s := range e.State().Recent {
		got = append(got, s.DistanceKM)
	}
	want := []float64{25, 33, 28}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("recent = %v, want %v (nearest per minute, in time order)", got, want)
	}
}
