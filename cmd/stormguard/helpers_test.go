package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stormguard/stormguard/internal/guard"
	"github.com/stormguard/stormguard/mqtt"
	"github.com/stormguard/stormguard/storm"
	"github.com/stormguard/stormguard/weather"
	"github.com/stormguard/stormguard/wire"
)

var site = weather.Site{Lat: 40.0, Lon: -105.0}

// writeConfig writes a stormguard config file with the given sources section.
func writeConfig(t *testing.T, sources string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "stormguard.yaml")
	cfg := `site: {lat: 40.0, lon: -105.0}
storm:
  grace: 6s
  all-clear: 10m
  hold-after-cancel: 10m
sources:
` + sources
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// daemon runs "stormguard run" in the background until stopped.
type daemon struct {
	cancel context.CancelFunc
	done   chan error
}

func startDaemon(t *testing.T, args ...string) *daemon {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d := &daemon{cancel: cancel, done: make(chan error, 1)}
	go func() { d.done <- Run(ctx, append([]string{"run"}, args...), os.Stdout) }()
	t.Cleanup(func() { d.stop(t) })
	return d
}

func (d *daemon) stop(t *testing.T) {
	t.Helper()
	if d.cancel == nil {
		return
	}
	d.cancel()
	d.cancel = nil
	select {
	case err := <-d.done:
		if err != nil {
			t.Errorf("stormguard run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("stormguard did not stop within 10s")
	}
}

// watcher is a client that sees what a person or dashboard would.
type watcher struct {
	t      *testing.T
	c      *mqtt.Client
	mu     sync.Mutex
	msgs   []mqtt.Message
	notify chan struct{}
}

func newWatcher(t *testing.T, url string, extra ...string) *watcher {
	t.Helper()
	c, err := mqtt.New(mqtt.Config{Brokers: []string{url}, ClientID: fmt.Sprintf("watch-%d", time.Now().UnixNano()), CleanSession: true})
	if err != nil {
		t.Fatal(err)
	}
	w := &watcher{t: t, c: c, notify: make(chan struct{}, 1)}
	tp := wire.Topics{}
	for _, f := range []string{tp.Command(wire.Shutdown), tp.AckFilter(), tp.State(guard.Name), tp.Event(guard.Name)} {
		c.Handle(f, 1, w.add)
	}
	for _, f := range extra {
		c.Handle(f, 1, w.add)
	}
	c.Start()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(100 * time.Millisecond) })
	return w
}

func (w *watcher) add(m mqtt.Message) {
	w.mu.Lock()
	w.msgs = append(w.msgs, m)
	w.mu.Unlock()
	select {
	case w.notify <- struct{}{}:
	default:
	}
}

// wait returns the first message, from index from on, that ok accepts,
// and its index; it fails the test after 15 s.
func (w *watcher) wait(from int, what string, ok func(mqtt.Message) bool) (mqtt.Message, int) {
	w.t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		w.mu.Lock()
		for i := from; i < len(w.msgs); i++ {
			if ok(w.msgs[i]) {
				m := w.msgs[i]
				w.mu.Unlock()
				return m, i
			}
		}
		w.mu.Unlock()
		select {
		case <-w.notify:
		case <-deadline:
			w.t.Fatalf("no %s within 15s", what)
		}
	}
}

func (w *watcher) count(ok func(mqtt.Message) bool) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, m := range w.msgs {
		if ok(m) {
			n++
		}
	}
	return n
}

func (w *watcher) publish(topic string, retained bool, payload []byte) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.c.Publish(ctx, topic, 1, retained, payload); err != nil {
		w.t.Fatal(err)
	}
}

func isShutdown(id string) func(mqtt.Message) bool {
	return func(m mqtt.Message) bool {
		c, err := wire.Decode(wire.Shutdown, m.Topic, m.Payload)
		return m.Topic == wire.Topics{}.Command(wire.Shutdown) && err == nil && (id == "" || c.ID == id)
	}
}

func isAck(host string, state wire.AckState, id string) func(mqtt.Message) bool {
	return func(m mqtt.Message) bool {
		a, err := wire.DecodeAck(m.Payload)
		return err == nil && strings.HasPrefix(m.Topic, "stormguard/ack/") && a.Host == host && a.State == state && (id == "" || a.ID == id)
	}
}

func isState(ok func(guard.State) bool) func(mqtt.Message) bool {
	return func(m mqtt.Message) bool {
		var s guard.State
		return m.Topic == wire.Topics{}.State(guard.Name) && json.Unmarshal(m.Payload, &s) == nil && ok(s)
	}
}

func isEvent(kind string) func(mqtt.Message) bool {
	return func(m mqtt.Message) bool {
		var e guard.Event
		return m.Topic == wire.Topics{}.Event(guard.Name) && json.Unmarshal(m.Payload, &e) == nil && e.Kind == kind
	}
}

// awaitWatch proves stormguard's strike feed subscription, which comes up
// with the daemon, is there: a strike 30 km away, once a second until the
// state shows the watch.
func (w *watcher) awaitWatch() {
	w.t.Helper()
	watching := isState(func(s guard.State) bool { return s.Phase == storm.PhaseWatch })
	for i := 0; !w.seen(0, time.Second, watching); i++ {
		if i == 15 {
			w.t.Fatal("a strike 30 km away never put stormguard on watch")
		}
		w.strike(30, 290)
	}
}

// strike publishes a Blitzortung-format strike dist km from the site at bearing deg.
func (w *watcher) strike(dist, bearing float64) {
	w.t.Helper()
	rad := bearing * math.Pi / 180
	lat := site.Lat + dist*math.Cos(rad)/weather.EarthRadiusKM*180/math.Pi
	lon := site.Lon + dist*math.Sin(rad)/weather.EarthRadiusKM*180/math.Pi/math.Cos(site.Lat*math.Pi/180)
	gh := weather.Geohash(lat, lon, 12)
	topic := weather.BlitzortungTopicPrefix + "/" + strings.Join(strings.Split(gh, ""), "/")
	payload := fmt.Sprintf(`{"lat":%.6f,"lon":%.6f,"status":0,"region":3,"time":%d}`, lat, lon, time.Now().UnixNano())
	w.publish(topic, false, []byte(payload))
}

func decodeCommand(t *testing.T, m mqtt.Message) wire.Command {
	t.Helper()
	c, err := wire.Decode(wire.Shutdown, m.Topic, m.Payload)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// seen reports whether a message ok accepts arrives, from index from on,
// within d; for waits that may be retried.
func (w *watcher) seen(from int, d time.Duration, ok func(mqtt.Message) bool) bool {
	deadline := time.After(d)
	for {
		w.mu.Lock()
		for i := from; i < len(w.msgs); i++ {
			if ok(w.msgs[i]) {
				w.mu.Unlock()
				return true
			}
		}
		w.mu.Unlock()
		select {
		case <-w.notify:
		case <-deadline:
			return false
		}
	}
}
