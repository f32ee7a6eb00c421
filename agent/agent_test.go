package agent

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stormguard/stormguard/internal/mqtttest"
	"github.com/stormguard/stormguard/journal"
	"github.com/stormguard/stormguard/mqtt"
	"github.com/stormguard/stormguard/wire"
)

var clientSeq atomic.Int64

// host is one agent under test, with a power command that only counts.
type host struct {
	t      *testing.T
	name   string
	dir    string
	runs   string
	cfg    Config
	agent  *Agent
	cancel context.CancelFunc
	done   chan error
}

func newHost(t *testing.T, url, name string, mod func(*Config)) *host {
	t.Helper()
	dir := t.TempDir()
	h := &host{t: t, name: name, dir: dir, runs: filepath.Join(dir, "runs.log")}
	script := filepath.Join(dir, "power.sh")
	// The reason is never in argv; the script records what it was given.
	body := fmt.Sprintf("#!/bin/sh\necho \"$STORMGUARD_ACTION $STORMGUARD_COMMAND_ID args=$#\" >> %s\n", h.runs)
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	h.cfg = Config{
		Policy:      Policy{Host: name, Groups: []string{"office"}, MaxAge: time.Minute},
		MQTT:        mqtt.Config{Brokers: []string{url}},
		QoS:         1,
		StateDir:    filepath.Join(dir, "state"),
		ShutdownCmd: []string{script},
		RebootCmd:   []string{script},
	}
	if os.Getenv("DEBUGLOG") != "" {
		h.cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if mod != nil {
		mod(&h.cfg)
	}
	h.start()
	return h
}

func (h *host) start() {
	h.t.Helper()
	a, err := New(h.cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	h.agent = a
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel, h.done = cancel, make(chan error, 1)
	go func() { h.done <- a.Run(ctx) }()
	h.t.Cleanup(h.stop)
	select {
	case <-a.Ready():
	case <-time.After(10 * time.Second):
		h.t.Fatal("agent not subscribed within 10s")
	}
}

func (h *host) stop() {
	if h.cancel == nil {
		return
	}
	h.cancel()
	if err := <-h.done; err != nil {
		h.t.Errorf("agent Run: %v", err)
	}
	h.cancel = nil
}

// ran returns the lines the power command wrote: one per execution.
func (h *host) ran() []string {
	b, _ := os.ReadFile(h.runs)
	s := strings.TrimSpace(string(b))
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func (h *host) journal() []journal.Record {
	recs, err := journal.ReadAll(h.cfg.StateDir)
	if err != nil {
		h.t.Fatal(err)
	}
	return recs
}

// watcher is a plain client that publishes commands and collects acks.
type watcher struct {
	t    *testing.T
	c    *mqtt.Client
	acks chan wire.Ack
	pres chan string
	seen []wire.Ack // received but not yet waited for
}

func newWatcher(t *testing.T, url string) *watcher {
	t.Helper()
	w := &watcher{t: t, acks: make(chan wire.Ack, 100), pres: make(chan string, 100)}
	c, err := mqtt.New(mqtt.Config{Brokers: []string{url}, ClientID: fmt.Sprintf("watch-%d", clientSeq.Add(1)), CleanSession: true})
	if err != nil {
		t.Fatal(err)
	}
	c.Handle(wire.Topics{}.AckFilter(), 1, func(m mqtt.Message) {
		if a, err := wire.DecodeAck(m.Payload); err == nil {
			w.acks <- a
		}
	})
	c.Handle("resourceavailable/+/presence", 1, func(m mqtt.Message) {
		if !m.Retained {
			w.pres <- m.Topic + " " + string(m.Payload)
		}
	})
	c.Start()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(50 * time.Millisecond) })
	w.c = c
	return w
}

func (w *watcher) publish(topic string, retained bool, payload []byte) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.c.Publish(ctx, topic, 1, retained, payload); err != nil {
		w.t.Fatal(err)
	}
}

// waitAck waits for an ack from host in state; others are kept for later waits.
func (w *watcher) waitAck(host string, state wire.AckState) wire.Ack {
	w.t.Helper()
	for i, a := range w.seen {
		if a.Host == host && a.State == state {
			w.seen = append(w.seen[:i], w.seen[i+1:]...)
			return a
		}
	}
	deadline := time.After(10 * time.Second)
	for {
		select {
		case a := <-w.acks:
			if a.Host == host && a.State == state {
				return a
			}
			w.seen = append(w.seen, a)
		case <-deadline:
			w.t.Fatalf("no %q ack from %s within 10s", state, host)
		}
	}
}

func cmdJSON(t *testing.T, c wire.Command) []byte {
	t.Helper()
	if c.IssuedAt.IsZero() {
		c.IssuedAt = time.Now()
	}
	b, err := c.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAgentWithBrokers(t *testing.T) {
	mqtttest.Each(t, func(t *testing.T, b *mqtttest.Broker) {
		t.Run("plain text from a raw client runs once and keeps the text", func(t *testing.T) {
			w := newWatcher(t, b.URL)
			h := newHost(t, b.URL, "nas1", nil)
			w.publish("SHUTDOWN", false, []byte("storm coming; $(reboot) `id` | sh"))
			w.waitAck("nas1", wire.Done)
			if got := h.ran(); len(got) != 1 || !strings.HasSuffix(got[0], "args=0") {
				t.Errorf("power command ran %q, want once with no arguments", got)
			}
			var kept bool
			for _, r := range h.journal() {
				kept = kept || (r.Kind == journal.KindReceived && r.Payload == "storm coming; $(reboot) `id` | sh")
			}
			if !kept {
				t.Error("the message text is not in the journal")
			}
		})
		t.Run("retained command present at start is not obeyed", func(t *testing.T) {
			w := newWatcher(t, b.URL)
			w.publish("REBOOT/pi3", true, []byte("kernel update"))
			t.Cleanup(func() { w.publish("REBOOT/pi3", true, nil) })
			mqtttest.WaitRetained(t, b.URL, nil, "REBOOT/pi3", "kernel update")
			h := newHost(t, b.URL, "pi3", nil)
			a := w.waitAck("pi3", wire.Rejected)
			if !strings.Contains(a.Detail, "retained") {
				t.Errorf("rejection detail %q does not say retained", a.Detail)
			}
			// A live command after it still works: the agent is up and obeys.
			w.publish("REBOOT/pi3", false, []byte("now for real"))
			w.waitAck("pi3", wire.Done)
			if got := h.ran(); len(got) != 1 {
				t.Errorf("ran %d times, want 1 (the live command only)", len(got))
			}
		})
		t.Run("replayed command and restart do not run it again", func(t *testing.T) {
			w := newWatcher(t, b.URL)
			h := newHost(t, b.URL, "nas3", nil)
			payload := cmdJSON(t, wire.Command{ID: "c-restart", Action: wire.Shutdown, Reason: "storm"})
			w.publish("SHUTDOWN", false, payload)
			w.waitAck("nas3", wire.Done)
			w.publish("SHUTDOWN", false, payload)
			w.waitAck("nas3", wire.Duplicate)
			h.stop()
			h.start()
			w.publish("SHUTDOWN/nas3", false, payload)
			w.waitAck("nas3", wire.Duplicate)
			if got := h.ran(); len(got) != 1 {
				t.Errorf("ran %d times across a replay and a restart, want 1", len(got))
			}
		})
		t.Run("offline briefly gets the commands it missed", func(t *testing.T) {
			w := newWatcher(t, b.URL)
			h := newHost(t, b.URL, "nas4", nil)
			h.stop()
			w.publish("SHUTDOWN", false, cmdJSON(t, wire.Command{ID: "c-fresh", Action: wire.Shutdown}))
			w.publish("REBOOT", false, []byte("kernel update"))
			h.start()
			w.waitAck("nas4", wire.Done)
			w.waitAck("nas4", wire.Done)
			if got := h.ran(); len(got) != 2 {
				t.Errorf("ran %q, want both commands", got)
			}
		})
		t.Run("away past max-age: what waited in the queue expires", func(t *testing.T) {
			w := newWatcher(t, b.URL)
			var offset atomic.Int64
			h := newHost(t, b.URL, "nas7", func(c *Config) {
				c.Now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
			})
			h.stop()
			w.publish("SHUTDOWN", false, []byte("storm"))
			w.publish("REBOOT", false, cmdJSON(t, wire.Command{ID: "c-late", Action: wire.Reboot}))
			offset.Store(int64(10 * time.Minute)) // the host was off for ten minutes
			h.start()
			got := map[string]string{}
			for range 2 {
				e := w.waitAck("nas7", wire.Expired)
				got[e.ID] = e.Detail
			}
			if !strings.Contains(got["c-late"], "away 10m") || len(got) != 2 {
				t.Errorf("expired acks %q, want the plain text and c-late, judged by the ten minutes away", got)
			}
			for id, detail := range got {
				if id != "c-late" && !strings.Contains(detail, "plain text carries no time") {
					t.Errorf("plain text expired with %q", detail)
				}
			}
			if got := h.ran(); len(got) != 0 {
				t.Errorf("ran %q after ten minutes away with max-age 1m, want nothing", got)
			}
		})
		t.Run("cancel during a countdown", func(t *testing.T) {
			w := newWatcher(t, b.URL)
			h := newHost(t, b.URL, "nas5", func(c *Config) {
				c.WarnCmd = []string{"/bin/sh", "-c", "cat > /dev/null"}
			})
			w.publish("SHUTDOWN", false, cmdJSON(t, wire.Command{ID: "c-cd", Action: wire.Shutdown, Deadline: time.Now().Add(3 * time.Second)}))
			w.waitAck("nas5", wire.Scheduled)
			w.publish("CANCEL", false, []byte("false alarm"))
			a := w.waitAck("nas5", wire.Cancelled)
			if a.ID != "c-cd" && !strings.Contains(a.Detail, "cancelled") {
				t.Errorf("cancel ack = %+v", a)
			}
			// Wait past the old deadline: the countdown's own timer must not fire.
			probe := cmdJSON(t, wire.Command{ID: "c-probe", Action: wire.Reboot, Deadline: time.Now().Add(3500 * time.Millisecond)})
			w.publish("REBOOT", false, probe)
			w.waitAck("nas5", wire.Done)
			if got := h.ran(); len(got) != 1 || !strings.Contains(got[0], "c-probe") {
				t.Errorf("ran %q, want only the probe after the cancelled countdown", got)
			}
		})
		t.Run("bad payloads are rejected and the agent stays up", func(t *testing.T) {
			w := newWatcher(t, b.URL)
			h := newHost(t, b.URL, "nas6", nil)
			for _, p := range [][]byte{
				{0xde, 0xad, 0xbe, 0xef, 0x00},
				[]byte(strings.Repeat("A", 1<<20)),
				[]byte(`{"v":1,"id":42,"issued_at":"yesterday"}`),
				[]byte(`{"v":1,"id":"x","issued_at":"2026-01-01T00:00:00Z","exec":"rm -rf /"}`),
				[]byte(`{"v":1,"id":"x","issued_at":`),
			} {
				w.publish("SHUTDOWN", false, p)
				w.waitAck("nas6", wire.Rejected)
			}
			w.publish("SHUTDOWN", false, []byte("still listening?"))
			w.waitAck("nas6", wire.Done)
			if got := h.ran(); len(got) != 1 {
				t.Errorf("ran %d times, want 1 (only the good command)", len(got))
			}
		})
		t.Run("last will and clean presence", func(t *testing.T) {
			w := newWatcher(t, b.URL)
			proxy := mqtttest.NewProxy(t, b)
			newHost(t, proxy.URL, "tub", nil)
			proxy.Down()
			deadline := time.After(10 * time.Second)
			for {
				select {
				case p := <-w.pres:
					if p == "resourceavailable/tub/presence False" {
						return
					}
				case <-deadline:
					t.Fatal("no presence False after the agent vanished")
				}
			}
		})
	})
}

func TestSignedCommands(t *testing.T) {
	b := mqtttest.NATS(t)
	pub, priv, _ := ed25519.GenerateKey(nil)
	_, otherPriv, _ := ed25519.GenerateKey(nil)
	w := newWatcher(t, b.URL)
	h := newHost(t, b.URL, "nas", func(c *Config) { c.Keys = []ed25519.PublicKey{pub}; c.RequireSigned = true })

	good := wire.Command{ID: "s-1", Action: wire.Shutdown, Reason: "storm", IssuedAt: time.Now()}
	good.Sign(priv)
	raw := cmdJSON(t, good)

	w.publish("SHUTDOWN", false, []byte("plain text"))
	w.waitAck("nas", wire.Rejected)
	forged := wire.Command{ID: "s-2", Action: wire.Shutdown, IssuedAt: time.Now()}
	forged.Sign(otherPriv)
	w.publish("SHUTDOWN", false, cmdJSON(t, forged))
	w.waitAck("nas", wire.Rejected)
	tampered := good
	tampered.Reason = "something else"
	w.publish("SHUTDOWN", false, cmdJSON(t, tampered))
	w.waitAck("nas", wire.Rejected)

	w.publish("SHUTDOWN", false, raw)
	w.waitAck("nas", wire.Done)
	w.publish("SHUTDOWN", false, raw) // a captured command, replayed
	w.waitAck("nas", wire.Duplicate)
	if got := h.ran(); len(got) != 1 {
		t.Errorf("ran %d times, want 1", len(got))
	}
}

func TestJournaledButUndecidedIsNotLost(t *testing.T) {
	b := mqtttest.NATS(t)
	w := newWatcher(t, b.URL)
	h := newHost(t, b.URL, "nas", nil)
	h.stop()
	// The process stopped right after journaling a message, before deciding.
	j, _, err := journal.Open(h.cfg.StateDir, func(journal.Record) {})
	if err != nil {
		t.Fatal(err)
	}
	j.Append(true, journal.Record{Kind: journal.KindReceived, Topic: "SHUTDOWN", Payload: "storm", At: time.Now()})
	j.Close()
	h.start()
	w.waitAck("nas", wire.Done)
	h.stop()
	h.start()
	w.publish("SHUTDOWN", false, []byte("storm"))
	w.waitAck("nas", wire.Duplicate)
	if got := h.ran(); len(got) != 1 {
		t.Errorf("ran %d times, want exactly 1", len(got))
	}
}

func TestMosquittoRestartWithQueuedCommand(t *testing.T) {
	b := mqtttest.Mosquitto(t, mqtttest.MosquittoOptions{})
	w := newWatcher(t, b.URL)
	h := newHost(t, b.URL, "nas", nil)
	h.stop()
	w.publish("SHUTDOWN", false, cmdJSON(t, wire.Command{ID: "c-queued", Action: wire.Shutdown}))
	b.Restart(t)
	w = newWatcher(t, b.URL)
	h.start()
	w.waitAck("nas", wire.Done)
	if got := h.ran(); len(got) != 1 {
		t.Errorf("ran %d times, want 1", len(got))
	}
}

func TestAliveAnswersWhileTheBrokerIsDown(t *testing.T) {
	b := mqtttest.NATS(t)
	proxy := mqtttest.NewProxy(t, b)
	a := newHost(t, proxy.URL, "nas", nil).agent
	proxy.Down()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.Alive(ctx); err != nil {
		t.Errorf("Alive with the broker unreachable: %v; the watchdog would restart a healthy agent", err)
	}
}

func TestWarnsUsersWhenArmingAndBeforeFiring(t *testing.T) {
	b := mqtttest.NATS(t)
	w := newWatcher(t, b.URL)
	dir := t.TempDir()
	warnings := filepath.Join(dir, "wall.txt")
	wall := filepath.Join(dir, "wall.sh")
	os.WriteFile(wall, []byte("#!/bin/sh\ncat >> "+warnings+"\necho --- >> "+warnings+"\n"), 0o755)
	h := newHost(t, b.URL, "desk", func(c *Config) {
		c.WarnCmd = []string{wall}
		c.WarnBefore = 500 * time.Millisecond
	})
	w.publish("SHUTDOWN", false, cmdJSON(t, wire.Command{ID: "c-warn", Action: wire.Shutdown, Reason: "lightning 9 km WNW",
		Deadline: time.Now().Add(1500 * time.Millisecond)}))
	w.waitAck("desk", wire.Scheduled)
	w.waitAck("desk", wire.Done)
	var text string
	deadline := time.Now().Add(5 * time.Second)
	for strings.Count(text, "---") < 2 && time.Now().Before(deadline) {
		b, _ := os.ReadFile(warnings)
		text = string(b)
		time.Sleep(10 * time.Millisecond) // polling a file the warn command writes
	}
	parts := strings.Split(text, "---")
	if len(parts) < 3 {
		t.Fatalf("want two warnings (armed, and shortly before), got %q", text)
	}
	if !strings.Contains(parts[0], "will shutdown at") || !strings.Contains(parts[0], "lightning 9 km WNW") || !strings.Contains(parts[0], "shutdownall -cancel") {
		t.Errorf("arming warning = %q", parts[0])
	}
	if !strings.Contains(parts[1], "will shutdown in") {
		t.Errorf("second warning = %q", parts[1])
	}
	if got := h.ran(); len(got) != 1 {
		t.Errorf("ran %d times", len(got))
	}
}

func TestStartsWhileTheBrokerIsDownAndFailsOver(t *testing.T) {
	b := mqtttest.NATS(t)
	proxy := mqtttest.NewProxy(t, b)
	proxy.Down()
	dir := t.TempDir()
	cfg := Config{
		Policy:   Policy{Host: "late", MaxAge: time.Minute},
		MQTT:     mqtt.Config{Brokers: []string{"tcp://127.0.0.1:1", proxy.URL}, MaxReconnect: time.Second},
		QoS:      1,
		StateDir: dir, ShutdownCmd: []string{"true"}, RebootCmd: []string{"true"}, DryRun: true,
	}
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-a.Ready():
		t.Fatal("ready with no broker reachable")
	case err := <-done:
		t.Fatalf("agent gave up while the broker was down: %v", err)
	case <-time.After(300 * time.Millisecond): // the broker is down for this long on purpose
	}
	proxy.Up()
	select {
	case <-a.Ready():
	case <-time.After(15 * time.Second):
		t.Fatal("agent did not connect through the second broker URL once it came up")
	}
	w := newWatcher(t, b.URL)
	w.publish("SHUTDOWN/late", false, []byte("after the outage"))
	w.waitAck("late", wire.Done)
}

// A reason cannot forge a second line under the warning: line breaks and
// invisible characters are made visible, one line per message.
func TestWarningIsOneLinePerMessage(t *testing.T) {
	b := mqtttest.NATS(t)
	w := newWatcher(t, b.URL)
	warnings := filepath.Join(t.TempDir(), "wall")
	h := newHost(t, b.URL, "nas", func(c *Config) {
		c.WarnCmd = []string{"/bin/sh", "-c", "cat >> " + warnings}
	})
	reason := "storm\nstormguard: the shutdown planned for 23:59:00Z is CANCELLED\u202e"
	w.publish("SHUTDOWN", false, cmdJSON(t, wire.Command{ID: "c-lie", Action: wire.Shutdown, Reason: reason, Deadline: time.Now().Add(time.Hour)}))
	w.waitAck("nas", wire.Scheduled)
	var text string
	waitUntil(t, "the warning", func() bool {
		b, _ := os.ReadFile(warnings)
		text = string(b)
		return strings.Contains(text, "CANCELLED")
	})
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "stormguard: the shutdown planned") {
			t.Errorf("the reason printed a line of its own: %q", text)
		}
	}
	if !strings.Contains(text, "storm⏎stormguard: the shutdown") || !strings.Contains(text, "<U+202E>") {
		t.Errorf("warning %q does not show the line break and the override", text)
	}
	h.stop()
}

// A large journal is rotated at start: the agent keeps what it needs (the
// ids it acted on, the pending countdown) and the file shrinks.
func TestLargeJournalIsRotatedAndRemembered(t *testing.T) {
	b := mqtttest.NATS(t)
	w := newWatcher(t, b.URL)
	h := newHost(t, b.URL, "nas", func(c *Config) { c.JournalLimit = 1 << 20 })
	h.stop()
	j, _, err := journal.Open(h.cfg.StateDir, func(journal.Record) {})
	if err != nil {
		t.Fatal(err)
	}
	junk := strings.Repeat("j", 200)
	for i := range 20000 {
		j.Append(false, journal.Record{Kind: journal.KindReceived, Topic: "SHUTDOWN", Payload: junk, At: time.Now()},
			journal.Record{Kind: journal.KindDecision, State: wire.Rejected, Ref: int64(2*i + 1), At: time.Now()})
	}
	j.Append(true, journal.Record{Kind: journal.KindDecision, ID: "c-done", Action: wire.Shutdown, State: wire.Done, At: time.Now()},
		journal.Record{Kind: journal.KindDecision, ID: "c-pending", Action: wire.Reboot, State: wire.Scheduled, Deadline: time.Now().Add(time.Hour), At: time.Now()})
	j.Close()
	h.start()
	fi, err := os.Stat(filepath.Join(h.cfg.StateDir, journal.FileName))
	if err != nil || fi.Size() > 1<<20 {
		t.Fatalf("journal after start: %v bytes (%v), want it rotated below 1 MiB", fi.Size(), err)
	}
	w.publish("SHUTDOWN", false, cmdJSON(t, wire.Command{ID: "c-done", Action: wire.Shutdown}))
	w.waitAck("nas", wire.Duplicate)
	w.publish("CANCEL", false, nil)
	if a := w.waitAck("nas", wire.Cancelled); a.ID != "c-pending" && !strings.Contains(a.Detail, "1 pending") {
		t.Errorf("cancel after rotation: %+v, want the pending countdown called off", a)
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond) // polling a file another process writes
	}
}

// Hosts whose clocks are an hour ahead and an hour behind still obey a
// live command, counting its grace from arrival, and say so.
func TestWrongClockStillObeys(t *testing.T) {
	b := mqtttest.NATS(t)
	w := newWatcher(t, b.URL)
	for _, off := range []time.Duration{time.Hour, -time.Hour} {
		name := "ahead"
		if off < 0 {
			name = "behind"
		}
		h := newHost(t, b.URL, name, func(c *Config) {
			c.Now = func() time.Time { return time.Now().Add(off) }
		})
		id := "c-clock-" + name
		w.publish("SHUTDOWN/"+name, false, cmdJSON(t, wire.Command{ID: id, Action: wire.Shutdown, Deadline: time.Now().Add(2 * time.Second)}))
		s := w.waitAck(name, wire.Scheduled)
		if s.ID != id || !strings.Contains(s.Detail, "clocks disagree: this host is 1h0m0s "+name) {
			t.Errorf("%s: scheduled ack %+v, want the disagreement reported", name, s)
		}
		w.waitAck(name, wire.Done)
		if got := h.ran(); len(got) != 1 {
			t.Errorf("%s: ran %q, want the command once", name, got)
		}
		h.stop()
	}
}

// When the operating system stops the agent after a real power command
// returned (shutdown -h now returns at once), the agent says it is going
// down before its presence goes False.
func TestStoppedAfterPowerCommandSaysStopping(t *testing.T) {
	b := mqtttest.NATS(t)
	w := newWatcher(t, b.URL)
	h := newHost(t, b.URL, "nas", nil)
	w.publish("SHUTDOWN", false, []byte("storm"))
	w.waitAck("nas", wire.Done)
	h.stop()
	if a := w.waitAck("nas", wire.Stopping); !strings.Contains(a.Detail, "going down") {
		t.Errorf("stopping ack %+v", a)
	}
}

// TestOwnPresenceFalseIsAnsweredWhileConnected: the last will of an earlier
// connection can reach the broker after the new connection's True (a
// cluster that lost a node). The connected agent answers its own presence
// False with True, at once, and not in a loop.
func TestOwnPresenceFalseIsAnsweredWhileConnected(t *testing.T) {
	mqtttest.Each(t, func(t *testing.T, b *mqtttest.Broker) {
		w := newWatcher(t, b.URL)
		newHost(t, b.URL, "nas", nil)
		waitPresence(t, w, "nas", wire.PresenceTrue)
		w.publish(wire.Topics{}.Presence("nas"), true, []byte(wire.PresenceFalse))
		// The watcher hands each message to its own goroutine: the False
		// and the True that answers it may come in either order.
		seen := map[string]bool{}
		deadline := time.After(10 * time.Second)
		for !seen[wire.PresenceFalse] || !seen[wire.PresenceTrue] {
			select {
			case p := <-w.pres:
				if topic, payload, _ := strings.Cut(p, " "); topic == (wire.Topics{}).Presence("nas") {
					seen[payload] = true
				}
			case <-deadline:
				t.Fatalf("after the False: seen %v, want the False and a True", seen)
			}
		}
		mqtttest.WaitRetained(t, b.URL, nil, wire.Topics{}.Presence("nas"), wire.PresenceTrue)
	})
}

// waitPresence waits for a live presence message of host with payload.
func waitPresence(t *testing.T, w *watcher, host, payload string) {
	t.Helper()
	want := wire.Topics{}.Presence(host) + " " + payload
	deadline := time.After(10 * time.Second)
	for {
		select {
		case p := <-w.pres:
			if p == want {
				return
			}
		case <-deadline:
			t.Fatalf("no %q within 10s", want)
		}
	}
}
