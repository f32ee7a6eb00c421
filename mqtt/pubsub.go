package mqtt

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// ErrNotConnected is returned by Publish when the client has no connection
// and ctx ends before one comes back.
var ErrNotConnected = errors.New("not connected to the broker")

// Publish sends payload and waits for the broker to accept it (QoS 1 and 2)
// or for ctx to end.
func (c *Client) Publish(ctx context.Context, topic string, qos byte, retained bool, payload []byte) error {
	t := c.pc.Publish(topic, qos, retained, payload)
	if err := wait(ctx, t); err != nil {
		return fmt.Errorf("publish %s: %w", topic, err)
	}
	return nil
}

// Subscribe routes messages on filter to handle and subscribes now (and on
// every reconnect). Its signature matches weather.Subscriber.
func (c *Client) Subscribe(ctx context.Context, filter string, qos byte, handle func(topic string, payload []byte, retained bool)) error {
	h := func(m Message) {
		m.Ack()
		handle(m.Topic, m.Payload, m.Retained)
	}
	c.Handle(filter, qos, h)
	if !c.pc.IsConnectionOpen() {
		return nil // subscribed by connected() when the link comes up
	}
	return c.subscribe(ctx, route{filter, qos, h})
}

func (c *Client) subscribe(ctx context.Context, r route) error {
	t := c.pc.Subscribe(r.filter, r.qos, nil)
	if err := wait(ctx, t); err != nil {
		return fmt.Errorf("subscribe %s: %w", r.filter, err)
	}
	// A refused subscription (SUBACK 0x80) does not set an error in paho (P6).
	if st, ok := t.(*paho.SubscribeToken); ok {
		if code, ok := st.Result()[r.filter]; ok && code == 0x80 {
			return fmt.Errorf("subscribe %s: refused by the broker (check its ACL)", r.filter)
		}
	}
	return nil
}

func wait(ctx context.Context, t paho.Token) error {
	select {
	case <-t.Done():
		return t.Error()
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrNotConnected, ctx.Err())
	}
}

// connected subscribes every route and runs the OnConnect functions.
func (c *Client) connected() {
	c.mu.Lock()
	routes := append([]route(nil), c.routes...)
	hooks := append([]func(){}, c.onConn...)
	b := c.broker
	c.mu.Unlock()
	c.linkUp()
	c.log.Info("connected to broker", "broker", b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, r := range routes {
		if err := c.subscribe(ctx, r); err != nil {
			c.log.Error("subscription failed", "err", err)
		}
	}
	c.log.Info("subscribed", "filters", len(routes))
	c.once.Do(func() { close(c.ready) })
	for _, f := range hooks {
		go f()
	}
}

// dispatch hands a message to the first route whose filter matches. paho
// already runs it on its own goroutine (OrderMatters=false).
func (c *Client) dispatch(pm paho.Message) {
	m := Message{
		Topic:     pm.Topic(),
		Payload:   pm.Payload(),
		QoS:       pm.Qos(),
		Retained:  pm.Retained(),
		Duplicate: pm.Duplicate(),
	}
	if c.cfg.ManualAck {
		m.ack = pm.Ack
	}
	c.mu.Lock()
	var h Handler
	for _, r := range c.routes {
		if Match(r.filter, m.Topic) {
			h = r.h
			break
		}
	}
	c.mu.Unlock()
	if h == nil {
		c.log.Debug("message on a topic with no handler", "topic", m.Topic)
		m.Ack()
		return
	}
	h(m)
}

// Match reports whether topic matches the MQTT filter (with + and #).
func Match(filter, topic string) bool {
	fs := strings.Split(filter, "/")
	ts := strings.Split(topic, "/")
	for i, f := range fs {
		if f == "#" {
			return true
		}
		if i >= len(ts) {
			return false
		}
		if f != "+" && f != ts[i] {
			return false
		}
	}
	return len(fs) == len(ts)
}
