// Package mqtt connects stormguard's programs to an MQTT 3.1.1 broker with
// paho. It sets the options that the safety rules depend on (stable client
// id, persistent session, capped reconnect backoff, handlers that never
// block paho) in one place, so no program gets them subtly wrong.
package mqtt

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// Config is how to reach the broker and who to be there.
type Config struct {
	// Brokers are tried in order on every (re)connect, e.g.
	// "tcp://broker.lan:1883", "ssl://broker.lan:8883".
	Brokers  []string
	ClientID string
	Username string
	Password string
	TLS      *tls.Config
	// CleanSession false keeps subscriptions and queued QoS 1 messages at
	// the broker while this client is away (agents). Short-lived tools use true.
	CleanSession   bool
	KeepAlive      time.Duration // default 15s
	MaxReconnect   time.Duration // default 15s; paho's own default is 10 min
	ConnectTimeout time.Duration // default 10s
	// Will is published by the broker if this client vanishes without a clean disconnect.
	Will *Will
	// Ordered delivers messages to handlers one at a time, in the order they
	// arrived, on paho's own goroutine. Only for handlers that never block
	// and never publish and wait (that would stall paho); the default runs
	// each handler on its own goroutine, in no particular order.
	Ordered bool
	// ManualAck leaves acknowledging each message to the handler (Message.Ack),
	// so a message is acknowledged only after it is safely handled.
	ManualAck bool
	// FailFast makes the first connect a single attempt (each broker once):
	// WaitReady then returns its cause at once instead of waiting while the
	// client retries. For command-line tools; daemons keep retrying.
	FailFast bool
	Logger   *slog.Logger
}

// Will is a last-will message.
type Will struct {
	Topic    string
	Payload  []byte
	QoS      byte
	Retained bool
}

// Validate reports the first thing wrong with c.
func (c Config) Validate() error {
	if len(c.Brokers) == 0 {
		return errors.New("mqtt: no broker URL")
	}
	for _, b := range c.Brokers {
		u, err := url.Parse(b)
		if err != nil || u.Host == "" {
			return fmt.Errorf("mqtt: broker URL %q: want scheme://host:port", b)
		}
		switch u.Scheme {
		case "tcp", "mqtt", "ssl", "tls", "mqtts", "tcps", "ws", "wss":
		default:
			return fmt.Errorf("mqtt: broker URL %q: unknown scheme %q", b, u.Scheme)
		}
	}
	if c.ClientID == "" {
		return errors.New("mqtt: empty client id")
	}
	if len(c.ClientID) > 128 {
		return errors.New("mqtt: client id longer than 128 bytes")
	}
	return nil
}

// Message is one received message.
type Message struct {
	Topic     string
	Payload   []byte
	QoS       byte
	Retained  bool
	Duplicate bool
	ack       func()
}

// Ack acknowledges the message to the broker. With Config.ManualAck unset
// it has already been acknowledged and Ack does nothing.
func (m Message) Ack() {
	if m.ack != nil {
		m.ack()
	}
}

// Handler receives messages. Unless Config.Ordered is set it runs on its
// own goroutine per message, so it may publish and wait, and delivery order
// is not guaranteed.
type Handler func(Message)

type route struct {
	filter string
	qos    byte
	h      Handler
}

// Client is a connection to the broker that reconnects by itself.
type Client struct {
	cfg    Config
	log    *slog.Logger
	pc     paho.Client
	mu     sync.Mutex
	routes []route
	onConn []func()
	onLost []func(error)
	ready  chan struct{} // closed after the first connect's subscriptions
	once   sync.Once

	// The link's state, from paho's connection notifications (link.go).
	broker     string // the URL of the last broker tried
	up         bool
	troubleKey string // broker and cause last logged
	lastErr    *ConnError
	downSince  time.Time
	failed     chan struct{} // closed when a FailFast first connect fails
	startErr   error
}

// New prepares a client; Start connects it.
func New(cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.KeepAlive == 0 {
		cfg.KeepAlive = 15 * time.Second
	}
	if cfg.MaxReconnect == 0 {
		cfg.MaxReconnect = 15 * time.Second
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Client{cfg: cfg, log: log.With("client", cfg.ClientID), ready: make(chan struct{}), failed: make(chan struct{})}
	o := paho.NewClientOptions()
	for _, b := range cfg.Brokers {
		o.AddBroker(b)
	}
	o.SetClientID(cfg.ClientID)
	// 3.1.1 only: paho would otherwise retry a refused CONNECT as MQTT 3.1
	// and report that second answer ("unacceptable protocol version")
	// instead of the broker's real one ("not authorised").
	o.SetProtocolVersion(4)
	o.SetUsername(cfg.Username)
	o.SetPassword(cfg.Password)
	if cfg.TLS != nil {
		o.SetTLSConfig(cfg.TLS)
	}
	o.SetCleanSession(cfg.CleanSession)
	// OrderMatters=false runs every handler on its own goroutine; with true a
	// handler that publishes and waits can stall paho (go-libraries.md P1).
	o.SetOrderMatters(cfg.Ordered)
	o.SetAutoReconnect(true)
	o.SetMaxReconnectInterval(cfg.MaxReconnect)
	o.SetConnectRetry(!cfg.FailFast)
	o.SetConnectRetryInterval(min(2*time.Second, cfg.MaxReconnect))
	o.SetKeepAlive(cfg.KeepAlive)
	o.SetPingTimeout(min(10*time.Second, cfg.KeepAlive))
	o.SetConnectTimeout(cfg.ConnectTimeout)
	o.SetWriteTimeout(10 * time.Second)
	o.SetAutoAckDisabled(cfg.ManualAck)
	// The client's own store stays in memory: paho's FileStore panics on
	// any file error (a full disk would crash the program), and what it
	// would keep (our unacknowledged outgoing acks and presence) is
	// republished on connect anyway. Incoming commands are kept by the
	// broker's persistent session and by the agent's journal.
	if w := cfg.Will; w != nil {
		o.SetBinaryWill(w.Topic, w.Payload, w.QoS, w.Retained)
	}
	// With a persistent session, queued messages may arrive before any
	// Subscribe call: the default handler routes them too (go-libraries.md §1).
	o.SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) { c.dispatch(m) })
	o.SetOnConnectHandler(func(paho.Client) { c.connected() })
	// Connection trouble is logged from the notifications, once per change.
	o.SetConnectionNotificationHandler(c.notify)
	o.SetConnectionLostHandler(func(_ paho.Client, err error) {
		c.mu.Lock()
		hooks := append([]func(error){}, c.onLost...)
		c.mu.Unlock()
		for _, f := range hooks {
			go f(err)
		}
	})
	o.SetReconnectingHandler(func(paho.Client, *paho.ClientOptions) {
		c.log.Debug("reconnecting to broker")
	})
	c.pc = paho.NewClient(o)
	return c, nil
}

// Handle routes messages on filter to h and subscribes to it on every
// connect. Call it before Start for anything a persistent session may hold.
func (c *Client) Handle(filter string, qos byte, h Handler) {
	c.mu.Lock()
	c.routes = append(c.routes, route{filter, qos, h})
	c.mu.Unlock()
}

// OnConnect runs f (on its own goroutine) after every connect, once the
// subscriptions are in place.
func (c *Client) OnConnect(f func()) {
	c.mu.Lock()
	c.onConn = append(c.onConn, f)
	c.mu.Unlock()
}

// OnLost runs f (on its own goroutine) whenever an established connection
// is lost; the client then reconnects by itself.
func (c *Client) OnLost(f func(error)) {
	c.mu.Lock()
	c.onLost = append(c.onLost, f)
	c.mu.Unlock()
}

// Start begins connecting in the background and returns at once; the
// client keeps retrying while the broker is down.
func (c *Client) Start() {
	t := c.pc.Connect()
	if !c.cfg.FailFast {
		return
	}
	go func() {
		<-t.Done()
		err := t.Error()
		if err == nil {
			return
		}
		c.mu.Lock()
		if c.lastErr != nil {
			c.startErr = c.lastErr
		} else {
			c.startErr = &ConnError{Broker: c.broker, Cause: Cause(err), Err: err}
		}
		c.mu.Unlock()
		close(c.failed)
	}()
}

// Ready is closed once the first connection has its subscriptions.
func (c *Client) Ready() <-chan struct{} { return c.ready }

// WaitReady waits for Ready or ctx. With Config.FailFast it returns the
// first attempt's failure (a *ConnError) as soon as it is known; otherwise,
// when ctx ends first, the error names the last trouble seen.
func (c *Client) WaitReady(ctx context.Context) error {
	select {
	case <-c.ready:
		return nil
	case <-c.failed:
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.startErr
	case <-ctx.Done():
		if err := c.Err(); err != nil {
			return fmt.Errorf("%w (gave up waiting: %w)", err, ctx.Err())
		}
		return fmt.Errorf("connect to %v: %w", c.cfg.Brokers, ctx.Err())
	}
}

// Connected reports whether the client is connected now.
func (c *Client) Connected() bool { return c.pc.IsConnectionOpen() }

// Close disconnects cleanly (no last will), waiting up to quiesce for work in flight.
func (c *Client) Close(quiesce time.Duration) {
	c.pc.Disconnect(uint(quiesce / time.Millisecond))
}
