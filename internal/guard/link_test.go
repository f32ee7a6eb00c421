package guard

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stormguard/stormguard/internal/mqtttest"
	"github.com/stormguard/stormguard/mqtt"
	"github.com/stormguard/stormguard/wire"
)

// TestBrokerOutageIsReportedOnceBack cuts stormguard's link to the broker:
// once it is back there is a broker event and the retained state names
// the outage; the loop stays alive throughout.
func TestBrokerOutageIsReportedOnceBack(t *testing.T) {
	b := mqtttest.NATS(t)
	proxy := mqtttest.NewProxy(t, b)
	g := runGuardWith(t, mqtt.Config{Brokers: []string{proxy.URL}, ClientID: "guard-link", MaxReconnect: time.Second}, t.TempDir())
	<-g.Ready()

	tp := wire.Topics{}
	_, ch := listen(t, b.URL, tp.Event(Name), tp.State(Name))
	proxy.Down()
	actx, acancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer acancel()
	if err := g.Alive(actx); err != nil {
		t.Fatalf("loop not alive during the outage: %v", err)
	}
	proxy.Up()
	// The event and the state may arrive in either order.
	var sawEvent, sawState bool
	deadline := time.After(10 * time.Second)
	for !sawEvent || !sawState {
		select {
		case m := <-ch:
			var ev Event
			var st State
			switch {
			case m.Topic == tp.Event(Name) && json.Unmarshal(m.Payload, &ev) == nil && ev.Kind == "broker":
				sawEvent = true
			case m.Topic == tp.State(Name) && json.Unmarshal(m.Payload, &st) == nil &&
				st.Broker != nil && st.Broker.LastOutage != nil && st.Broker.LastOutage.Cause != "":
				sawState = true
			}
		case <-deadline:
			t.Fatalf("after the outage: broker event seen %v, state naming it seen %v", sawEvent, sawState)
		}
	}
}
