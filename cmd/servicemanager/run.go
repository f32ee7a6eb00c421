package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stormguard/stormguard/cmd/internal/cli"
	"github.com/stormguard/stormguard/heartbeat"
	"github.com/stormguard/stormguard/mqtt"
	"github.com/stormguard/stormguard/presence"
	"github.com/stormguard/stormguard/sdnotify"
	"github.com/stormguard/stormguard/wire"
)

// Main is the program with its outside world made explicit, so tests run
// it in-process.
type Main struct {
	Stdout io.Writer
	Stderr io.Writer
	// Logger, when set, replaces the key=value logger on Stderr.
	Logger *slog.Logger
}

// levelTrace logs every message received; it shows with -v -v.
const levelTrace = slog.LevelDebug - 4

// newLogger logs key=value lines to w: info and up by default, debug with
// -v, every message received with -v -v.
func newLogger(cfg Config, w io.Writer) *slog.Logger {
	level := slog.LevelInfo - slog.Level(4*min(cfg.Verbose, 2))
	return slog.New(cli.Handler(w, level))
}

// Run loads the settings from args and runs the manager until ctx ends.
func (m *Main) Run(ctx context.Context, args []string) error {
	cfg, err := loadConfig(args, m.Stdout, m.Stderr)
	if err != nil {
		if errors.Is(err, errUsage) {
			return err
		}
		return cli.Configuration(err)
	}
	log := m.Logger
	if log == nil {
		log = newLogger(cfg, m.Stderr)
	}
	mc, err := cfg.MQTT(cfg.ClientID)
	if err != nil {
		return cli.Configuration(err)
	}
	reg, err := presence.New(presence.Config{Topics: cfg.Topics(), AlwaysRetain: cfg.AlwaysRetain,
		MaxResources: cfg.MaxResources, MaxTopics: cfg.MaxTopics, Misses: cfg.Misses})
	if err != nil {
		return err
	}
	var store *stateFile
	if cfg.State != "" {
		store = &stateFile{path: cfg.State, reg: reg, log: log}
		if err := store.load(); err != nil {
			// The picture is rebuilt from retained messages; a bad file
			// must not keep the manager off the network.
			log.Warn("state file not loaded; starting from the broker's retained messages", "err", err)
		}
	}
	topics := cfg.Topics()
	qos := byte(cfg.QoS)
	mc.CleanSession = false
	mc.Logger = log
	mc.Will = &mqtt.Will{Topic: topics.Presence(cfg.Name), Payload: []byte(wire.PresenceFalse), QoS: qos, Retained: true}
	client, err := mqtt.New(mc)
	if err != nil {
		return err
	}
	mgr := &manager{reg: reg, client: client, qos: qos, log: log, store: store, queue: make(chan []presence.Publish, 1024), done: ctx.Done(),
		state: topics.State(cfg.Name), name: cfg.Name, misses: cfg.Misses, topics: topics}
	for _, f := range append([]string{topics.PresenceFilter(), topics.HeartbeatFilter()}, topics.AvailabilityFilters()...) {
		client.Handle(f, qos, mgr.handle)
	}
	beats := heartbeat.Start(ctx, client, heartbeat.Config{Topics: topics, Name: cfg.Name, Interval: cfg.Heartbeat, Logger: log})
	self := topics.Presence(cfg.Name)
	client.OnConnect(func() {
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := client.Publish(pctx, self, qos, true, []byte(wire.PresenceTrue)); err != nil {
			log.Warn("own presence not published", "err", err)
		}
		mgr.publishState(pctx, true)
	})
	log.Info("starting", "version", cli.Version, "brokers", mc.Brokers, "client_id", cfg.ClientID, "qos", qos, "resources", reg.Len())
	client.Start()
	// Ready once configured with the client set up; the broker may be down.
	if err := sdnotify.Ready(fmt.Sprintf("tracking %d resources", reg.Len())); err != nil {
		log.Warn("sd_notify", "err", err)
	}
	go sdnotify.Watchdog(ctx, sdnotify.WatchdogInterval(), mgr.alive, log)

	go mgr.sweepLoop(ctx)
	published := make(chan struct{})
	go func() { mgr.publishLoop(ctx); close(published) }()
	var saved chan struct{}
	if store != nil {
		saved = make(chan struct{})
		go func() { store.loop(ctx); close(saved) }()
	}
	<-ctx.Done()
	<-published
	<-beats

	// A clean disconnect does not fire the will, so say it ourselves.
	bye, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if client.Connected() {
		if err := client.Publish(bye, self, qos, true, []byte(wire.PresenceFalse)); err != nil {
			log.Warn("own presence False not published", "err", err)
		}
	}
	client.Close(500 * time.Millisecond)
	if saved != nil {
		<-saved
	}
	sdnotify.Stopping()
	log.Info("stopped", "resources", reg.Len())
	return nil
}

// alive is the watchdog's check: the registry, which every message handler
// locks, must answer. A broker outage does not hold it.
func (m *manager) alive(ctx context.Context) error {
	done := make(chan struct{})
	go func() { m.reg.Len(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// manager turns messages into registry updates and registry answers into
// publishes.
type manager struct {
	reg    *presence.Registry
	client *mqtt.Client
	qos    byte
	log    *slog.Logger
	store  *stateFile
	queue  chan []presence.Publish
	done   <-chan struct{}
	// state is the manager's retained state topic; name its resource name.
	state  string
	name   string
	misses int
	topics wire.Topics
	// gone counts heartbeat expiries; said is what the state last said.
	gone atomic.Uint64
	mu   sync.Mutex
	said said
	// warned is when a limit warning was last logged.
	warned time.Time
}

// handle runs on its own goroutine per message (see mqtt.Handler). It
// never publishes itself: the publish loop does, so a slow broker cannot
// hold a message handler.
func (m *manager) handle(msg mqtt.Message) {
	m.log.Log(context.Background(), levelTrace, "message", "topic", msg.Topic, "bytes", len(msg.Payload), "retained", msg.Retained)
	pubs, err := m.reg.Observe(msg.Topic, msg.Payload, msg.Retained)
	var full *presence.FullError
	switch {
	case errors.As(err, &full) && full.First:
		m.log.Error("LIMIT REACHED: resources are no longer fully tracked; raise the limit", "err", err, "flag", "-"+full.Limit)
		return
	case errors.As(err, &full):
		m.log.Debug("message ignored", "err", err) // summed up by the sweep loop
		return
	case err != nil:
		m.log.Warn("message ignored", "err", err, "retained", msg.Retained)
		return
	}
	if _, beat := m.topics.ParseHeartbeat(msg.Topic); m.store != nil && (!beat || len(pubs) > 0) {
		m.store.touch() // a beat alone changes nothing the file keeps
	}
	if len(pubs) > 0 {
		if _, beat := m.topics.ParseHeartbeat(msg.Topic); beat {
			m.log.Info("heartbeats back: undoing the heartbeat marks", "resource", pubs[0].What.Resource, "topics", len(pubs))
		} else if string(pubs[0].Payload) == wire.PresenceTrue {
			m.log.Info("own heartbeat False came back after the resource's True; publishing True again", "resource", pubs[0].What.Resource, "topic", msg.Topic)
		} else {
			m.log.Info("marking topics unavailable", "resource", pubs[0].What.Resource, "topics", len(pubs), "cause", msg.Topic, "retained_cause", msg.Retained)
		}
		m.enqueue(pubs)
	}
}

func (m *manager) enqueue(pubs []presence.Publish) {
	select {
	case m.queue <- pubs:
	case <-m.done:
		m.log.Warn("shutting down; unavailable marks not published", "resource", pubs[0].What.Resource, "topics", len(pubs))
	}
}

// sweepLoop settles announcements that overtook their resource's
// departure (see presence.Registry.Sweep).
func (m *manager) sweepLoop(ctx context.Context) {
	t := time.NewTicker(presence.DefaultGrace / 4)
	defer t.Stop()
	var expired time.Time
	listening := false
	for {
		var now time.Time
		select {
		case now = <-t.C:
		case <-ctx.Done():
			return
		}
		m.each(m.reg.Sweep(), func(res string, n int) {
			m.log.Info("marking topics unavailable", "resource", res, "topics", n, "cause", "announced while absent")
		})
		// The expiry scan holds the registry; a quarter interval is
		// precise enough (10,000 beating resources: about 0.3 ms a scan).
		// While the manager itself is away from the broker it hears no
		// beats, which must not count against anyone: the count starts
		// afresh when it is back.
		switch {
		case !m.client.Connected():
			listening = false
			m.checkLimits(ctx)
			continue
		case !listening:
			listening = true
			m.reg.Heard()
			expired = now
		}
		if now.Sub(expired) < m.reg.ExpireEvery() {
			m.checkLimits(ctx)
			continue
		}
		expired = now
		m.each(m.reg.Expire(), func(res string, n int) {
			m.gone.Add(1)
			m.log.Warn("resource gone: heartbeats stopped; publishing what its will would have", "resource", res, "topics", n-1, "cause", "heartbeat", "misses", m.misses)
		})
		m.checkLimits(ctx)
	}
}

// each hands pubs to the publish loop one resource at a time (Sweep and
// Expire return each resource's messages together), logging each.
func (m *manager) each(pubs []presence.Publish, logf func(res string, n int)) {
	for len(pubs) > 0 {
		n := 1
		for n < len(pubs) && pubs[n].What.Resource == pubs[0].What.Resource {
			n++
		}
		logf(pubs[0].What.Resource, n)
		m.enqueue(pubs[:n])
		pubs = pubs[n:]
	}
}

// said is what the state is about: it is republished when this changes.
type said struct {
	limits presence.Limits
	gone   uint64
}

// checkLimits republishes the state when a cap has refused more, or a
// resource was marked gone by heartbeat, since it was last published, and
// repeats the limit warning at most once a minute.
func (m *manager) checkLimits(ctx context.Context) {
	l := m.reg.Limits()
	m.mu.Lock()
	last := m.said
	m.mu.Unlock()
	refused := l.ResourcesRefused != last.limits.ResourcesRefused || l.TopicsRefused != last.limits.TopicsRefused
	if !refused && m.gone.Load() == last.gone {
		return
	}
	if refused && time.Since(m.warned) >= time.Minute {
		m.warned = time.Now()
		m.log.Warn("limits are refusing resources or topics", "resources", l.Resources, "max_resources", l.MaxResources,
			"resources_refused", l.ResourcesRefused, "topics_refused", l.TopicsRefused, "full_resources", l.FullResources)
	}
	// Not on this loop: a broker slow to acknowledge (a cluster
	// re-electing) must not delay the next expiry check.
	go func() {
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		m.publishState(pctx, false)
	}()
}

// publishState publishes the retained state: what it tracks and what the
// limits have refused. force publishes even with nothing new.
func (m *manager) publishState(ctx context.Context, force bool) {
	m.mu.Lock()
	now := said{limits: m.reg.Limits(), gone: m.gone.Load()}
	if !force && now == m.said {
		m.mu.Unlock()
		return
	}
	m.said = now
	m.mu.Unlock()
	l := now.limits
	b, err := wire.ManagerState{Name: m.name, Version: cli.Version, At: time.Now().UTC(), Resources: l.Resources,
		MaxResources: l.MaxResources, MaxTopics: l.MaxTopics, LimitReached: l.Reached(),
		ResourcesRefused: l.ResourcesRefused, TopicsRefused: l.TopicsRefused, FullResources: l.FullResources,
		HeartbeatMisses: m.misses, GoneByHeartbeat: now.gone}.Encode()
	if err != nil {
		m.log.Error("encode state", "err", err)
		return
	}
	if err := m.client.Publish(ctx, m.state, m.qos, true, b); err != nil {
		m.log.Warn("state not published", "err", err)
	}
}

// publishLoop sends each False, retrying while the broker is away, until
// ctx ends; what is queued then gets one short last try.
func (m *manager) publishLoop(ctx context.Context) {
	for {
		select {
		case batch := <-m.queue:
			m.send(ctx, batch)
		case <-ctx.Done():
			last, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			for {
				select {
				case batch := <-m.queue:
					m.send(last, batch)
				default:
					return
				}
			}
		}
	}
}

func (m *manager) send(ctx context.Context, batch []presence.Publish) {
	for _, p := range batch {
		backoff := 100 * time.Millisecond
		for {
			// Long enough for a clustered JetStream to re-elect (about 7 s
			// measured): a retry after a timeout sends the message twice.
			pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			err := m.client.Publish(pctx, p.Topic, m.qos, p.Retained, p.Payload)
			cancel()
			if err == nil {
				m.log.Debug("published", "topic", p.Topic, "payload", string(p.Payload), "retained", p.Retained)
				break
			}
			if ctx.Err() != nil {
				m.log.Warn("unavailable mark not published before shutdown", "topic", p.Topic, "err", err)
				return
			}
			m.log.Warn("publish failed; retrying", "topic", p.Topic, "err", err, "in", backoff)
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
			}
			backoff = min(2*backoff, 15*time.Second)
		}
	}
}
