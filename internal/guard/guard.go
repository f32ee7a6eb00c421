// Package guard is the stormguard daemon's runner: it owns the timers and the
// I/O around the pure storm.Engine. Streamed and polled weather reports,
// CANCEL messages and a ticker all arrive on one channel and are handled on
// one goroutine; the Engine's actions become a signed SHUTDOWN command,
// events, the retained state and a state file that survives a restart.
package guard

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stormguard/stormguard/heartbeat"
	"github.com/stormguard/stormguard/mqtt"
	"github.com/stormguard/stormguard/scheduler"
	"github.com/stormguard/stormguard/sdnotify"
	"github.com/stormguard/stormguard/storm"
	"github.com/stormguard/stormguard/weather"
	"github.com/stormguard/stormguard/wire"
)

// Name is the resource name stormguard uses for its presence, state and
// events topics.
const Name = "stormguard"

// Polled is a Poller with its intervals: Interval normally, Watch while a
// storm is being watched (zero means Interval).
type Polled struct {
	Poller   weather.Poller
	Interval time.Duration
	Watch    time.Duration
}

// Config is everything the runner needs. Sources must have unique names.
type Config struct {
	Storm storm.Config
	// MQTT is the fleet broker; the runner sets the will and the session.
	MQTT   mqtt.Config
	Topics wire.Topics
	// QoS is used for the state, events and presence; SHUTDOWN always goes
	// at QoS 1 or more.
	QoS byte
	// StateDir holds the state file; required.
	StateDir string
	// SignKey, when set, signs every SHUTDOWN.
	SignKey ed25519.PrivateKey
	// Issuer names this daemon in commands, e.g. "stormguard@gateway".
	Issuer string
	// Expires is how long after its deadline an unexecuted SHUTDOWN stops
	// being valid; default 15 minutes.
	Expires   time.Duration
	Streamers []weather.Streamer
	Pollers   []Polled
	// Tick is how often time-only changes are checked; default 1 s.
	Tick time.Duration
	// RetryStream is the wait before a failed stream is started again;
	// default 5 s, doubling to 5 minutes.
	RetryStream time.Duration
	Logger      *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	// Heartbeat is how often stormguard beats (package heartbeat); 0 is off.
	Heartbeat time.Duration
	// Hooks are told what the runner sees and sends, for metrics.
	Hooks Hooks

	// Wake wakes the hosts a storm powered down after its all clear (wake.go).
	Wake WakeConfig
}

// Hooks are called on the runner's goroutines and must not block; any may
// be nil.
type Hooks struct {
	// Report gets every report a source delivered.
	Report func(weather.Report)
	// Shutdown is called for every SHUTDOWN queued for publishing.
	Shutdown func(wire.Command)
	// PublishFailed gets the kind of message ("command", "state", "event",
	// "presence") of every publish attempt the broker did not accept.
	PublishFailed func(kind string)
}

// Validate reports the first bad setting.
func (c Config) Validate() error {
	if err := c.Storm.Validate(); err != nil {
		return fmt.Errorf("storm: %w", err)
	}
	if c.StateDir == "" {
		return errors.New("state-dir: empty")
	}
	if len(c.Streamers)+len(c.Pollers) == 0 {
		return errors.New("sources: none configured")
	}
	seen := map[string]bool{}
	for _, s := range c.sources() {
		if seen[s.Name()] {
			return fmt.Errorf("sources: two sources named %q; give one a different name", s.Name())
		}
		seen[s.Name()] = true
	}
	for _, p := range c.Pollers {
		if p.Interval <= 0 {
			return fmt.Errorf("sources: %s: interval must be positive", p.Poller.Name())
		}
	}
	return nil
}

func (c Config) sources() []weather.Source {
	var out []weather.Source
	for _, s := range c.Streamers {
		out = append(out, s)
	}
	for _, p := range c.Pollers {
		out = append(out, p.Poller)
	}
	return out
}

// Guard watches the sources and tells the fleet. Create it with New and
// call Run once.
type Guard struct {
	cfg    Config
	log    *slog.Logger
	now    func() time.Time
	engine *storm.Engine
	client *mqtt.Client
	// inbox carries everything the loop handles; handlers and sources only
	// ever send to it, so paho is never held up by the engine.
	inbox  chan input
	out    chan outgoing
	done   chan struct{}
	ready  chan struct{}
	store  *stateFile
	outbox []wire.Command
	watch  bool
	sched  *scheduler.Scheduler
	once   sync.Once
	link   link
	// wk follows the fleet for the wake-up after a storm; nil when off.
	wk     *waker
	runCtx context.Context
	// up is whether the broker link is up, and reannounced when the loop
	// last answered its own presence False; both only the loop touches.
	up          bool
	reannounced time.Time
	refreshing  atomic.Bool
}

// New checks cfg, restores the saved state, if any, and prepares the
// connection; Run starts everything.
func New(cfg Config) (*Guard, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Expires <= 0 {
		cfg.Expires = 15 * time.Minute
	}
	if cfg.Tick <= 0 {
		cfg.Tick = time.Second
	}
	if cfg.RetryStream <= 0 {
		cfg.RetryStream = 5 * time.Second
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("state-dir: %w", err)
	}
	g := &Guard{
		cfg: cfg, log: cfg.Logger, now: cfg.Now,
		inbox: make(chan input, 4096), out: make(chan outgoing, 1024),
		done: make(chan struct{}), ready: make(chan struct{}),
		store: &stateFile{path: statePath(cfg.StateDir)},
	}
	e, err := storm.NewEngine(cfg.Storm, g.now())
	if err != nil {
		return nil, err
	}
	for _, s := range cfg.sources() {
		e.Register(s.Name(), s.Kind(), weather.LivenessOf(s))
	}
	g.engine = e
	if err := g.restore(); err != nil {
		return nil, err
	}
	// The fleet's progress is in the state; waking after the storm is
	// up to cfg.Wake.
	if g.wk, err = newWaker(cfg.Wake, cfg.StateDir, cfg.Logger); err != nil {
		return nil, fmt.Errorf("state-dir: %w", err)
	}
	g.wk.changed = g.fleetChanged
	if err := g.connect(); err != nil {
		return nil, err
	}
	return g, nil
}

// Ready is closed once the fleet broker is connected and CANCEL subscribed.
func (g *Guard) Ready() <-chan struct{} { return g.ready }

// restore resumes the saved phase, deadline and timers, and queues again any
// SHUTDOWN that was saved but never confirmed by the broker.
func (g *Guard) restore() error {
	saved, ok, err := g.store.load()
	if err != nil {
		return fmt.Errorf("state-dir: %w (move the file away to start afresh)", err)
	}
	if !ok {
		return nil
	}
	if err := g.engine.Restore(saved.Engine); err != nil {
		return fmt.Errorf("state-dir: %s: %w", g.store.path, err)
	}
	now := g.now()
	for _, c := range saved.Outbox {
		if c.Expires.IsZero() || now.Before(c.Expires) {
			g.outbox = append(g.outbox, c)
		}
	}
	st := g.engine.State()
	g.log.Info("state restored", "phase", st.Phase, "storm", st.StormID, "deadline", st.Deadline,
		"unsent_commands", len(g.outbox))
	return nil
}

// Run serves until ctx ends. It returns an error only when it cannot start.
func (g *Guard) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer close(g.done)
	g.runCtx = ctx
	go g.publisher(ctx)
	heartbeat.Start(ctx, g.client, heartbeat.Config{Topics: g.cfg.Topics, Name: Name, Interval: g.cfg.Heartbeat, Logger: g.log})
	g.client.Start()
	stopSources, err := g.startSources(ctx)
	if err != nil {
		return err
	}
	defer stopSources()
	for _, c := range g.outbox {
		g.log.Warn("sending a SHUTDOWN saved before the restart but never confirmed", "id", c.ID)
		g.queueCommand(c)
	}
	g.setWatch(g.engine.State().Phase)
	g.resumeWake(ctx)
	tick := time.NewTicker(g.cfg.Tick)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			g.goodbye()
			return nil
		case <-tick.C:
			g.perform(g.engine.Tick(g.now()))
		case in := <-g.inbox:
			g.handle(in)
		}
	}
}

// Alive reports whether the loop answers within ctx: the watchdog's check.
// A broker outage or a slow source does not hold the loop; a stuck handler does.
func (g *Guard) Alive(ctx context.Context) error {
	return sdnotify.Probe(ctx, g.inbox, func(p chan struct{}) input { return input{probe: p} })
}

// send hands an input to the loop, waiting while the loop is busy, but never
// past the end of Run.
func (g *Guard) send(in input) {
	select {
	case g.inbox <- in:
	case <-g.done:
	}
}
