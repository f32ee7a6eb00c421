package heartbeat_test

import (
	"context"
	"testing"
	"time"

	"github.com/stormguard/stormguard/heartbeat"
	"github.com/stormguard/stormguard/internal/fleettest"
	"github.com/stormguard/stormguard/internal/mqtttest"
	"github.com/stormguard/stormguard/mqtt"
	"github.com/stormguard/stormguard/wire"
)

// TestBeats: a client beats retained on its topic, once at connect and then
// every interval, with rising sequence numbers; a later subscriber gets
// the last beat at once; the beats stop when ctx ends.
func TestBeats(t *testing.T) {
	mqtttest.Each(t, func(t *testing.T, b *mqtttest.Broker) {
		tp := wire.Topics{Prefix: "hb"}
		beats := make(chan mqtt.Message, 100)
		fleettest.Client(t, b.URL, func(c *mqtt.Client) {
			c.Handle(tp.HeartbeatFilter(), 1, func(m mqtt.Message) { beats <- m })
		})
		c, err := mqtt.New(mqtt.Config{Brokers: []string{b.URL}, ClientID: "beater-" + b.Name, CleanSession: true})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := heartbeat.Start(ctx, c, heartbeat.Config{Topics: tp, Name: "nas", Interval: 200 * time.Millisecond})
		c.Start()
		defer c.Close(50 * time.Millisecond)
		var last uint64
		for i := range 3 {
			m := next(t, beats, 5*time.Second)
			if m.Topic != tp.Heartbeat("nas") {
				t.Fatalf("beat on %q", m.Topic)
			}
			bt, err := wire.DecodeBeat(m.Payload)
			if err != nil {
				t.Fatal(err)
			}
			if bt.Interval != 200*time.Millisecond || bt.Seq <= last {
				t.Fatalf("beat %d: %+v after seq %d", i, bt, last)
			}
			last = bt.Seq
		}
		late := make(chan mqtt.Message, 10)
		fleettest.Client(t, b.URL, func(c *mqtt.Client) {
			c.Handle(tp.HeartbeatFilter(), 1, func(m mqtt.Message) { late <- m })
		})
		if m := next(t, late, 5*time.Second); !m.Retained {
			t.Errorf("a later subscriber's first beat is not retained")
		}
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("publisher did not stop")
		}
	})
}

func next(t *testing.T, ch <-chan mqtt.Message, within time.Duration) mqtt.Message {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(within):
		t.Fatalf("no heartbeat within %v", within)
		return mqtt.Message{}
	}
}

func TestOff(t *testing.T) {
	done := heartbeat.Start(context.Background(), nil, heartbeat.Config{})
	select {
	case <-done:
	default:
		t.Fatal("a zero interval started a publisher")
	}
	if err := (heartbeat.Config{Interval: time.Millisecond}).Validate(); err == nil {
		t.Error("Validate accepted a 1 ms interval")
	}
}
