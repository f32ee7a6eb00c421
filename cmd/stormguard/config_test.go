package main

import (
	"fmt"
	"github.com/stormguard/stormguard/storm"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestConfigErrorsNameTheKey(t *testing.T) {
	const ok = "site: {lat: 40, lon: -105}\nsources:\n  - {type: blitzortung, broker: tcp://127.0.0.1:1883}\n"
	tests := []struct {
		name, file string
		args       []string
		env        [2]string
		want       string
	}{
		{"typo at the top", ok + "stat-dir: /tmp\n", nil, [2]string{}, `unknown key "stat-dir"`},
		{"typo in storm", ok + "storm: {grase: 5m}\n", nil, [2]string{}, "storm.grase: unknown key"},
		{"bad duration", ok + "storm: {grace: soon}\n", nil, [2]string{}, "storm.grace: "},
		{"negative grace", ok + "storm: {grace: -1m}\n", nil, [2]string{}, "storm.grace:"},
		{"watch inside shutdown", ok + "storm: {watch-radius-km: 5}\n", nil, [2]string{}, "storm.watch-radius-km:"},
		{"blind policy", ok + "storm: {blind-policy: panic}\n", nil, [2]string{}, "storm.blind-policy:"},
		{"close radius outside shutdown", ok + "storm: {close-radius-km: 20}\n", nil, [2]string{}, "storm.close-radius-km:"},
		{"negative shutdown time", ok + "storm: {shutdown-time: -1m}\n", nil, [2]string{}, "storm.shutdown-time:"},
		{"track radius inside watch", ok + "storm: {track-radius-km: 30}\n", nil, [2]string{}, "storm.track-radius-km:"},
		{"no site", "sources:\n  - {type: replay, path: x}\n", nil, [2]string{}, "site.lat: required"},
		{"latitude off the globe", strings.Replace(ok, "lat: 40", "lat: 95", 1), nil, [2]string{}, "site.lat: 95"},
		{"no sources", "site: {lat: 40, lon: -105}\n", nil, [2]string{}, "sources: none configured"},
		{"unknown type", "site: {lat: 40, lon: -105}\nsources:\n  - {type: radar}\n", nil, [2]string{}, `sources[0].type: "radar" is not one of`},
		{"feed without a host", "site: {lat: 40, lon: -105}\nsources:\n  - {type: blitzortung}\n", nil, [2]string{}, "sources[0].broker: required"},
		{"typo in a source", "site: {lat: 40, lon: -105}\nsources:\n  - {type: blitzortung, broker: tcp://x:1, radius: 5}\n", nil, [2]string{}, "sources[0].radius: unknown key"},
		{"secret in the file", "site: {lat: 40, lon: -105}\nsources:\n  - {type: xweather, client-id: a, client-secret: b}\n", nil, [2]string{}, "sources[0].client-secret: unknown key (secrets are read from client-secret-file"},
		{"secret missing", "site: {lat: 40, lon: -105}\nsources:\n  - {type: xweather, client-id: a}\n", nil, [2]string{}, "sources[0].client-secret-file: required (or set STORMGUARD_XWEATHER_CLIENT_SECRET)"},
		{"two of a name", ok + "  - {type: blitzortung, broker: tcp://127.0.0.1:1884}\n", nil, [2]string{}, `sources[1].name: "blitzortung" is already used`},
		{"interval on a stream", "site: {lat: 40, lon: -105}\nsources:\n  - {type: blitzortung, broker: tcp://x:1, interval: 1m}\n", nil, [2]string{}, "sources[0].interval"},
		{"context trigger unknown", ok + "storm: {context-triggers: [nws]}\n", nil, [2]string{}, `storm.context-triggers[0]: no source named "nws"`},
		{"bad qos flag", ok, []string{"-qos", "3"}, [2]string{}, "qos: 3"},
		{"bad port from the environment", ok, nil, [2]string{"STORMGUARD_PORT", "70000"}, "port: 70000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.env[0] != "" {
				t.Setenv(tt.env[0], tt.env[1])
			}
			path := filepath.Join(t.TempDir(), "c.yaml")
			os.WriteFile(path, []byte(tt.file), 0o600)
			args := append([]string{"-config", path, "-state-dir", t.TempDir()}, tt.args...)
			_, err := load(newLoader("stormguard run", io.Discard), args)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestConfigSecretsAndDefaults(t *testing.T) {
	t.Setenv("STORMGUARD_XWEATHER_CLIENT_SECRET", "from-env")
	path := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(path, []byte(`site: {lat: 40, lon: -105}
storm: {grace: 2m, hold-after-cancel: 0s}
sources:
  - {type: xweather, client-id: a}
  - {type: openmeteo, name: forecast, watch-interval: 3m}
`), 0o600)
	c, err := load(newLoader("stormguard run", io.Discard), []string{"-config", path, "-state-dir", t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if c.storm.Grace != 2*time.Minute || c.storm.HoldAfterCancel != 0 || c.storm.ShutdownRadiusKM != 16 || c.storm.CancelTopic != "CANCEL" {
		t.Errorf("storm config %+v: want grace 2m, no hold, the default 16 km and CANCEL", c.storm)
	}
	if d := storm.DefaultConfig(); !c.storm.Predict || c.storm.ShutdownTime != d.ShutdownTime || c.storm.Track != d.Track || c.storm.TrackRadiusKM != 100 || c.storm.CloseRadiusKM != 10 {
		t.Errorf("storm config %+v: want prediction on with the default shutdown time, tracker, 100 km track radius and 10 km close radius", c.storm)
	}
	// A shutdown radius smaller than the default close radius takes the
	// close radius with it instead of failing validation.
	os.WriteFile(path, []byte("site: {lat: 40, lon: -105}\nstorm: {shutdown-radius-km: 8}\nsources:\n  - {type: xweather, client-id: a}\n"), 0o600)
	small, err := load(newLoader("stormguard run", io.Discard), []string{"-config", path, "-state-dir", t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if small.storm.CloseRadiusKM != 8 {
		t.Errorf("shutdown radius 8 km: close radius %v, want 8", small.storm.CloseRadiusKM)
	}
	if got := c.sources[1]; got.name != "forecast" || got.source.Name() != "forecast" || got.interval != 15*time.Minute || got.watch != 3*time.Minute {
		t.Errorf("openmeteo source %q/%q every %v, watch %v; want forecast every 15m, 3m on watch", got.name, got.source.Name(), got.interval, got.watch)
	}
}

func TestExampleConfigLoads(t *testing.T) {
	c, err := load(newLoader("stormguard check", io.Discard), []string{"-config", "../../examples/stormguard.yaml", "-state-dir", t.TempDir()})
	if err != nil {
		t.Fatalf("the example config does not load: %v", err)
	}
	if len(c.sources) != 1 || c.sources[0].typ != "blitzortung" {
		t.Errorf("example sources %+v, want the one blitzortung feed", c.sources)
	}
}

// TestReplaySpeedRunsTheTracker: a config whose sources all replay at one
// speed runs the tracker at that speed (a drill); any live source, or two
// speeds, keep it on the wall clock.
func TestReplaySpeedRunsTheTracker(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "storm.jsonl")
	os.WriteFile(rec, []byte(`{"time":"2026-07-15T18:00:00Z","distance_km":30,"bearing_deg":250}`+"\n"), 0o600)
	for _, tc := range []struct {
		sources string
		want    float64
	}{
		{fmt.Sprintf("  - {type: replay, path: %q, speed: 60}\n", rec), 60},
		{fmt.Sprintf("  - {type: replay, path: %q, speed: 60}\n  - {type: replay, name: b, path: %q, speed: 60}\n", rec, rec), 60},
		{fmt.Sprintf("  - {type: replay, path: %q}\n", rec), 1},
		{fmt.Sprintf("  - {type: replay, path: %q, speed: 60}\n  - {type: replay, name: b, path: %q, speed: 30}\n", rec, rec), 1},
		{fmt.Sprintf("  - {type: replay, path: %q, speed: 60}\n  - {type: blitzortung, broker: \"tcp://127.0.0.1:1\"}\n", rec), 1},
	} {
		path := filepath.Join(t.TempDir(), "c.yaml")
		os.WriteFile(path, []byte("site: {lat: 40, lon: -105}\nsources:\n"+tc.sources), 0o600)
		c, err := load(newLoader("stormguard run", io.Discard), []string{"-config", path, "-state-dir", t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		if c.storm.TimeScale != tc.want {
			t.Errorf("sources\n%s: tracker time scale %v, want %v", tc.sources, c.storm.TimeScale, tc.want)
		}
	}
}
