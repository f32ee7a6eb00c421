package demo

import (
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// broker is an embedded nats-server with its MQTT listener on a loopback
// port the kernel picks, so the demo needs nothing installed.
type broker struct {
	srv *server.Server
	// URL is what MQTT clients dial, e.g. "tcp://127.0.0.1:40123".
	URL string
}

// startBroker starts nats-server in this process with JetStream (which its
// MQTT support needs) stored under dir. AckWait is short because
// nats-server redelivers an unacknowledged QoS 1 message only after it.
func startBroker(dir string) (*broker, error) {
	opts := &server.Options{
		Host:      "127.0.0.1",
		Port:      -1,
		NoLog:     true,
		NoSigs:    true,
		JetStream: true,
		StoreDir:  dir,
		MQTT: server.MQTTOpts{
			Host:    "127.0.0.1",
			Port:    -1,
			AckWait: time.Second,
		},
	}
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("start broker: %w", err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		return nil, errors.New("start broker: not ready after 10s")
	}
	// Port -1 binds :0 and writes the bound port back into opts.
	return &broker{srv: s, URL: fmt.Sprintf("tcp://127.0.0.1:%d", opts.MQTT.Port)}, nil
}

func (b *broker) close() {
	b.srv.Shutdown()
	b.srv.WaitForShutdown()
}
