package guard

import (
	"testing"

	"github.com/stormguard/stormguard/mqtt"
	"github.com/stormguard/stormguard/storm"
	"github.com/stormguard/stormguard/weather"
)

// TestFeedsRegisteredByLiveness: an event feed is registered as one, also
// when the config gives it another name, so its silence is not taken for
// blindness; a polled source and a stream without a Liveness answer.
func TestFeedsRegisteredByLiveness(t *testing.T) {
	sub, err := mqtt.New(mqtt.Config{Brokers: []string{"tcp://127.0.0.1:1"}, ClientID: "liveness-test"})
	if err != nil {
		t.Fatal(err)
	}
	feed, err := weather.NewBlitzortung(weather.BlitzortungConfig{Subscriber: sub, Site: weather.Site{Lat: 40, Lon: -105}})
	if err != nil {
		t.Fatal(err)
	}
	g, err := New(Config{
		Storm:     storm.DefaultConfig(),
		MQTT:      mqtt.Config{Brokers: []string{"tcp://127.0.0.1:1"}, ClientID: "stormguard-liveness-test"},
		StateDir:  t.TempDir(),
		Streamers: []weather.Streamer{feed, Rename(feed, "relay").(weather.Streamer), idle{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"blitzortung": "connection", "relay": "connection", "idle": "answers"} {
		if got := g.engine.State().Sources[name].Liveness; got != want {
			t.Errorf("%s registered with liveness %q, want %q", name, got, want)
		}
	}
}
