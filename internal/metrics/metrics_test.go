package metrics

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stormguard/stormguard/internal/guard"
	"github.com/stormguard/stormguard/internal/watch"
	"github.com/stormguard/stormguard/storm"
	"github.com/stormguard/stormguard/weather"
	"github.com/stormguard/stormguard/wire"
)

func scrape(t *testing.T, h http.Handler) string {
	t.Helper()
	s := httptest.NewServer(h)
	defer s.Close()
	resp, err := http.Get(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestGuardMetrics(t *testing.T) {
	deadline := time.Unix(1780000000, 0).UTC()
	snap := watch.Snapshot{Connected: true, GuardOnline: true,
		Guard: &guard.State{State: storm.State{Phase: storm.PhaseCountdown, Deadline: deadline, Countdowns: 1,
			Nearest: &storm.Strike{DistanceKM: 7.5},
			Sources: map[string]storm.SourceHealth{
				"blitz": {Kind: "trigger", Status: storm.StatusOK},
				"owm":   {Kind: "context", Status: storm.StatusFailing},
			}}},
		Hosts: []watch.Host{
			{Name: "a", Seen: true, Present: true, State: &wire.HostState{Pending: []wire.Pending{{ID: "x"}}}},
			{Name: "b", Seen: true, Present: false, State: &wire.HostState{}},
			{Name: "c", Seen: true, Present: true, State: &wire.HostState{}},
			{Name: "weatherstation", Seen: true, Present: true}, // not an agent
		}}
	g := NewGuard("v1.2.3", func() watch.Snapshot { return snap })
	g.Report(weather.Report{Source: "blitz", Strikes: make([]weather.Strike, 3)})
	g.Report(weather.Report{Source: "blitz"})
	g.PublishFailed("state")
	g.Countdown()
	out := scrape(t, g.Handler())
	for _, want := range []string{
		`stormguard_strikes_total{source="blitz"} 3`,
		`stormguard_source_reports_total{source="blitz"} 2`,
		`stormguard_publish_failures_total{kind="state"} 1`,
		`stormguard_countdowns_total 1`,
		`stormguard_phase{phase="countdown"} 1`,
		`stormguard_phase{phase="clear"} 0`,
		`stormguard_source_healthy{kind="trigger",source="blitz",status="ok"} 1`,
		`stormguard_source_healthy{kind="context",source="owm",status="failing"} 0`,
		`stormguard_nearest_strike_km 7.5`,
		`stormguard_deadline_timestamp_seconds 1.78e+09`,
		`stormguard_fleet_hosts{presence="present"} 2`,
		`stormguard_fleet_hosts{presence="absent"} 1`,
		`stormguard_fleet_hosts_pending 1`,
		`stormguard_build_info{version="v1.2.3"} 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(out, want+"\n") && !strings.Contains(out, want+" ") && !(want == "go_goroutines" && strings.Contains(out, want)) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestAgentMetrics(t *testing.T) {
	ready := make(chan struct{})
	alive := errors.New("stuck")
	a := &Agent{Host: "pi", Version: "v1", Ready: ready, Alive: func(context.Context) error { return alive }}
	out := scrape(t, a.Handler())
	if !strings.Contains(out, `stormguard_agent_loop_alive{host="pi"} 0`) || !strings.Contains(out, `stormguard_agent_ready{host="pi"} 0`) {
		t.Errorf("stuck, unready agent:\n%s", out)
	}
	close(ready)
	alive = nil
	out = scrape(t, a.Handler())
	if !strings.Contains(out, `stormguard_agent_loop_alive{host="pi"} 1`) || !strings.Contains(out, `stormguard_agent_ready{host="pi"} 1`) {
		t.Errorf("healthy agent:\n%s", out)
	}
}
