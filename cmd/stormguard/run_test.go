package main

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
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

var hosts = []string{"nas", "pi"}

func TestStrikeFeedShutdownCancelAndRestart(t *testing.T) {
	mqtttest.Each(t, func(t *testing.T, b *mqtttest.Broker) {
		host, port, _ := net.SplitHostPort(b.Addr)
		w := newWatcher(t, b.URL)
		for _, h := range hosts {
			fleettest.DryRunAgent(t, b.URL, h)
		}
		cfg := writeConfig(t, "  - {type: blitzortung, broker: \""+b.URL+"\"}\n")
		args := []string{"-config", cfg, "-host", host, "-port", port, "-state-dir", t.TempDir(), "-name", "sgtest"}
		d := startDaemon(t, args...)

		// The feed's subscription comes up with the daemon: a strike inside
		// the watch radius, repeated until it shows, proves it is there.
		w.awaitWatch()

		w.strike(9.2, 292.5)
		m, _ := w.wait(0, "SHUTDOWN", isShutdown(""))
		cmd := decodeCommand(t, m)
		if !regexp.MustCompile(`^lightning 9\.2 km WNW at \d\d:\d\dZ \(blitzortung\); powering down at \d\d:\d\dZ unless cancelled on CANCEL$`).MatchString(cmd.Reason) {
			t.Errorf("reason %q is not the sentence a person should read", cmd.Reason)
		}
		if cmd.Issuer != "stormguard@sgtest" || cmd.Plain || !strings.HasSuffix(cmd.ID, "-1") {
			t.Errorf("command issuer %q id %q plain %v, want a JSON command from stormguard@sgtest ending -1", cmd.Issuer, cmd.ID, cmd.Plain)
		}
		if left := time.Until(cmd.Deadline); left < 3*time.Second || left > 7*time.Second {
			t.Errorf("deadline %v from now, want the 6s grace", left)
		}
		if !cmd.Expires.After(cmd.Deadline) {
			t.Errorf("expires %v is not after the deadline %v", cmd.Expires, cmd.Deadline)
		}
		for _, h := range hosts {
			w.wait(0, h+" scheduled", isAck(h, wire.Scheduled, cmd.ID))
		}
		w.wait(0, "countdown state", isState(func(s guard.State) bool {
			return s.Phase == storm.PhaseCountdown && s.CommandID == cmd.ID && s.Deadline.Equal(cmd.Deadline) &&
				s.Nearest != nil && math.Abs(s.Nearest.DistanceKM-9.2) < 0.05 && s.Bearing == "WNW"
		}))

		// A cancel for someone else's command is not ours; a person's is.
		other, _ := wire.Command{ID: "c-other", Action: wire.Cancel, Cancels: "sa-other", IssuedAt: time.Now()}.Encode()
		w.publish("CANCEL", false, other)
		w.publish("CANCEL", false, []byte("false alarm"))
		for _, h := range hosts {
			w.wait(0, h+" cancelled", isAck(h, wire.Cancelled, cmd.ID))
		}
		ev, _ := w.wait(0, "cancelled event", isEvent(guard.EventCancelled))
		if !strings.Contains(string(ev.Payload), "false alarm") {
			t.Errorf("first cancel event %s is not the person's cancel", ev.Payload)
		}
		w.wait(0, "watch after cancel", isState(func(s guard.State) bool {
			return s.Phase == storm.PhaseWatch && strings.Contains(s.CancelledBy, "false alarm")
		}))

		// Closer lightning breaks the hold: a second countdown.
		w.strike(1.6, 20)
		m2, _ := w.wait(0, "second SHUTDOWN", isShutdown(strings.TrimSuffix(cmd.ID, "-1")+"-2"))
		cmd2 := decodeCommand(t, m2)
		for _, h := range hosts {
			w.wait(0, h+" scheduled 2", isAck(h, wire.Scheduled, cmd2.ID))
		}

		// Restart in the middle of the countdown: same deadline, no new SHUTDOWN.
		d.stop(t)
		restarted := time.Now()
		startDaemon(t, args...)
		w.wait(0, "state after restart", isState(func(s guard.State) bool {
			return s.At.After(restarted) && s.Phase == storm.PhaseCountdown && s.Deadline.Equal(cmd2.Deadline) && s.CommandID == cmd2.ID
		}))
		for _, h := range hosts {
			w.wait(0, h+" done", isAck(h, wire.Done, cmd2.ID))
		}
		w.wait(0, "phase shutdown", isState(func(s guard.State) bool { return s.Phase == storm.PhaseShutdown && s.At.After(restarted) }))
		if n := w.count(isShutdown("")); n != 2 {
			t.Errorf("%d SHUTDOWNs published, want 2: the restart must not send another", n)
		}
	})
}

func TestPolledSourceOverHTTP(t *testing.T) {
	b := mqtttest.NATS(t)
	host, port, _ := net.SplitHostPort(b.Addr)
	body, err := os.ReadFile("testdata/xweather-lightning-closest.json")
	if err != nil {
		t.Fatal(err)
	}
	// The recording was asked at T0+45s; move it to now, or the strikes
	// are older than the all clear and rightly ignored.
	shift := time.Now().Unix() - (1784145600 + 45)
	body = regexp.MustCompile(`"timestamp": (\d+)`).ReplaceAllFunc(body, func(m []byte) []byte {
		n, _ := strconv.ParseInt(string(m[len(`"timestamp": `):]), 10, 64)
		return []byte(fmt.Sprintf(`"timestamp": %d`, n+shift))
	})
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("client_secret") != "s3cret" {
			http.Error(rw, `{"success":false,"error":{"code":"invalid_client"}}`, http.StatusUnauthorized)
			return
		}
		rw.Header().Set("Content-Type", "application/json")
		rw.Write(body)
	}))
	defer srv.Close()
	secret := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secret, []byte("s3cret\n"), 0o600)

	w := newWatcher(t, b.URL)
	fleettest.DryRunAgent(t, b.URL, "nas")
	cfg := writeConfig(t, fmt.Sprintf("  - {type: xweather, base-url: %q, client-id: abc, client-secret-file: %q}\n", srv.URL, secret))
	startDaemon(t, "-config", cfg, "-host", host, "-port", port, "-state-dir", t.TempDir())

	m, _ := w.wait(0, "SHUTDOWN", isShutdown(""))
	cmd := decodeCommand(t, m)
	if !strings.HasPrefix(cmd.Reason, "lightning 3.6 km NNE at ") || !strings.Contains(cmd.Reason, "(xweather)") {
		t.Errorf("reason %q, want the 3.6 km NNE strike from xweather", cmd.Reason)
	}
	w.wait(0, "scheduled", isAck("nas", wire.Scheduled, cmd.ID))
	w.wait(0, "xweather healthy in state", isState(func(s guard.State) bool {
		return s.Sources["xweather"].Status == storm.StatusOK
	}))
}

func TestRetainedStateAndPresence(t *testing.T) {
	b := mqtttest.NATS(t)
	host, port, _ := net.SplitHostPort(b.Addr)
	cfg := writeConfig(t, "  - {type: blitzortung, broker: \""+b.URL+"\"}\n")
	early := newWatcher(t, b.URL)
	d := startDaemon(t, "-config", cfg, "-host", host, "-port", port, "-state-dir", t.TempDir())
	clear := isState(func(s guard.State) bool {
		return s.Phase == storm.PhaseClear && s.Sources["blitzortung"].Kind == "trigger"
	})
	early.wait(0, "first state", clear)

	presence := wire.Topics{}.Presence(guard.Name)
	stateTopic := wire.Topics{}.State(guard.Name)
	mqtttest.WaitRetainedMatch(t, b.URL, nil, stateTopic, "the clear state", func(p []byte) bool {
		return clear(mqtt.Message{Topic: stateTopic, Payload: p})
	})
	mqtttest.WaitRetained(t, b.URL, nil, presence, wire.PresenceTrue)
	late := newWatcher(t, b.URL, presence)
	m, _ := late.wait(0, "state for a late subscriber", clear)
	if !m.Retained {
		t.Error("the state reached a late subscriber but not as a retained message")
	}
	is := func(v string) func(mqtt.Message) bool {
		return func(m mqtt.Message) bool { return m.Topic == presence && string(m.Payload) == v }
	}
	late.wait(0, "presence True", is(wire.PresenceTrue))
	d.stop(t)
	late.wait(0, "presence False after a clean stop", is(wire.PresenceFalse))
}
