// Package notify tells people what stormguard does, on their phones and in
// their own tools: ntfy, Gotify, a JSON webhook and a command hook in the
// manner of NUT's NOTIFYCMD. Every notifier has its own queue and its own
// goroutine, and every delivery has a timeout, so a slow or failing service
// never holds up anything else, least of all a shutdown.
package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/stormguard/stormguard/internal/watch"
)

// Notifier delivers one alert. Implementations must honour ctx.
type Notifier interface {
	Name() string
	Notify(ctx context.Context, a watch.Alert) error
}

// Filter says which alert kinds a notifier gets; empty means all.
type Filter []watch.Kind

// Wants reports whether k passes f.
func (f Filter) Wants(k watch.Kind) bool { return len(f) == 0 || slices.Contains(f, k) }

// Validate reports an unknown kind.
func (f Filter) Validate() error {
	for _, k := range f {
		if !slices.Contains(watch.Kinds, k) {
			return fmt.Errorf("unknown event %q (want one of %v)", k, watch.Kinds)
		}
	}
	return nil
}

// Target is a notifier with the kinds it wants.
type Target struct {
	Notifier Notifier
	Events   Filter
}

// Options tune the Dispatcher; zero values take the defaults.
type Options struct {
	// Timeout bounds one delivery attempt; default 10 s.
	Timeout time.Duration
	// Attempts is how often a failing delivery is tried; default 3.
	Attempts int
	// Backoff is the wait after the first failure, doubling; default 2 s.
	Backoff time.Duration
	// Queue is how many alerts wait per notifier before new ones are
	// dropped; default 64.
	Queue  int
	Logger *slog.Logger
}

// Dispatcher fans alerts out to every target without ever blocking.
type Dispatcher struct {
	opts    Options
	log     *slog.Logger
	targets []Target
	queues  []chan watch.Alert
	wg      sync.WaitGroup
}

// NewDispatcher prepares the targets; Start runs them.
func NewDispatcher(targets []Target, o Options) *Dispatcher {
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Attempts <= 0 {
		o.Attempts = 3
	}
	if o.Backoff <= 0 {
		o.Backoff = 2 * time.Second
	}
	if o.Queue <= 0 {
		o.Queue = 64
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	d := &Dispatcher{opts: o, log: o.Logger, targets: targets}
	for range targets {
		d.queues = append(d.queues, make(chan watch.Alert, o.Queue))
	}
	return d
}

// Start runs one sender per target until ctx ends; Wait waits for them.
func (d *Dispatcher) Start(ctx context.Context) {
	for i, t := range d.targets {
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			d.sender(ctx, t, d.queues[i])
		}()
	}
}

// Wait returns once every sender has stopped.
func (d *Dispatcher) Wait() { d.wg.Wait() }

// Send queues a for every target that wants it and returns at once. When a
// target's queue is full the alert is dropped for it and logged.
func (d *Dispatcher) Send(a watch.Alert) {
	for i, t := range d.targets {
		if !t.Events.Wants(a.Kind) {
			continue
		}
		select {
		case d.queues[i] <- a:
		default:
			d.log.Warn("notify queue full; alert dropped", "notifier", t.Notifier.Name(), "kind", a.Kind)
		}
	}
}

// Pump sends every alert from ch until ctx ends or ch is closed.
func (d *Dispatcher) Pump(ctx context.Context, ch <-chan watch.Alert) {
	for {
		select {
		case <-ctx.Done():
			return
		case a, ok := <-ch:
			if !ok {
				return
			}
			d.Send(a)
		}
	}
}

func (d *Dispatcher) sender(ctx context.Context, t Target, q chan watch.Alert) {
	for {
		var a watch.Alert
		select {
		case <-ctx.Done():
			return
		case a = <-q:
		}
		wait := d.opts.Backoff
		for try := 1; ; try++ {
			actx, cancel := context.WithTimeout(ctx, d.opts.Timeout)
			err := t.Notifier.Notify(actx, a)
			cancel()
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				return
			}
			if try >= d.opts.Attempts || errors.Is(err, errPermanent) {
				d.log.Warn("notify", "notifier", t.Notifier.Name(), "kind", a.Kind, "attempts", try, "err", err)
				break
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			wait *= 2
		}
	}
}

// errPermanent marks a failure that a retry cannot fix (4xx but 429).
var errPermanent = errors.New("not retried")

// checkResponse turns an HTTP answer into an error that never carries a
// secret: the status and at most a short, single-line part of the body.
func checkResponse(resp *http.Response, body []byte) error {
	if resp.StatusCode/100 == 2 {
		return nil
	}
	msg := strings.Join(strings.Fields(string(body)), " ")
	if len(msg) > 200 {
		msg = msg[:200] + "..."
	}
	err := fmt.Errorf("HTTP %d: %s", resp.StatusCode, msg)
	if resp.StatusCode/100 == 4 && resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusRequestTimeout {
		return fmt.Errorf("%w (%w)", err, errPermanent)
	}
	return err
}

// ReadSecret reads a token or password from a file, trimmed of surrounding
// white space. The error names the file, never the content.
func ReadSecret(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("%s: empty", path)
	}
	return s, nil
}
