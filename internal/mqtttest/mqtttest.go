// Package mqtttest starts real MQTT brokers for tests: an embedded
// nats-server in every run, and Debian's Mosquitto when it is installed.
//
// Like net/http/httptest it binds 127.0.0.1 on a port the kernel picks and
// cleans up with the test. Set STORMGUARD_REQUIRE_MOSQUITTO=1 (CI does) to
// turn a missing Mosquitto from a skip into a failure.
package mqtttest

import (
	"fmt"
	"net"
	"os"
	"testing"
	"time"
)

// RequireMosquittoEnv names the variable that makes a missing Mosquitto fail tests.
const RequireMosquittoEnv = "STORMGUARD_REQUIRE_MOSQUITTO"

// Broker is a running test broker.
type Broker struct {
	// Name is "nats" or "mosquitto".
	Name string
	// URL is what a client dials, e.g. "tcp://127.0.0.1:40123" or "ssl://...".
	URL string
	// Addr is host:port.
	Addr string

	restart func(t testing.TB)
	kill    func(t testing.TB)
	start   func(t testing.TB)
	stopped chan struct{}
}

// Restart stops the broker cleanly and starts it again on the same port with
// the same persistent state.
func (b *Broker) Restart(t testing.TB) {
	t.Helper()
	b.restart(t)
}

// Kill stops the broker abruptly (SIGKILL for Mosquitto); Start brings it back.
func (b *Broker) Kill(t testing.TB) {
	t.Helper()
	b.kill(t)
}

// Start starts a killed broker again on the same port with the same state.
func (b *Broker) Start(t testing.TB) {
	t.Helper()
	b.start(t)
}

// Each runs fn as a subtest against every broker available: embedded
// nats-server always, Mosquitto when installed (or required).
func Each(t *testing.T, fn func(t *testing.T, b *Broker)) {
	t.Helper()
	t.Run("nats", func(t *testing.T) { fn(t, NATS(t)) })
	t.Run("mosquitto", func(t *testing.T) { fn(t, Mosquitto(t, MosquittoOptions{})) })
}

// FreePort asks the kernel for a free loopback port, for a program that
// must be told its port: Mosquitto cannot bind port 0 itself ("listener 0"
// means a unix socket). The small race is the caller's to retry.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitListening waits until addr accepts TCP connections or the deadline passes.
func waitListening(addr string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("broker at %s not listening after %v: %w", addr, within, err)
		}
		time.Sleep(5 * time.Millisecond) // polling a socket, not standing in for an event
	}
}

func requireMosquitto() bool { return os.Getenv(RequireMosquittoEnv) == "1" }
