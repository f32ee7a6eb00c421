package mqtttest

import (
	"crypto/tls"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

var retainedSeq atomic.Int64

// WaitRetained subscribes afresh to topic (over TLS when tlsCfg is set), as a late subscriber would,
// until the broker at url hands it want as the retained payload, and fails
// the test with the last payload seen after a while.
//
// nats-server acknowledges a retained publish before it files the message
// for new subscriptions (it does so asynchronously, through JetStream), so
// a test that publishes retained and then starts a subscriber must first
// wait here, or the subscriber may be early and see nothing. Each look
// waits for the broker's SUBACK and then briefly for the retained message.
func WaitRetained(t testing.TB, url string, tlsCfg *tls.Config, topic, want string) {
	t.Helper()
	WaitRetainedMatch(t, url, tlsCfg, topic, fmt.Sprintf("%q", want), func(p []byte) bool { return string(p) == want })
}

// WaitRetainedMatch is WaitRetained for a payload that match accepts;
// what names the wanted payload in the failure.
func WaitRetainedMatch(t testing.TB, url string, tlsCfg *tls.Config, topic, what string, match func([]byte) bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	last := "nothing"
	for time.Now().Before(deadline) {
		got, ok, err := retainedOnce(url, tlsCfg, topic)
		if err != nil {
			t.Fatalf("looking for the retained message on %s: %v", topic, err)
		}
		if ok && match([]byte(got)) {
			return
		}
		if ok {
			last = fmt.Sprintf("%q", got)
		}
	}
	t.Fatalf("a new subscriber to %s gets %s retained, want %s", topic, last, what)
}

func retainedOnce(url string, tlsCfg *tls.Config, topic string) (string, bool, error) {
	got := make(chan string, 4)
	opts := paho.NewClientOptions().
		AddBroker(url).
		SetClientID(fmt.Sprintf("retained-look-%d", retainedSeq.Add(1))).
		SetCleanSession(true).
		SetAutoReconnect(false)
	if tlsCfg != nil {
		opts.SetTLSConfig(tlsCfg)
	}
	c := paho.NewClient(opts)
	if err := wait(c.Connect()); err != nil {
		return "", false, fmt.Errorf("connect: %w", err)
	}
	defer c.Disconnect(50)
	tok := c.Subscribe(topic, 1, func(_ paho.Client, m paho.Message) {
		if m.Retained() {
			got <- string(m.Payload())
		}
	})
	if err := wait(tok); err != nil {
		return "", false, fmt.Errorf("subscribe: %w", err)
	}
	select {
	case p := <-got:
		return p, true, nil
	case <-time.After(250 * time.Millisecond):
		return "", false, nil
	}
}

func wait(tok paho.Token) error {
	if !tok.WaitTimeout(10 * time.Second) {
		return errors.New("no answer from the broker in 10s")
	}
	return tok.Error()
}
