package hass

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stormguard/stormguard/internal/fleettest"
	"github.com/stormguard/stormguard/internal/mqtttest"
	"github.com/stormguard/stormguard/internal/watch"
	"github.com/stormguard/stormguard/mqtt"
	"github.com/stormguard/stormguard/wire"
)

func run(t *testing.T, url string, cfg Config) {
	t.Helper()
	c, err := mqtt.New(mqtt.Config{Brokers: []string{url}, ClientID: fmt.Sprintf("hass-%d", time.Now().UnixNano()), CleanSession: true, Ordered: true})
	if err != nil {
		t.Fatal(err)
	}
	w := watch.New(watch.Config{Client: c, Topics: cfg.Topics})
	p := New(cfg, c, w)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	c.Start()
	t.Cleanup(func() { cancel(); <-done; c.Close(100 * time.Millisecond) })
}

type config struct {
	topic   string
	payload []byte
	dev     device
}

func nextConfig(t *testing.T, ch chan mqtt.Message, topic string) config {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case m := <-ch:
			if m.Topic != topic {
				continue
			}
			c := config{topic: m.Topic, payload: m.Payload}
			if len(m.Payload) > 0 {
				if err := json.Unmarshal(m.Payload, &c.dev); err != nil {
					t.Fatalf("%s: %v", m.Topic, err)
				}
			}
			return c
		case <-deadline:
			t.Fatalf("no config on %s within 10s", topic)
		}
	}
}

func pub(t *testing.T, c *mqtt.Client, topic string, retained bool, payload string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Publish(ctx, topic, 1, retained, []byte(payload)); err != nil {
		t.Fatal(err)
	}
}

func TestDiscovery(t *testing.T) {
	mqtttest.Each(t, testDiscovery)
}

func testDiscovery(t *testing.T, b *mqtttest.Broker) {
	topics := wire.Topics{}
	// Ordered: the checks below rely on configs arriving in the order the
	// publisher sent them.
	ch := make(chan mqtt.Message, 256)
	c := fleettest.OrderedClient(t, b.URL, func(c *mqtt.Client) {
		c.Handle("homeassistant/device/+/config", 1, func(m mqtt.Message) { ch <- m })
	})
	st, _ := wire.HostState{Host: "nas", Version: "1.4.0", Online: true}.Encode()
	pub(t, c, topics.State("nas"), true, string(st))
	pub(t, c, topics.Presence("nas"), true, wire.PresenceTrue)
	mqtttest.WaitRetainedMatch(t, b.URL, nil, topics.State("nas"), "host state", func(p []byte) bool { return len(p) > 0 })
	run(t, b.URL, Config{Prefix: "homeassistant", Topics: topics, Version: "v9", StatusURL: "http://gw.lan:8080/"})

	g := nextConfig(t, ch, "homeassistant/device/stormguard_guard/config")
	for _, k := range []string{"phase", "nearest", "bearing", "trend", "deadline", "sources", "blind", "cancel"} {
		if _, ok := g.dev.Components[k]; !ok {
			t.Errorf("stormguard device lacks %s", k)
		}
	}
	if _, ok := g.dev.Components["shutdown"]; ok {
		t.Error("power-down button without PowerButtons")
	}
	if cc := g.dev.Components["cancel"]; cc.CommandTopic != "CANCEL" || cc.Platform != "button" {
		t.Errorf("cancel button %+v", cc)
	}
	if d := g.dev.Components["deadline"]; d.DeviceClass != "timestamp" || d.StateTopic != "stormguard/state/stormguard" || d.Availability[0].Topic != "resourceavailable/stormguard/presence" {
		t.Errorf("deadline sensor %+v", d)
	}
	h := nextConfig(t, ch, "homeassistant/device/stormguard_host_nas/config")
	if h.dev.Device.SWVersion != "1.4.0" || h.dev.Device.Name != "nas" || h.dev.Components["pending"].DeviceClass != "timestamp" {
		t.Errorf("host device %+v", h.dev)
	}
	if pr := h.dev.Components["presence"]; pr.StateTopic != "resourceavailable/nas/presence" || pr.PayloadOn != "True" {
		t.Errorf("presence %+v", pr)
	}
	if _, ok := h.dev.Components["reboot"]; ok {
		t.Error("reboot button without PowerButtons")
	}

	// The host is removed from the fleet: its device goes. (Configs sent
	// twice on start, once for the connection and once for the retained
	// states, may still be ahead of the empty one.)
	pub(t, c, topics.State("nas"), true, "")
	for {
		if gone := nextConfig(t, ch, "homeassistant/device/stormguard_host_nas/config"); len(gone.payload) == 0 {
			break
		}
	}

	// Home Assistant restarts: everything is sent again, except the
	// removed host. The publisher works in order, so nothing from before
	// the empty config is still to come.
	pub(t, c, "homeassistant/status", false, "online")
	deadline := time.After(10 * time.Second)
	for resent := false; !resent; {
		select {
		case m := <-ch:
			switch m.Topic {
			case "homeassistant/device/stormguard_guard/config":
				resent = true
			case "homeassistant/device/stormguard_host_nas/config":
				t.Errorf("removed host announced again: %s", m.Payload)
			}
		case <-deadline:
			t.Fatal("nothing re-sent after homeassistant/status online")
		}
	}
}

func TestPowerButtonsOnlyWhenEnabled(t *testing.T) {
	p := &Publisher{cfg: Config{Prefix: "homeassistant", PowerButtons: true}}
	g := p.guardDevice()
	if s := g.Components["shutdown"]; s.CommandTopic != "SHUTDOWN" {
		t.Errorf("fleet power-down button %+v", s)
	}
	h := p.hostDevice(watch.Host{Name: "pi.lan"})
	if r := h.Components["reboot"]; r.CommandTopic != "REBOOT/pi.lan" || r.DeviceClass != "restart" {
		t.Errorf("reboot button %+v", r)
	}
	if s := h.Components["shutdown"]; s.CommandTopic != "SHUTDOWN/pi.lan" {
		t.Errorf("host power-down button %+v", s)
	}
	if h.Device.Identifiers[0] != "stormguard_host_pi_lan" {
		t.Errorf("identifier %q", h.Device.Identifiers[0])
	}
}
