// Package demo runs the whole stormguard story on one machine with nothing
// installed and no network: an embedded broker, a recorded storm replayed
// fast and tracked as it comes, three real agents in dry run, a predicted
// countdown cancelled by a person, a second one that the hosts carry out
// before the storm's lightning arrives, the acks and the all clear, with a
// timeline printed as it happens.
package demo

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/stormguard/stormguard/agent"
	"github.com/stormguard/stormguard/internal/guard"
	"github.com/stormguard/stormguard/mqtt"
	"github.com/stormguard/stormguard/storm"
	"github.com/stormguard/stormguard/weather"
	"github.com/stormguard/stormguard/wire"
)

//go:embed storm.jsonl
var recordedStorm []byte

// Site is where the recorded storm happened.
var Site = weather.Site{Lat: 40.0, Lon: -105.0}

// Hosts are the three agents of the demo fleet.
var Hosts = []string{"nas", "pi-garden", "desktop"}

// Options tunes a demo run; the zero value is the documented demo.
type Options struct {
	// Speed is how many times faster than recorded the storm plays; default 120.
	Speed float64
	// Grace is the countdown of each SHUTDOWN; default 5 s.
	Grace time.Duration
	// Timeout ends an unfinished story with an error; default 90 s.
	Timeout time.Duration
	// Logger gets the components' logs; nil discards them.
	Logger *slog.Logger
}

func (o *Options) defaults() {
	if o.Speed <= 0 {
		o.Speed = 120
	}
	if o.Grace <= 0 {
		o.Grace = 5 * time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 90 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Run plays the story, printing the timeline to out, and returns nil once
// every step happened, or an error naming the first step that did not.
func Run(ctx context.Context, out io.Writer, opts Options) error {
	opts.defaults()
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	dir, err := os.MkdirTemp("", "stormguard-demo-")
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer os.RemoveAll(dir)
	tl := newTimeline(out, opts.Speed)

	b, err := startBroker(filepath.Join(dir, "broker"))
	if err != nil {
		return err
	}
	defer b.close()
	tl.printf("embedded broker (nats-server) listening on %s", b.URL)

	var wg sync.WaitGroup
	defer wg.Wait()
	runCtx, stop := context.WithCancel(ctx)
	defer stop()

	obs, err := observe(runCtx, b.URL, tl.in)
	if err != nil {
		return err
	}
	defer obs.Close(250 * time.Millisecond)

	for _, h := range Hosts {
		a, err := agent.New(agent.Config{
			Policy:      agent.Policy{Host: h, MaxAge: 5 * time.Minute},
			MQTT:        mqtt.Config{Brokers: []string{b.URL}},
			QoS:         1,
			StateDir:    filepath.Join(dir, "agent-"+h),
			ShutdownCmd: []string{"shutdown", "-h", "now"},
			RebootCmd:   []string{"shutdown", "-r", "now"},
			WarnBefore:  time.Second,
			RunTimeout:  10 * time.Second,
			DryRun:      true,
			Logger:      opts.Logger.With("agent", h),
		})
		if err != nil {
			return fmt.Errorf("demo agent %s: %w", h, err)
		}
		wg.Add(1)
		go func() { defer wg.Done(); a.Run(runCtx) }()
		select {
		case <-a.Ready():
		case <-ctx.Done():
			return fmt.Errorf("demo agent %s: not connected: %w", h, ctx.Err())
		}
	}
	tl.printf("3 agents in dry run (they journal and ack, and run nothing): %v", Hosts)

	g, err := newGuard(dir, b.URL, opts, tl.in)
	if err != nil {
		return err
	}
	wg.Add(1)
	go func() { defer wg.Done(); g.Run(runCtx) }()
	select {
	case <-g.Ready():
	case <-ctx.Done():
		return fmt.Errorf("demo stormguard: not connected: %w", ctx.Err())
	}
	tl.printf("stormguard watching site %.1f,%.1f: shutdown radius 16 km, watch 40 km, tracking 100 km; grace %v, all clear %v",
		Site.Lat, Site.Lon, opts.Grace, allClear(opts))
	tl.printf("hosts take %v to power down after the deadline; a tracked storm's countdown starts early enough for that",
		scaled(opts, storm.DefaultConfig().ShutdownTime))
	tl.printf("replaying a recorded storm (a cell from 60 km WSW at 60 km/h, 65 minutes) at %gx", opts.Speed)

	err = tl.run(ctx, func(text string) error {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		return obs.Publish(pctx, wire.Topics{}.Command(wire.Cancel), 1, false, []byte(text))
	})
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
		err = fmt.Errorf("the story did not finish within %v: %s", opts.Timeout, tl.missing())
	}
	return err
}

// allClear scales the 30-minute all clear by the replay speed.
func allClear(opts Options) time.Duration {
	return time.Duration(float64(30*time.Minute) / opts.Speed).Round(100 * time.Millisecond)
}

// scaled is a storm duration on the demo's clock.
func scaled(opts Options, d time.Duration) time.Duration {
	return time.Duration(float64(d) / opts.Speed).Round(10 * time.Millisecond)
}

// holdAfterCancel is short in the demo (3 storm minutes), so the storm's
// second countdown comes from the prediction again, before its lightning.
const holdAfterCancel = 3 * time.Minute

// newGuard is stormguard as the demo runs it: the replay as its only
// source, tapped so the timeline shows each strike, and short timings.
func newGuard(dir, url string, opts Options, tl chan<- note) (*guard.Guard, error) {
	path := filepath.Join(dir, "storm.jsonl")
	if err := os.WriteFile(path, recordedStorm, 0o600); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	r, err := weather.NewReplay(weather.ReplayConfig{Path: path, Site: Site, RadiusKM: 200, Speed: opts.Speed})
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	sc := storm.DefaultConfig()
	sc.Grace = opts.Grace
	sc.AllClear = allClear(opts)
	sc.HoldAfterCancel = scaled(opts, holdAfterCancel)
	// The tracker runs on the storm's clock; the rest on the demo's.
	sc.TimeScale = opts.Speed
	sc.ShutdownTime = scaled(opts, sc.ShutdownTime)
	sc.PredictMargin = scaled(opts, sc.PredictMargin)
	sc.ConfirmFor = scaled(opts, sc.ConfirmFor)
	return guard.New(guard.Config{
		Storm:     sc,
		MQTT:      mqtt.Config{Brokers: []string{url}, ClientID: "stormguard-demo"},
		QoS:       1,
		StateDir:  filepath.Join(dir, "stormguard"),
		Issuer:    "stormguard@demo",
		Streamers: []weather.Streamer{tap{r, tl}},
		Tick:      100 * time.Millisecond,
		Logger:    opts.Logger.With("component", "stormguard"),
	})
}

// tap passes each report on and shows its strikes on the timeline.
type tap struct {
	weather.Streamer
	tl chan<- note
}

func (t tap) Stream(ctx context.Context, emit func(weather.Report)) error {
	return t.Streamer.Stream(ctx, func(r weather.Report) {
		for _, s := range r.Strikes {
			select {
			case t.tl <- note{strike: &s}:
			case <-ctx.Done():
			}
		}
		emit(r)
	})
}
