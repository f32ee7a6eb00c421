package guard

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stormguard/stormguard/internal/fleettest"
	"github.com/stormguard/stormguard/internal/mqtttest"
	"github.com/stormguard/stormguard/mqtt"
	"github.com/stormguard/stormguard/storm"
	"github.com/stormguard/stormguard/weather"
	"github.com/stormguard/stormguard/wire"
)

// idle is a source that reports nothing until stopped.
type idle struct{}

func (idle) Name() string       { return "idle" }
func (idle) Kind() weather.Kind { return weather.Trigger }
func (idle) Stream(ctx context.Context, _ func(weather.Report)) error {
	<-ctx.Done()
	return nil
}

// countdownState is an engine state in the middle of a countdown.
func countdownState(t *testing.T) (storm.State, storm.Shutdown) {
	t.Helper()
	now := time.Now()
	e, err := storm.NewEngine(storm.DefaultConfig(), now)
	if err != nil {
		t.Fatal(err)
	}
	e.Register("idle", weather.Trigger, weather.Answers)
	for _, a := range e.Observe(now, weather.Report{Source: "idle", Strikes: []weather.Strike{{Time: now, Source: "idle", DistanceKM: 5}}}) {
		if s, ok := a.(storm.Shutdown); ok {
			return e.State(), s
		}
	}
	t.Fatal("a strike at 5 km started no countdown")
	return storm.State{}, storm.Shutdown{}
}

func runGuard(t *testing.T, url, dir string) *Guard {
	t.Helper()
	return runGuardWith(t, mqtt.Config{Brokers: []string{url}, ClientID: "guard-test"}, dir)
}

// runGuardWith runs a guard with the default storm settings, no sources
// and the given connection, until the test ends.
func runGuardWith(t *testing.T, conn mqtt.Config, dir string) *Guard {
	t.Helper()
	g, err := New(Config{Storm: storm.DefaultConfig(), MQTT: conn,
		QoS: 1, StateDir: dir, Issuer: "stormguard@test", Streamers: []weather.Streamer{idle{}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { g.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return g
}

func listen(t *testing.T, url string, filters ...string) (*mqtt.Client, chan mqtt.Message) {
	t.Helper()
	ch := make(chan mqtt.Message, 64)
	c := fleettest.Client(t, url, func(c *mqtt.Client) {
		for _, f := range filters {
			c.Handle(f, 1, func(m mqtt.Message) { ch <- m })
		}
	})
	return c, ch
}

func next(t *testing.T, ch chan mqtt.Message, what string, ok func(mqtt.Message) bool) mqtt.Message {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case m := <-ch:
			if ok(m) {
				return m
			}
		case <-deadline:
			t.Fatalf("no %s within 10s", what)
		}
	}
}

func TestUnconfirmedShutdownIsSentAfterRestart(t *testing.T) {
	b := mqtttest.NATS(t)
	dir := t.TempDir()
	st, sd := countdownState(t)
	g := &Guard{cfg: Config{Issuer: "stormguard@test", Expires: 15 * time.Minute}}
	cmd := g.command(sd, time.Now().UTC())
	if err := (&stateFile{path: statePath(dir)}).save(st, []wire.Command{cmd}, time.Now()); err != nil {
		t.Fatal(err)
	}
	_, ch := listen(t, b.URL, wire.Topics{}.Command(wire.Shutdown))
	runGuard(t, b.URL, dir)
	m := next(t, ch, "SHUTDOWN", func(mqtt.Message) bool { return true })
	got, err := wire.Decode(wire.Shutdown, m.Topic, m.Payload)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != sd.ID() || !got.Deadline.Equal(sd.Deadline.UTC()) || got.Reason != sd.Reason {
		t.Errorf("after the restart sent %q due %v, want the saved %q due %v", got.ID, got.Deadline, sd.ID(), sd.Deadline)
	}
}

func TestRetainedCancelIsNotObeyed(t *testing.T) {
	b := mqtttest.NATS(t)
	dir := t.TempDir()
	st, _ := countdownState(t)
	if err := (&stateFile{path: statePath(dir)}).save(st, nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	pub, ch := listen(t, b.URL, wire.Topics{}.Event(Name))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := pub.Publish(ctx, "CANCEL", 1, true, []byte("retained from last week")); err != nil {
		t.Fatal(err)
	}
	mqtttest.WaitRetained(t, b.URL, nil, "CANCEL", "retained from last week")
	runGuardReady(t, b.URL, dir)
	if err := pub.Publish(ctx, "CANCEL", 1, false, []byte("live")); err != nil {
		t.Fatal(err)
	}
	m := next(t, ch, "cancelled event", func(m mqtt.Message) bool {
		var e Event
		return json.Unmarshal(m.Payload, &e) == nil && e.Kind == EventCancelled
	})
	if !strings.Contains(string(m.Payload), "live") {
		t.Errorf("the countdown was cancelled by %s, want the live CANCEL, not the retained one", m.Payload)
	}
}

// runGuardReady runs the guard and waits until it has subscribed to CANCEL
// (and so has had the retained one replayed).
func runGuardReady(t *testing.T, url, dir string) {
	t.Helper()
	g := runGuard(t, url, dir)
	select {
	case <-g.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("guard not ready")
	}
}

// TestOwnPresenceFalseIsAnswered: a False on stormguard's own presence
// while it is connected (its last will from an earlier connection,
// delivered late) is answered with True.
func TestOwnPresenceFalseIsAnswered(t *testing.T) {
	b := mqtttest.NATS(t)
	topic := wire.Topics{}.Presence(Name)
	c, ch := listen(t, b.URL, topic)
	g := runGuard(t, b.URL, t.TempDir())
	<-g.Ready()
	isLive := func(payload string) func(mqtt.Message) bool {
		return func(m mqtt.Message) bool { return !m.Retained && string(m.Payload) == payload }
	}
	next(t, ch, "presence True on connect", isLive(wire.PresenceTrue))
	if err := c.Publish(t.Context(), topic, 1, true, []byte(wire.PresenceFalse)); err != nil {
		t.Fatal(err)
	}
	// The listener hands each message to its own goroutine: the False and
	// the True that answers it may come in either order.
	var sawFalse, sawTrue bool
	next(t, ch, "the False and presence True again", func(m mqtt.Message) bool {
		sawFalse = sawFalse || isLive(wire.PresenceFalse)(m)
		sawTrue = sawTrue || isLive(wire.PresenceTrue)(m)
		return sawFalse && sawTrue
	})
}
