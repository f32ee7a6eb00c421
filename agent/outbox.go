package agent

import (
	"log/slog"
	"time"

	"github.com/stormguard/stormguard/mqtt"
)

// outbox is the agent's one ordered, non-blocking queue of publishes: the
// loop hands a message over and goes on; one goroutine gives them to the
// client in order, which sends them in that order (and keeps them while
// it reconnects). Nothing on the way to the power command waits for the
// broker.
type outbox struct {
	c    *mqtt.Client
	qos  byte
	log  *slog.Logger
	ch   chan publication
	done chan (<-chan struct{}) // the last message's completion, once closed
}

type publication struct {
	topic    string
	retained bool
	payload  []byte
}

// outboxSize bounds the queue; beyond it (a broker away for very long while
// commands keep coming) the newest messages are dropped and logged.
const outboxSize = 4096

func newOutbox(c *mqtt.Client, qos byte, log *slog.Logger) *outbox {
	o := &outbox{c: c, qos: qos, log: log, ch: make(chan publication, outboxSize), done: make(chan (<-chan struct{}), 1)}
	go o.run()
	return o
}

func (o *outbox) run() {
	var last <-chan struct{}
	for p := range o.ch {
		last = o.c.Send(p.topic, o.qos, p.retained, p.payload)
	}
	o.done <- last
}

func (o *outbox) send(topic string, retained bool, payload []byte) {
	select {
	case o.ch <- publication{topic, retained, payload}:
	default:
		o.log.Warn("publish queue full; message dropped", "topic", topic)
	}
}

// flush closes the queue and waits up to bound for the broker to take the
// last message.
func (o *outbox) flush(bound time.Duration) {
	close(o.ch)
	t := time.NewTimer(bound)
	defer t.Stop()
	select {
	case last := <-o.done:
		if last == nil {
			return
		}
		select {
		case <-last:
		case <-t.C:
		}
	case <-t.C:
	}
}
