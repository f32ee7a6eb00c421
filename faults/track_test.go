package faults

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stormguard/stormguard/internal/fleettest"
	"github.com/stormguard/stormguard/internal/guard"
	"github.com/stormguard/stormguard/internal/mqtttest"
	"github.com/stormguard/stormguard/mqtt"
	"github.com/stormguard/stormguard/storm"
	"github.com/stormguard/stormguard/wire"
)

// The tests here drive the stormguard binary with a Blitzortung-format
// feed the way a relay does: each strike is stamped with when it
// happened. A cell's last twenty minutes of strikes, sent at once, are
// what stormguard would have seen over those minutes, so tracking is
// tested in seconds. The storm config is the default one but for grace.

// trackSG starts stormguard on the broker with the default storm config
// (grace shortened to 20 s) and a strike feed, waits until the feed's
// subscription is up, and returns the observer and the feed's client.
func trackSG(t *testing.T, b *mqtttest.Broker, extra string) (*sgObserver, *mqtt.Client) {
	t.Helper()
	host, port, _ := strings.Cut(b.Addr, ":")
	tp := wire.Topics{}
	obs := newSGObserver(t, b.URL, tp.Command(wire.Shutdown), tp.State(guard.Name), tp.Event(guard.Name))
	cfg := writeSGConfig(t, fmt.Sprintf(`tick: 200ms
storm:
  grace: 20s
%ssources:
  - {type: blitzortung, broker: %q}
`, extra, b.URL))
	startSG(t, "stormguard", "-config", cfg, "-host", host, "-port", port, "-state-dir", t.TempDir(), "-name", "sgtrack")
	feed := fleettest.Client(t, b.URL, nil)
	// Strikes 39 km east, all at one moment, are no tracked cell.
	sgAwaitWatch(t, feed, obs, 39, 90)
	return obs, feed
}

// cellStrikes sends a cell's strikes, one every 10 s over the 20 minutes
// up to now, its centre moving from (x0, y0) km east and north of the
// site to (x1, y1), scattered ±1.5 km in a fixed pattern.
func cellStrikes(t *testing.T, feed *mqtt.Client, x0, y0, x1, y1 float64) {
	t.Helper()
	now := time.Now()
	const n = 120
	for i := 0; i <= n; i++ {
		f := float64(i) / n
		x := x0 + (x1-x0)*f + 1.5*math.Sin(float64(i)*2.1)
		y := y0 + (y1-y0)*f + 1.5*math.Cos(float64(i)*1.3)
		bearing := math.Mod(math.Atan2(x, y)*180/math.Pi+360, 360)
		sgStrike(t, feed, math.Hypot(x, y), bearing, now.Add(-time.Duration(n-i)*10*time.Second))
	}
}

func eventText(kind string) func(sgMsg) bool {
	return func(m sgMsg) bool {
		var e guard.Event
		return m.topic == (wire.Topics{}).Event(guard.Name) && json.Unmarshal(m.payload, &e) == nil && e.Kind == kind
	}
}

func decodeEvent(t *testing.T, m sgMsg) guard.Event {
	t.Helper()
	var e guard.Event
	if err := json.Unmarshal(m.payload, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

// TestTrackedPassingStormThroughTheFeed: a cell passing 30 km north at
// 60 km/h starts no countdown; while it is tracked, a lone strike 12 km
// SSW (beyond the 10 km close radius) waits and says why, and a strike at
// the cell's edge inside 16 km waits too; a second strike beside the lone
// one confirms it and starts the one countdown, naming it.
func TestTrackedPassingStormThroughTheFeed(t *testing.T) {
	mqtttest.Each(t, func(t *testing.T, b *mqtttest.Broker) {
		obs, feed := trackSG(t, b, "")
		cellStrikes(t, feed, -20, 30, 0, 30)
		tracked := sgIsState(func(s guard.State) bool {
			for _, c := range s.Cells {
				if c.DistanceKM >= 28 && c.DistanceKM <= 32 && c.HeadingDeg > 70 && c.HeadingDeg < 110 && c.Arrival.IsZero() {
					return true
				}
			}
			return false
		})
		obs.wait(0, "the passing cell in the state, moving east, no arrival", tracked)

		// The lone strike happened a minute and a half before the one that
		// confirms it (strikes of one cell seconds apart are one flash).
		from := len(obs.all(func(sgMsg) bool { return true }))
		sgStrike(t, feed, 12, 200, time.Now().Add(-90*time.Second))
		m, _ := obs.wait(from, "an info event for the lone strike", eventText(string(storm.EventInfo)))
		if e := decodeEvent(t, m); !regexp.MustCompile(`^lightning 12\.0 km SSW at \d\d:\d\dZ \(blitzortung\) is alone, far from the storm cells: no countdown unless another strike confirms it`).MatchString(e.Text) {
			t.Errorf("info event %q", e.Text)
		}
		obs.wait(from, "the state saying the strike waits", sgIsState(func(s guard.State) bool {
			return strings.HasPrefix(s.Doubted, "lightning 12.0 km SSW") && strings.Contains(s.Next, "it starts a countdown if another strike confirms it by")
		}))
		// At the cell's edge: 15.5 km north, 14.5 km from its centre.
		sgStrike(t, feed, 15.5, 0, time.Now())
		if _, _, ok := obs.within(0, 3*time.Second, sgIsShutdown); ok {
			t.Fatal("a lone strike or one at a passing cell's edge started a countdown")
		}

		sgStrike(t, feed, 12.5, 203, time.Now())
		m, _ = obs.wait(0, "SHUTDOWN after the confirming strike", sgIsShutdown)
		cmd, err := wire.Decode(wire.Shutdown, m.topic, m.payload)
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`^lightning 12\.0 km SSW at \d\d:\d\dZ \(blitzortung\), confirmed by another strike near it; powering down at \d\d:\d\dZ unless cancelled on CANCEL$`).MatchString(cmd.Reason) {
			t.Errorf("reason %q", cmd.Reason)
		}
		obs.wait(0, "countdown state", sgIsState(func(s guard.State) bool { return s.Phase == storm.PhaseCountdown && s.CommandID == cmd.ID }))
		if n := len(obs.all(sgIsShutdown)); n != 1 {
			t.Errorf("%d SHUTDOWNs, want 1", n)
		}
	})
}

// TestTrackedApproachingStormThroughTheFeed: a cell 30 km WSW closing at
// 60 km/h gets a countdown from its predicted arrival, with no strike
// inside 16 km yet, worded in cells, with the hosts due down before the
// arrival it names.
func TestTrackedApproachingStormThroughTheFeed(t *testing.T) {
	mqtttest.Each(t, func(t *testing.T, b *mqtttest.Broker) {
		obs, feed := trackSG(t, b, "  confirm-for: 1s\n")
		// From 50 km WSW to 30 km WSW over the last 20 minutes: 60 km/h.
		u := [2]float64{math.Sin(247.5 * math.Pi / 180), math.Cos(247.5 * math.Pi / 180)}
		cellStrikes(t, feed, 50*u[0], 50*u[1], 30*u[0], 30*u[1])
		m, _ := obs.wait(0, "a predicted SHUTDOWN", sgIsShutdown)
		sent := time.Now()
		cmd, err := wire.Decode(wire.Shutdown, m.topic, m.payload)
		if err != nil {
			t.Fatal(err)
		}
		re := regexp.MustCompile(`^storm cell (\d+) km WSW moving ENE at (\d+) km/h, lightning expected inside 16 km at (\d\d):(\d\d)Z; powering down at \d\d:\d\dZ unless cancelled on CANCEL$`)
		sub := re.FindStringSubmatch(cmd.Reason)
		if sub == nil {
			t.Fatalf("reason %q is not worded in cells", cmd.Reason)
		}
		if km, speed := atoi(sub[1]), atoi(sub[2]); km < 26 || km > 32 || speed < 50 || speed > 70 {
			t.Errorf("reason %q: want the cell about 30 km out at about 60 km/h", cmd.Reason)
		}
		// The arrival it names: the cell's lightning (centre less its
		// reach) at 16 km, about 10 minutes after now for a cell 30 km out
		// at 60 km/h; the hosts are due down (deadline + 3 min) before it.
		utc := sent.UTC()
		arrival := time.Date(utc.Year(), utc.Month(), utc.Day(), atoi(sub[3]), atoi(sub[4]), 0, 0, time.UTC)
		if arrival.Before(utc.Add(-12 * time.Hour)) {
			arrival = arrival.Add(24 * time.Hour)
		}
		if down := cmd.Deadline.Add(3 * time.Minute); !down.Before(arrival.Add(time.Minute)) || arrival.Sub(utc) > 16*time.Minute {
			t.Errorf("hosts down at %v, lightning expected at %v (named in %q)", down, arrival, cmd.Reason)
		}
		m, _ = obs.wait(0, "countdown state", sgIsState(func(s guard.State) bool { return s.Phase == storm.PhaseCountdown && s.CommandID == cmd.ID }))
		st, _ := sgDecodeState(m)
		if len(st.Cells) == 0 || st.Cells[0].Arrival.IsZero() || st.Nearest == nil || st.Nearest.DistanceKM < 16 {
			t.Errorf("state cells %+v, nearest %+v: want the cell with its arrival, no strike inside", st.Cells, st.Nearest)
		}
	})
}

func atoi(s string) int {
	n := 0
	for _, r := range s {
		n = 10*n + int(r-'0')
	}
	return n
}

// TestTrackedReplayDrill: a drill replays a recorded
// storm at 120 times its speed, the config's durations shortened to
// match. Every source is a replay at one speed, so stormguard tracks on
// the recording's clock: the countdown names the cell at its recorded
// speed and comes early enough that the hosts are down (deadline plus
// shutdown time) before the first replayed strike inside 16 km.
func TestTrackedReplayDrill(t *testing.T) {
	b := mqtttest.NATS(t)
	host, port, _ := strings.Cut(b.Addr, ":")
	tp := wire.Topics{}
	obs := newSGObserver(t, b.URL, tp.Command(wire.Shutdown), tp.State(guard.Name))

	// One strike every 10 s of storm time for 50 minutes, the cell's centre
	// from 60 km WSW toward the site at 60 km/h, scattered ±1.5 km.
	var rec strings.Builder
	t0 := time.Date(2026, 7, 15, 18, 0, 0, 0, time.UTC)
	u := [2]float64{math.Sin(247.5 * math.Pi / 180), math.Cos(247.5 * math.Pi / 180)}
	firstInside := -1.0
	for i := 0; i <= 300; i++ {
		d := 60 - float64(i)/6 // km: 1 km a storm minute
		x := d*u[0] + 1.5*math.Sin(float64(i)*2.1)
		y := d*u[1] + 1.5*math.Cos(float64(i)*1.3)
		dist := math.Hypot(x, y)
		if dist < 16 && firstInside < 0 {
			firstInside = float64(i) * 10 // storm seconds
		}
		fmt.Fprintf(&rec, `{"time":%q,"distance_km":%.3f,"bearing_deg":%.2f}`+"\n",
			t0.Add(time.Duration(i)*10*time.Second).Format(time.RFC3339), dist, math.Mod(math.Atan2(x, y)*180/math.Pi+360, 360))
	}
	path := writeFile(t, "storm.jsonl", rec.String())
	cfg := writeSGConfig(t, fmt.Sprintf(`tick: 100ms
storm:
  grace: 3s
  shutdown-time: 2s
  predict-margin: 5s
  confirm-for: 1s
  all-clear: 30s
sources:
  - {type: replay, path: %q, speed: 120}
`, path))
	started := time.Now()
	startSG(t, "stormguard", "-config", cfg, "-host", host, "-port", port, "-state-dir", t.TempDir(), "-name", "sgdrill")

	// The replay lasts 25 s; the countdown is due about 12 s in.
	m, _, ok := obs.within(0, 90*time.Second, sgIsShutdown)
	if !ok {
		t.Fatal("no SHUTDOWN in 90 s of a 25 s replay")
	}
	cmd, err := wire.Decode(wire.Shutdown, m.topic, m.payload)
	if err != nil {
		t.Fatal(err)
	}
	sub := regexp.MustCompile(`^storm cell \d+ km WSW moving ENE at (\d+) km/h, lightning expected inside 16 km at \d\d:\d\dZ`).FindStringSubmatch(cmd.Reason)
	if sub == nil {
		t.Fatalf("reason %q: want a tracked cell", cmd.Reason)
	}
	if v := atoi(sub[1]); v < 50 || v > 70 {
		t.Errorf("reason %q: want the recorded 60 km/h, not the replay's speed", cmd.Reason)
	}
	m, _, ok = obs.within(0, 90*time.Second, sgIsState(func(s guard.State) bool {
		return s.Nearest != nil && s.Nearest.DistanceKM < 16
	}))
	if !ok {
		t.Fatal("the replay's strikes inside 16 km never showed in the state")
	}
	st, _ := sgDecodeState(m)
	down := cmd.Deadline.Add(2 * time.Second)
	if !down.Before(st.Nearest.Time) {
		t.Errorf("hosts down at %v, first strike inside at %v (%.0f s of replay after the start at %v)", down, st.Nearest.Time, firstInside/120, started)
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
