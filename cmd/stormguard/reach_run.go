package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/stormguard/stormguard/cmd/internal/cli"
	"github.com/stormguard/stormguard/internal/guard"
	"github.com/stormguard/stormguard/internal/hass"
	"github.com/stormguard/stormguard/internal/metrics"
	"github.com/stormguard/stormguard/internal/notify"
	"github.com/stormguard/stormguard/internal/status"
	"github.com/stormguard/stormguard/internal/watch"
	"github.com/stormguard/stormguard/mqtt"
	"github.com/stormguard/stormguard/wire"
)

// startReach starts what reach configures, on its own broker connection
// so nothing it does can hold up the runner: the fleet watcher, Home
// Assistant discovery, the notifiers, the ntfy cancel bridge, and the
// status page with /metrics. It returns the runner's metric hooks and a
// func that stops it all once ctx is done.
func startReach(ctx context.Context, c config, log *slog.Logger) (guard.Hooks, func(), error) {
	r := c.reach
	if !r.on() {
		return guard.Hooks{}, func() {}, nil
	}
	ctx, cancelAll := context.WithCancel(ctx)
	fail := func(err error) (guard.Hooks, func(), error) {
		cancelAll()
		return guard.Hooks{}, nil, err
	}
	m, err := c.s.Conn.MQTT("stormguard-" + c.s.Name + "-watch")
	if err != nil {
		return fail(err)
	}
	m.CleanSession, m.Ordered, m.Logger = true, true, log
	client, err := mqtt.New(m)
	if err != nil {
		return fail(err)
	}
	w := watch.New(watch.Config{Topics: c.topics, Client: client, Settle: r.settle, Logger: log})
	mg := metrics.NewGuard(cli.Version, w.Snapshot)
	hooks := guard.Hooks{Report: mg.Report, PublishFailed: mg.PublishFailed, Shutdown: func(wire.Command) { mg.Countdown() }}
	publishCancel := status.Canceller(client.Publish, c.topics)
	cancel := func(ctx context.Context, reason string) error {
		mg.CancelRequested()
		return publishCancel(ctx, reason)
	}

	var srv *http.Server
	if r.http != "" {
		ln, err := net.Listen("tcp", r.http)
		if err != nil {
			return fail(fmt.Errorf("http: %w", err))
		}
		srv = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: status.New(status.Config{
			Watcher: w, ShutdownKM: c.storm.ShutdownRadiusKM, WatchKM: c.storm.WatchRadiusKM, Window: r.window,
			Token: r.token, Cancel: cancel, Extra: map[string]http.Handler{"GET /metrics": mg.Handler()}, Logger: log,
		})}
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("status page", "err", err)
			}
		}()
		log.Info("status page and /metrics", "addr", ln.Addr().String(), "cancel", r.token != "")
	}
	if r.hass != nil {
		hc := *r.hass
		hc.Version, hc.Logger = cli.Version, log
		go hass.New(hc, client, w).Run(ctx)
	}
	d := notify.NewDispatcher(r.targets, notify.Options{Timeout: r.timeout, Logger: log})
	d.Start(ctx)
	go d.Pump(ctx, w.Alerts())
	go w.Run(ctx)
	if b := r.bridge; b != nil {
		b.Cancel, b.Logger = cancel, log
		go b.Run(ctx)
	}
	client.Start()
	stop := func() {
		cancelAll()
		if srv != nil {
			sctx, done := context.WithTimeout(context.Background(), 2*time.Second)
			srv.Shutdown(sctx)
			done()
		}
		client.Close(250 * time.Millisecond)
		d.Wait()
	}
	return hooks, stop, nil
}
