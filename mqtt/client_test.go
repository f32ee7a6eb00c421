package mqtt

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stormguard/stormguard/certs"
	"github.com/stormguard/stormguard/internal/mqtttest"
)

var seq atomic.Int64

func newClient(t *testing.T, url string, mod func(*Config)) *Client {
	t.Helper()
	cfg := Config{Brokers: []string{url}, ClientID: fmt.Sprintf("t-%s-%d", t.Name(), seq.Add(1)), CleanSession: true}
	if len(cfg.ClientID) > 60 {
		cfg.ClientID = cfg.ClientID[len(cfg.ClientID)-60:]
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(100 * time.Millisecond) })
	return c
}

func start(t *testing.T, c *Client) {
	t.Helper()
	c.Start()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
}

func recv(t *testing.T, ch <-chan Message) Message {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no message within 10s")
	}
	return Message{}
}

func ctx10(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestConformance runs the behaviours the agents rely on against every broker.
func TestConformance(t *testing.T) {
	mqtttest.Each(t, func(t *testing.T, b *mqtttest.Broker) {
		t.Run("publish and receive, retained flag seen", func(t *testing.T) {
			pub := newClient(t, b.URL, nil)
			start(t, pub)
			if err := pub.Publish(ctx10(t), "conf/retained", 1, true, []byte("old")); err != nil {
				t.Fatal(err)
			}
			// nats-server stores a retained message asynchronously after its
			// PUBACK, so a subscriber that comes at once may be early: retry
			// the subscription until the retained message is there.
			var got chan Message
			deadline := time.Now().Add(10 * time.Second)
			for {
				got = make(chan Message, 4)
				sub := newClient(t, b.URL, nil)
				sub.Handle("conf/#", 1, func(m Message) { got <- m })
				start(t, sub)
				select {
				case m := <-got:
					if !m.Retained || string(m.Payload) != "old" {
						t.Fatalf("first message = %q retained=%v, want the retained %q", m.Payload, m.Retained, "old")
					}
				case <-time.After(time.Second):
					sub.Close(0)
					if time.Now().After(deadline) {
						t.Fatal("the retained message never reached a new subscriber")
					}
					continue
				}
				break
			}
			if err := pub.Publish(ctx10(t), "conf/live", 1, false, []byte("new")); err != nil {
				t.Fatal(err)
			}
			if m := recv(t, got); m.Retained || string(m.Payload) != "new" || m.Topic != "conf/live" {
				t.Errorf("live message = %+v", m)
			}
		})
		t.Run("persistent session queues while away", func(t *testing.T) {
			id := fmt.Sprintf("persist-%d", seq.Add(1))
			got := make(chan Message, 4)
			persistent := func(c *Config) { c.ClientID = id; c.CleanSession = false; c.ManualAck = true }
			a := newClient(t, b.URL, persistent)
			a.Handle("queue/x", 1, func(m Message) { m.Ack(); got <- m })
			start(t, a)
			a.Close(50 * time.Millisecond)
			pub := newClient(t, b.URL, nil)
			start(t, pub)
			if err := pub.Publish(ctx10(t), "queue/x", 1, false, []byte("while away")); err != nil {
				t.Fatal(err)
			}
			again := newClient(t, b.URL, persistent)
			again.Handle("queue/x", 1, func(m Message) { m.Ack(); got <- m })
			start(t, again)
			if m := recv(t, got); string(m.Payload) != "while away" {
				t.Errorf("queued message = %q", m.Payload)
			}
		})
		t.Run("last will on abrupt loss", func(t *testing.T) {
			got := make(chan Message, 4)
			watch := newClient(t, b.URL, nil)
			watch.Handle("will/+", 1, func(m Message) { got <- m })
			start(t, watch)
			// Cutting the TCP connection makes the broker see the client
			// vanish without a DISCONNECT.
			proxy := mqtttest.NewProxy(t, b)
			w := &Will{Topic: "will/x", Payload: []byte("False"), QoS: 1, Retained: true}
			first := newClient(t, proxy.URL, func(c *Config) { c.Will = w })
			start(t, first)
			proxy.Down()
			if m := recv(t, got); string(m.Payload) != "False" {
				t.Errorf("will = %q", m.Payload)
			}
		})
	})
}

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		f, t string
		want bool
	}{
		{"a/b", "a/b", true}, {"a/+", "a/b", true}, {"a/#", "a/b/c", true}, {"a/#", "a", true},
		{"a/+", "a/b/c", false}, {"a/b", "a/c", false}, {"+/+/presence", "resourceavailable/x/presence", true},
	} {
		if got := Match(tc.f, tc.t); got != tc.want {
			t.Errorf("Match(%q, %q) = %v", tc.f, tc.t, got)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []Config{{}, {Brokers: []string{"localhost:1883"}, ClientID: "x"}, {Brokers: []string{"ftp://h:1"}, ClientID: "x"}, {Brokers: []string{"tcp://h:1"}}} {
		if err := c.Validate(); err == nil {
			t.Errorf("Validate(%+v) accepted", c)
		}
	}
}

func TestMutualTLSWithMosquitto(t *testing.T) {
	mqtttest.SkipWithoutMosquitto(t)
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	ca, err := certs.NewCA("test ca", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := ca.WriteDir(filepath.Join(dir, "broker"), "broker", []string{"127.0.0.1", "localhost"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := ca.WriteDir(filepath.Join(dir, "agent"), "agent-nas", nil, time.Hour); err != nil {
		t.Fatal(err)
	}
	bdir := filepath.Join(dir, "broker")
	os.Chmod(filepath.Join(bdir, certs.KeyFile), 0o644) // the broker may drop privileges
	b := mqtttest.Mosquitto(t, mqtttest.MosquittoOptions{TLS: &mqtttest.TLSFiles{
		CA: filepath.Join(bdir, certs.CAFile), Cert: filepath.Join(bdir, certs.CertFile), Key: filepath.Join(bdir, certs.KeyFile), RequireCert: true}})

	tlsCfg, err := LoadTLS(filepath.Join(dir, "agent"))
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, b.URL, func(c *Config) { c.TLS = tlsCfg })
	start(t, c)
	if err := c.Publish(ctx10(t), "tls/x", 1, false, []byte("hi")); err != nil {
		t.Errorf("publish over mutual TLS: %v", err)
	}

	// Without a client certificate the broker refuses the connection.
	noCert := tlsCfg.Clone()
	noCert.Certificates = nil
	bare := newClient(t, b.URL, func(c *Config) { c.TLS = noCert })
	bare.Start()
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	if err := bare.WaitReady(ctx); err == nil {
		t.Error("connected without a client certificate")
	}

	if _, err := LoadTLS(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), CAFile) {
		t.Errorf("LoadTLS on a missing dir = %v, want an error naming %s", err, CAFile)
	}
}
