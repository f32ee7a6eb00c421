package weather

import (
	"context"
	"github.com/stormguard/stormguard/internal/mqtttest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestMQTTSensorFixtureOverBroker(t *testing.T) {
	url := broker(t)
	pub := newPahoClient(t, url, "pub")
	msgs := fixtureMessages(t, "esphome-as3935-mqtt.jsonl")
	// Before we subscribe: the node is online and its last distance (27 km)
	// is retained. That old distance is not a new strike.
	publish(t, pub, msgs[0].Topic, msgs[0].Payload, true)
	publish(t, pub, "lightning-detector/sensor/lightning_distance/state", "27.0", true)
	mqtttest.WaitRetained(t, url, nil, msgs[0].Topic, msgs[0].Payload)
	mqtttest.WaitRetained(t, url, nil, "lightning-detector/sensor/lightning_distance/state", "27.0")

	sub := newPahoSubscriber(t, url)
	src, err := NewMQTTSensor(MQTTSensorConfig{Subscriber: sub, Node: "lightning-detector"})
	if err != nil {
		t.Fatal(err)
	}
	col := runStream(t, src)
	sub.waitGranted(t, 2)
	col.waitFor(t, "the retained online status", func(r []Report) bool { return len(r) >= 1 })

	for _, m := range msgs[1 : len(msgs)-1] {
		publish(t, pub, m.Topic, m.Payload, m.Retain)
	}
	// No reading and out of range are not strikes.
	for _, p := range []string{"nan", "None", "63.0", "-1", "far"} {
		publish(t, pub, "lightning-detector/sensor/lightning_distance/state", p, true)
	}
	last := msgs[len(msgs)-1]
	publish(t, pub, last.Topic, last.Payload, last.Retain)

	got := col.waitFor(t, "3 strikes and the offline status", func(r []Report) bool {
		blind := false
		for _, x := range r {
			blind = blind || x.Blind
		}
		return blind && len(strikesOf(r)) >= 3
	})
	if got[0].Blind || got[0].Detail != "sensor online" {
		t.Errorf("first report = %+v, want online", got[0])
	}
	var kms []float64
	for _, s := range strikesOf(got) {
		if !s.Estimate || s.HasBearing {
			t.Errorf("strike %+v: want an estimate without bearing", s)
		}
		kms = append(kms, s.DistanceKM)
	}
	if len(kms) != 3 || kms[0] != 14 || kms[1] != 6 || kms[2] != 1 {
		t.Errorf("distances = %v, want 14, 6, 1 (and not the retained 27)", kms)
	}
	// The status and distance topics are separate subscriptions, which a
	// broker (nats-server) may deliver in either order: look for the
	// offline report, not at the last one.
	if !slices.ContainsFunc(got, func(r Report) bool { return r.Blind && strings.Contains(r.Detail, "offline") }) {
		t.Errorf("reports = %+v, want one blind offline", got)
	}
}

// fakeSubscriber hands messages to the handlers directly.
type fakeSubscriber struct {
	mu       sync.Mutex
	handlers map[string]func(string, []byte, bool)
	ready    chan struct{}
	want     int
}

func newFakeSubscriber(want int) *fakeSubscriber {
	return &fakeSubscriber{handlers: map[string]func(string, []byte, bool){}, ready: make(chan struct{}), want: want}
}

func (f *fakeSubscriber) Subscribe(_ context.Context, filter string, _ byte, h func(string, []byte, bool)) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.handlers[filter] = h
	if len(f.handlers) == f.want {
		close(f.ready)
	}
	return nil
}

func (f *fakeSubscriber) deliver(t *testing.T, topic, payload string, retained bool) {
	t.Helper()
	select {
	case <-f.ready:
	case <-time.After(5 * time.Second):
		t.Fatal("source never subscribed")
	}
	f.mu.Lock()
	h := f.handlers[topic]
	f.mu.Unlock()
	if h == nil {
		t.Fatalf("no subscription for %s", topic)
	}
	h(topic, []byte(payload), retained)
}

func TestMQTTSensorIgnoresRepublishAfterReconnect(t *testing.T) {
	now := t0
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }

	sub := newFakeSubscriber(2)
	src, err := NewMQTTSensor(MQTTSensorConfig{Subscriber: sub, DistanceTopic: "lab/distance", StatusTopic: "lab/status", Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	col := runStream(t, src)
	// The node reconnects and republishes its last distance at once.
	sub.deliver(t, "lab/status", "online", false)
	sub.deliver(t, "lab/distance", "14.0", false)
	advance(6 * time.Second)
	sub.deliver(t, "lab/distance", "5.0", false)
	got := col.waitFor(t, "a strike", func(r []Report) bool { return len(strikesOf(r)) >= 1 })
	s := strikesOf(got)
	if len(s) != 1 || s[0].DistanceKM != 5 || !s[0].Time.Equal(t0.Add(6*time.Second)) {
		t.Errorf("strikes = %+v, want only the 5 km strike after the settle time", s)
	}
}

func TestMQTTSensorConfig(t *testing.T) {
	src, err := NewMQTTSensor(MQTTSensorConfig{Subscriber: newFakeSubscriber(2), Node: "lightning-detector"})
	if err != nil {
		t.Fatal(err)
	}
	if src.cfg.DistanceTopic != "lightning-detector/sensor/lightning_distance/state" || src.cfg.StatusTopic != "lightning-detector/status" {
		t.Errorf("default topics = %q, %q", src.cfg.DistanceTopic, src.cfg.StatusTopic)
	}
	for _, tc := range []struct {
		field string
		cfg   MQTTSensorConfig
	}{
		{"Subscriber", MQTTSensorConfig{Node: "n"}},
		{"DistanceTopic", MQTTSensorConfig{Subscriber: newFakeSubscriber(1)}},
		{"DistanceTopic", MQTTSensorConfig{Subscriber: newFakeSubscriber(1), DistanceTopic: "n/#", StatusTopic: "-"}},
		{"OutOfRangeKM", MQTTSensorConfig{Subscriber: newFakeSubscriber(1), Node: "n", OutOfRangeKM: -1}},
	} {
		if _, err := NewMQTTSensor(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: err = %v", tc.field, err)
		}
	}
}

func FuzzParseSensorDistance(f *testing.F) {
	for _, m := range fixtureMessages(f, "esphome-as3935-mqtt.jsonl") {
		f.Add([]byte(m.Payload))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if km, ok := parseSensorDistance(b, 63); ok && (km < 0 || km >= 63 || !finite(km)) {
			t.Fatalf("accepted %v", km)
		}
	})
}
