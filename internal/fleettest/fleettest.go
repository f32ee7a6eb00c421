// Package fleettest runs real agents and MQTT clients inside a test's
// process.
package fleettest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stormguard/stormguard/agent"
	"github.com/stormguard/stormguard/mqtt"
)

// DryRunAgent runs an agent for host, in the given groups, against the
// broker at url, in dry run: it journals and acks every command and runs
// nothing. It returns once the agent is subscribed and stops it when the
// test ends.
func DryRunAgent(t testing.TB, url, host string, groups ...string) {
	t.Helper()
	DryRunAgentOn(t, AgentOptions{Brokers: []string{url}, Host: host, Groups: groups})
}

// RunAgent runs an agent with cfg in the test's process until the test
// ends; it returns once the agent is subscribed.
func RunAgent(t testing.TB, cfg agent.Config) *agent.Agent {
	t.Helper()
	a, err := agent.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-a.Ready():
	case <-time.After(30 * time.Second):
		t.Fatalf("agent %s not ready within 30s", cfg.Host)
	}
	return a
}

var clientSeq atomic.Int64

// Client connects a clean-session client to the broker at url, with the
// handlers setup registers (setup may be nil), and returns it once it is
// connected and subscribed. It is closed when the test ends.
func Client(t testing.TB, url string, setup func(*mqtt.Client)) *mqtt.Client {
	t.Helper()
	return client(t, url, false, setup)
}

// OrderedClient is Client with messages handed to the handlers one at a
// time, in the order they arrived (mqtt.Config.Ordered): for tests whose
// handlers only queue what they get and that check its order.
func OrderedClient(t testing.TB, url string, setup func(*mqtt.Client)) *mqtt.Client {
	t.Helper()
	return client(t, url, true, setup)
}

func client(t testing.TB, url string, ordered bool, setup func(*mqtt.Client)) *mqtt.Client {
	t.Helper()
	c, err := mqtt.New(mqtt.Config{Brokers: []string{url}, ClientID: fmt.Sprintf("test-%d-%d", time.Now().UnixNano()%1e9, clientSeq.Add(1)), CleanSession: true, Ordered: ordered})
	if err != nil {
		t.Fatal(err)
	}
	if setup != nil {
		setup(c)
	}
	c.Start()
	t.Cleanup(func() { c.Close(50 * time.Millisecond) })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	return c
}
