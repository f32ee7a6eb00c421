package weather

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/stormguard/stormguard/internal/mqtttest"
)

var clientSeq atomic.Int64

// newPahoClient connects a paho client with a unique id to the test broker.
func newPahoClient(t testing.TB, url, role string) mqtt.Client {
	t.Helper()
	opts := mqtt.NewClientOptions().
		AddBroker(url).
		SetClientID(fmt.Sprintf("weather-test-%s-%d-%d", role, time.Now().UnixNano(), clientSeq.Add(1))).
		SetOrderMatters(true). // as stormguard connects its feeds (mqtt.Config.Ordered)

		SetAutoReconnect(false).
		SetConnectTimeout(5 * time.Second)
	c := mqtt.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect %s: %v", role, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

// pahoSubscriber adapts a paho client to Subscriber, as the cmd layer does,
// and counts granted subscriptions so tests publish only after them.
type pahoSubscriber struct {
	c       mqtt.Client
	mu      sync.Mutex
	granted int
	changed chan struct{}
}

func newPahoSubscriber(t testing.TB, url string) *pahoSubscriber {
	return &pahoSubscriber{c: newPahoClient(t, url, "sub"), changed: make(chan struct{}, 1)}
}

func (p *pahoSubscriber) Subscribe(ctx context.Context, filter string, qos byte, handle func(string, []byte, bool)) error {
	tok := p.c.Subscribe(filter, qos, func(_ mqtt.Client, m mqtt.Message) {
		handle(m.Topic(), m.Payload(), m.Retained())
	})
	if !tok.WaitTimeout(10 * time.Second) {
		return fmt.Errorf("subscribe %s: no SUBACK", filter)
	}
	if err := tok.Error(); err != nil {
		return err
	}
	if rc := tok.(*mqtt.SubscribeToken).Result()[filter]; rc == 0x80 {
		return fmt.Errorf("subscribe %s: refused", filter)
	}
	context.AfterFunc(ctx, func() { p.c.Unsubscribe(filter).WaitTimeout(5 * time.Second) })
	p.mu.Lock()
	p.granted++
	p.mu.Unlock()
	select {
	case p.changed <- struct{}{}:
	default:
	}
	return nil
}

// waitGranted waits until n subscriptions were granted.
func (p *pahoSubscriber) waitGranted(t testing.TB, n int) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		p.mu.Lock()
		g := p.granted
		p.mu.Unlock()
		if g >= n {
			return
		}
		select {
		case <-p.changed:
		case <-deadline:
			t.Fatalf("only %d of %d subscriptions granted", g, n)
		}
	}
}

// fixtureMessage is one line of an MQTT .jsonl fixture.
type fixtureMessage struct {
	Topic   string `json:"topic"`
	Payload string `json:"payload"`
	Retain  bool   `json:"retain"`
}

func fixtureMessages(t testing.TB, name string) []fixtureMessage {
	t.Helper()
	var msgs []fixtureMessage
	for _, l := range fixtureLines(t, name) {
		var m fixtureMessage
		if err := json.Unmarshal(l, &m); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		msgs = append(msgs, m)
	}
	return msgs
}

// publish sends one message at QoS 1 and waits for the broker's PUBACK.
func publish(t testing.TB, c mqtt.Client, topic, payload string, retain bool) {
	t.Helper()
	tok := c.Publish(topic, 1, retain, payload)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

// runStream runs a Streamer in the background until the test ends.
func runStream(t *testing.T, s Streamer) *collector {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	col := newCollector()
	done := make(chan error, 1)
	go func() { done <- s.Stream(ctx, col.emit) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Stream returned %v after cancel, want nil", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Stream did not return after cancel")
		}
	})
	return col
}

// broker starts the embedded test broker.
func broker(t *testing.T) string {
	t.Helper()
	return mqtttest.NATS(t).URL
}
