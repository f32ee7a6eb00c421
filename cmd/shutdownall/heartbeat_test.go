package main

import (
	"testing"
	"time"

	"github.com/stormguard/stormguard/internal/fleettest"
	"github.com/stormguard/stormguard/internal/mqtttest"
	"github.com/stormguard/stormguard/wire"
)

// TestStatusHeartbeat: a host whose retained presence still says True but
// whose last heartbeat is three intervals old (its broker node died and no
// will came) is shown gone; one that beats recently is online; one that
// never beat is judged by its presence alone.
func TestStatusHeartbeat(t *testing.T) {
	mqtttest.Each(t, func(t *testing.T, b *mqtttest.Broker) {
		c := fleettest.Client(t, b.URL, nil)
		tp := wire.Topics{}
		now := time.Now()
		for host, beatAt := range map[string]time.Time{"silent": now.Add(-time.Minute), "fresh": now, "nobeat": {}} {
			pub(t, c, tp.Presence(host), "True")
			pub(t, c, tp.CommandAvailable(host, "shutdown"), "True")
			if beatAt.IsZero() {
				continue
			}
			p, err := wire.Beat{At: beatAt, Interval: 10 * time.Second, Seq: 7}.Encode()
			if err != nil {
				t.Fatal(err)
			}
			pub(t, c, tp.Heartbeat(host), string(p))
		}
		waitStatus(t, b, "silent gone by heartbeat, fresh and nobeat online", func(out string) bool {
			return lineHas(out, "silent", "no (no heartbeat for 1m0s)") && lineHas(out, "fresh", "yes") && lineHas(out, "nobeat", "yes")
		})
	})
}
