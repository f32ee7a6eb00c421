package mqtttest

import (
	"os"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

func TestMain(m *testing.M) {
	RunNode()
	os.Exit(m.Run())
}

// TestNATSCluster: a message published on one node reaches a subscriber on
// another; a client on a killed node leaves no will (the node dies with
// it); the node comes back on its port.
func TestNATSCluster(t *testing.T) {
	t0 := time.Now()
	nodes := NATSCluster(t, 3)
	t.Logf("cluster up in %v", time.Since(t0).Round(time.Millisecond))
	got := make(chan paho.Message, 10)
	sub := paho.NewClient(paho.NewClientOptions().AddBroker(nodes[0].URL).SetClientID("sub").SetCleanSession(true))
	if err := wait(sub.Connect()); err != nil {
		t.Fatal(err)
	}
	defer sub.Disconnect(50)
	if err := wait(sub.Subscribe("t/#", 1, func(_ paho.Client, m paho.Message) { got <- m })); err != nil {
		t.Fatal(err)
	}
	pub := paho.NewClient(paho.NewClientOptions().AddBroker(nodes[2].URL).SetClientID("pub").SetCleanSession(true).
		SetAutoReconnect(false).SetWill("t/will", "gone", 1, false))
	if err := wait(pub.Connect()); err != nil {
		t.Fatal(err)
	}
	if err := wait(pub.Publish("t/x", 1, false, "hello")); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		if m.Topic() != "t/x" {
			t.Fatalf("got %s", m.Topic())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("message from node 3 never reached node 1")
	}
	nodes[2].Kill(t)
	t1 := time.Now()
	// No will can come from a dead node; a message published after the kill
	// on a live node arrives, and nothing else before it.
	if err := WaitMQTT(nodes[1].URL, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	t.Logf("node 2 takes a new client's QoS 1 round trip %v after node 3 died", time.Since(t1).Round(time.Millisecond))
	other := paho.NewClient(paho.NewClientOptions().AddBroker(nodes[1].URL).SetClientID("other").SetCleanSession(true))
	if err := wait(other.Connect()); err != nil {
		t.Fatal(err)
	}
	defer other.Disconnect(50)
	if err := wait(other.Publish("t/after", 1, false, "x")); err != nil {
		t.Fatal(err)
	}
	// QoS 1 is at least once: the stream that moved with the dead node may
	// deliver t/x again. A will must never come.
	timeout := time.After(10 * time.Second)
	for after := false; !after; {
		select {
		case m := <-got:
			switch m.Topic() {
			case "t/after":
				after = true
			case "t/x":
			default:
				t.Fatalf("after the kill got %s %q", m.Topic(), m.Payload())
			}
		case <-timeout:
			t.Fatal("message on node 2 never reached node 1 after node 3 died")
		}
	}
	t2 := time.Now()
	nodes[2].Start(t)
	if err := WaitMQTT(nodes[2].URL, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	t.Logf("node 3 back and serving in %v", time.Since(t2).Round(time.Millisecond))
}
