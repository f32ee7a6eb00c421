package weather

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stormguard/stormguard/internal/mqtttest"
	"github.com/stormguard/stormguard/mqtt"
)

// feedClient is the repo's MQTT client as stormguard connects a feed, here
// through proxy so the test can cut it.
func feedClient(t *testing.T, url string) *mqtt.Client {
	t.Helper()
	c, err := mqtt.New(mqtt.Config{Brokers: []string{url}, ClientID: fmt.Sprintf("feed-%d", time.Now().UnixNano()),
		CleanSession: true, Ordered: true, MaxReconnect: 200 * time.Millisecond, KeepAlive: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	c.Start()
	t.Cleanup(func() { c.Close(100 * time.Millisecond) })
	return c
}

func linksOf(reports []Report) []Link {
	var out []Link
	for _, r := range reports {
		if r.Link != LinkNone {
			out = append(out, r.Link)
		}
	}
	return out
}

func hasLinks(want ...Link) func([]Report) bool {
	return func(r []Report) bool {
		got := linksOf(r)
		return len(got) >= len(want) && fmt.Sprint(got[:len(want)]) == fmt.Sprint(want)
	}
}

// TestFeedsReportTheirLink: an event feed's health is its connection. Each
// MQTT feed says when it is up, when the connection is lost and when it is
// back, on every broker, and its Liveness says silence means nothing.
func TestFeedsReportTheirLink(t *testing.T) {
	mqtttest.Each(t, func(t *testing.T, b *mqtttest.Broker) {
		for _, kind := range []string{"blitzortung", "mqttsensor"} {
			t.Run(kind, func(t *testing.T) {
				proxy := mqtttest.NewProxy(t, b)
				c := feedClient(t, proxy.URL)
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				if err := c.WaitReady(ctx); err != nil {
					t.Fatal(err)
				}
				var s Streamer
				var err error
				if kind == "blitzortung" {
					s, err = NewBlitzortung(BlitzortungConfig{Subscriber: c, Site: fixtureSite, RadiusKM: 40})
				} else {
					s, err = NewMQTTSensor(MQTTSensorConfig{Subscriber: c, Node: "lightning-detector"})
				}
				if err != nil {
					t.Fatal(err)
				}
				if LivenessOf(s) != Connection {
					t.Errorf("%s liveness %v, want connection", kind, LivenessOf(s))
				}
				col := runStream(t, s)
				col.waitFor(t, "up", hasLinks(LinkUp))
				proxy.Down()
				got := col.waitFor(t, "down", hasLinks(LinkUp, LinkDown))
				for _, r := range got {
					if r.Link == LinkDown && !strings.Contains(r.Detail, "connection lost") {
						t.Errorf("down report detail %q does not say the connection was lost", r.Detail)
					}
					if r.Link != LinkNone && (r.Source != s.Name() || len(r.Strikes) > 0 || !r.Aside()) {
						t.Errorf("link report %+v: want only link news from %s", r, s.Name())
					}
				}
				proxy.Up()
				col.waitFor(t, "up again", hasLinks(LinkUp, LinkDown, LinkUp))
			})
		}
	})
}

// TestFeedsRejectHugePayloads is the fourth report: a 5 MiB message on a
// feed (nats-server refuses more than 1 MiB, so 900 KiB there) is not
// decoded, even when it is a valid strike; it is counted as rejected, and
// the feed goes on to the next message.
func TestFeedsRejectHugePayloads(t *testing.T) {
	mqtttest.Each(t, testFeedsRejectHugePayloads)
}

func testFeedsRejectHugePayloads(t *testing.T, b *mqtttest.Broker) {
	url := b.URL
	pub := newPahoClient(t, url, "pub")
	size := 5 << 20
	if b.Name == "nats" {
		size = 900 << 10
	}
	pad := strings.Repeat(" ", size)
	near := `{"lat":40.01,"lon":-105.01,"time":%d,"status":0,"region":1}`
	bytes := fmt.Sprint(size)[:3]

	t.Run("blitzortung", func(t *testing.T) {
		sub := newPahoSubscriber(t, url)
		b, err := NewBlitzortung(BlitzortungConfig{Subscriber: sub, Site: fixtureSite, RadiusKM: 16})
		if err != nil {
			t.Fatal(err)
		}
		col := runStream(t, b)
		sub.waitGranted(t, len(b.Filters()))
		topic := BlitzortungTopicPrefix + "/9/x/j/7/d/9/v/2/f/s/m/q"
		publish(t, pub, topic, fmt.Sprintf(near, 1)+pad, false)
		publish(t, pub, topic, fmt.Sprintf(near, 2), false)
		got := col.waitFor(t, "the small strike", func(r []Report) bool { return len(strikesOf(r)) >= 1 })
		wantRejected(t, got, 1, bytes)
		if s := strikesOf(got); len(s) != 1 || s[0].Time.UnixNano() != 2 {
			t.Errorf("strikes %v, want only the small one", s)
		}
	})
	t.Run("mqttsensor", func(t *testing.T) {
		sub := newPahoSubscriber(t, url)
		m, err := NewMQTTSensor(MQTTSensorConfig{Subscriber: sub, Node: "as3935", StatusTopic: "-"})
		if err != nil {
			t.Fatal(err)
		}
		col := runStream(t, m)
		sub.waitGranted(t, 1)
		publish(t, pub, "as3935/sensor/lightning_distance/state", "5"+pad, false)
		publish(t, pub, "as3935/sensor/lightning_distance/state", "6", false)
		got := col.waitFor(t, "the small reading", func(r []Report) bool { return len(strikesOf(r)) >= 1 })
		wantRejected(t, got, 1, bytes)
		if s := strikesOf(got); len(s) != 1 || s[0].DistanceKM != 6 {
			t.Errorf("strikes %v, want only the 6 km one", s)
		}
	})
}

func wantRejected(t *testing.T, got []Report, n int, why string) {
	t.Helper()
	var rej []Report
	for _, r := range got {
		if r.Rejected > 0 {
			rej = append(rej, r)
		}
	}
	if len(rej) != n || !strings.Contains(rej[0].RejectedWhy, why) || !rej[0].Aside() {
		t.Errorf("rejected reports %+v, want %d saying %q", rej, n, why)
	}
}

// TestBlitzortungAntimeridianOnBroker is the second report end to end at
// the feed: for a site at 17.7 S, 179.95 E, a strike 7 km east at 179.98 W,
// published on its own geohash topic, is received and measured across
// longitude 180.
func TestBlitzortungAntimeridianOnBroker(t *testing.T) {
	url := broker(t)
	sub := newPahoSubscriber(t, url)
	site := Site{Lat: -17.7, Lon: 179.95}
	b, err := NewBlitzortung(BlitzortungConfig{Subscriber: sub, Site: site, RadiusKM: 40})
	if err != nil {
		t.Fatal(err)
	}
	col := runStream(t, b)
	sub.waitGranted(t, len(b.Filters()))
	pub := newPahoClient(t, url, "pub")
	topic := BlitzortungTopicPrefix + "/" + strings.Join(strings.Split(Geohash(-17.7, -179.98, 12), ""), "/")
	publish(t, pub, topic, `{"lat":-17.7,"lon":-179.98,"time":1784145600000000000,"status":0,"region":1}`, false)
	got := strikesOf(col.waitFor(t, "the strike across longitude 180", func(r []Report) bool { return len(strikesOf(r)) > 0 }))
	if d := got[0].DistanceKM; !near(d, 7.4, 0.2) || Compass(got[0].BearingDeg) != "E" {
		t.Errorf("strike %.2f km %s, want about 7.4 km E", d, Compass(got[0].BearingDeg))
	}
}
