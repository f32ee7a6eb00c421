package faults

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stormguard/stormguard/agent"
	"github.com/stormguard/stormguard/internal/fleettest"
	"github.com/stormguard/stormguard/internal/mqtttest"
	"github.com/stormguard/stormguard/journal"
	"github.com/stormguard/stormguard/mqtt"
	"github.com/stormguard/stormguard/wire"
)

// TestSoak sends ten thousand messages to one agent with signing required:
// valid, duplicate, expired, malformed, oversized, forged and unsigned,
// after retained commands waiting on every topic it subscribes to. Exactly
// the valid ones run, each once, and every message is journaled.
//
// A retained message reaches a subscriber flagged retained only when the
// subscription is made (live deliveries never carry the flag), so the
// retained share is the set waiting on the agent's topics when it starts.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("soak skipped with -short")
	}
	// Mosquitto: nats-server as the tests configure it redelivers anything
	// unacknowledged after one second, which turns a deliberately flooded
	// agent into a redelivery storm; and the queue limit is lifted so the
	// broker, not the agent, is never the one dropping messages.
	b := mqtttest.Mosquitto(t, mqtttest.MosquittoOptions{Extra: "max_queued_messages 0\n"})
	pub, priv, _ := ed25519.GenerateKey(nil)
	_, forger, _ := ed25519.GenerateKey(nil)
	c := fleettest.Client(t, b.URL, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	send := func(topic string, retained bool, payload []byte) {
		if err := c.Publish(ctx, topic, 1, retained, payload); err != nil {
			t.Fatal(err)
		}
	}
	signed := func(id string, key ed25519.PrivateKey, issued time.Time) []byte {
		cmd := wire.Command{V: 1, ID: id, Action: wire.Shutdown, Reason: "soak", IssuedAt: issued}
		cmd.Sign(key)
		p, err := cmd.Encode()
		if err != nil {
			t.Fatal(err)
		}
		return p
	}

	var groups []string
	for i := range 50 {
		groups = append(groups, fmt.Sprintf("g%d", i))
	}
	tp := wire.Topics{}
	retained := 0
	for _, g := range groups {
		send(tp.GroupCommand(wire.Shutdown, g), true, signed("r-"+g, priv, time.Now()))
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			c.Publish(ctx, tp.GroupCommand(wire.Shutdown, g), 1, true, nil)
		})
		retained++
	}

	dir := t.TempDir()
	a, err := agent.New(agent.Config{
		Policy:   agent.Policy{Host: "soak", Groups: groups, MaxAge: time.Minute, Keys: []ed25519.PublicKey{pub}, RequireSigned: true},
		MQTT:     mqtt.Config{Brokers: []string{b.URL}},
		QoS:      1,
		StateDir: filepath.Join(dir, "state"), ShutdownCmd: []string{"true"}, RebootCmd: []string{"true"}, DryRun: true,
		// One file for the whole soak, so every record can be counted
		// (rotation is tested in journal/ and agent/).
		JournalLimit: 1 << 30,
	})
	if err != nil {
		t.Fatal(err)
	}
	actx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(actx) }()
	defer func() { stop(); <-done }()
	<-a.Ready()

	rng := rand.New(rand.NewPCG(1, 2))
	want := map[string]bool{} // ids that must run, once each
	var valid []string
	total := 10000
	if n := os.Getenv("SOAK_MESSAGES"); n != "" {
		total, _ = strconv.Atoi(n)
	}
	for i := range total {
		switch k := rng.IntN(7); {
		case k == 0 || len(valid) == 0:
			id := fmt.Sprintf("v-%d", i)
			valid = append(valid, id)
			want[id] = true
			send("SHUTDOWN", false, signed(id, priv, time.Now()))
		case k == 1: // a duplicate of an earlier valid command
			send("SHUTDOWN", false, signed(valid[rng.IntN(len(valid))], priv, time.Now()))
		case k == 2: // expired
			send("SHUTDOWN", false, signed(fmt.Sprintf("e-%d", i), priv, time.Now().Add(-10*time.Minute)))
		case k == 3: // malformed
			junk := make([]byte, 1+rng.IntN(200))
			for j := range junk {
				junk[j] = byte(rng.IntN(256))
			}
			junk[0] = '{'
			send("SHUTDOWN", false, junk)
		case k == 4: // oversized
			send("SHUTDOWN", false, []byte(strings.Repeat("x", wire.MaxPayload+1+rng.IntN(1000))))
		case k == 5: // forged
			send("SHUTDOWN", false, signed(fmt.Sprintf("f-%d", i), forger, time.Now()))
		default: // unsigned plain text
			send("SHUTDOWN", false, []byte(fmt.Sprintf("storm %d", i)))
		}
	}
	send("SHUTDOWN", false, signed("marker", priv, time.Now()))
	want["marker"] = true

	var recs []journal.Record
	deadline := time.Now().Add(4 * time.Minute)
	for {
		r, err := journal.ReadAll(filepath.Join(dir, "state"))
		if err == nil {
			recs = r
			if hasOutcome(recs, "marker") {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the marker never ran")
		}
		time.Sleep(100 * time.Millisecond) // polling the journal the agent writes
	}
	received, redelivered, outcomes := 0, 0, map[string]int{}
	for _, r := range recs {
		switch {
		case r.Kind == journal.KindReceived && r.Duplicate:
			redelivered++
		case r.Kind == journal.KindReceived:
			received++
		case r.Kind == journal.KindOutcome:
			outcomes[r.ID]++
		}
	}
	if received != total+1+retained {
		t.Errorf("journal has %d received messages, want %d (%d sent, the marker, %d retained)", received, total+1+retained, total, retained)
	}
	for id := range want {
		if outcomes[id] != 1 {
			t.Errorf("valid command %s ran %d times, want 1", id, outcomes[id])
		}
	}
	for id, n := range outcomes {
		if !want[id] {
			t.Errorf("%s ran %d times; it was not a valid command", id, n)
		}
	}
	t.Logf("%d messages, %d valid ran once each, %d retained rejected, %d broker redeliveries journaled", total, len(want), retained, redelivered)
}

func hasOutcome(recs []journal.Record, id string) bool {
	for _, r := range recs {
		if r.Kind == journal.KindOutcome && r.ID == id {
			return true
		}
	}
	return false
}
