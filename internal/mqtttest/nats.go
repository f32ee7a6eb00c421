package mqtttest

import (
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// NATS starts an embedded nats-server with its MQTT listener on a loopback
// port and JetStream state under t.TempDir(). AckWait is short (1 s) because
// nats-server redelivers an unacked QoS 1 message only after it, not on
// session resume (go-libraries.md §4).
func NATS(t testing.TB) *Broker {
	t.Helper()
	storeDir := t.TempDir()
	b := &Broker{Name: "nats"}
	var srv *server.Server
	port := -1
	start := func(t testing.TB) {
		t.Helper()
		opts := &server.Options{
			Host:      "127.0.0.1",
			Port:      -1,
			NoLog:     true,
			NoSigs:    true,
			JetStream: true,
			// Room for the 1 MiB hostile payloads the tests send; the
			// default limit is exactly 1 MiB with no room for headers.
			MaxPayload: 4 << 20,
			StoreDir:   storeDir,
			MQTT: server.MQTTOpts{
				Host:    "127.0.0.1",
				Port:    port,
				AckWait: time.Second,
			},
		}
		s, err := server.NewServer(opts)
		if err != nil {
			t.Fatalf("nats-server: %v", err)
		}
		go s.Start()
		if !s.ReadyForConnections(10 * time.Second) {
			t.Fatalf("nats-server not ready")
		}
		// MQTT.Port -1 binds :0 and writes the bound port back into opts.
		port = opts.MQTT.Port
		b.Addr = fmt.Sprintf("127.0.0.1:%d", port)
		b.URL = "tcp://" + b.Addr
		if err := waitListening(b.Addr, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		srv = s
	}
	stop := func() {
		if srv != nil {
			srv.Shutdown()
			srv.WaitForShutdown()
			srv = nil
		}
	}
	b.start = start
	b.kill = func(testing.TB) { stop() }
	b.restart = func(t testing.TB) { stop(); start(t) }
	start(t)
	t.Cleanup(stop)
	return b
}
