// Package sdnotify speaks systemd's notify protocol: READY, STOPPING,
// STATUS and watchdog pings as datagrams to $NOTIFY_SOCKET. Outside
// systemd (no socket) every call does nothing, so the same binary runs
// anywhere. The protocol is one datagram per message (sd_notify(3)); it is
// small enough that a dependency would not pay for itself.
package sdnotify

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"strconv"
	"time"
)

// Notify sends state (e.g. "READY=1") and reports whether a socket was there.
func Notify(state string) (bool, error) {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return false, nil
	}
	if path[0] == '@' { // abstract socket
		path = "\x00" + path[1:]
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return false, err
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(state)); err != nil {
		return false, err
	}
	return true, nil
}

// Ready tells systemd the service is up, with a status line.
func Ready(status string) error {
	_, err := Notify("READY=1\nSTATUS=" + status)
	return err
}

// Stopping tells systemd the service is shutting down.
func Stopping() error {
	_, err := Notify("STOPPING=1")
	return err
}

// WatchdogInterval is how often to ping: half of WATCHDOG_USEC, or zero
// when systemd expects no pings from this process.
func WatchdogInterval() time.Duration {
	usec, err := strconv.ParseInt(os.Getenv("WATCHDOG_USEC"), 10, 64)
	if err != nil || usec <= 0 {
		return 0
	}
	if pid := os.Getenv("WATCHDOG_PID"); pid != "" && pid != strconv.Itoa(os.Getpid()) {
		return 0
	}
	return time.Duration(usec) * time.Microsecond / 2
}

// ErrStuck is what Watchdog logs when the liveness check does not answer.
var ErrStuck = errors.New("event loop did not answer the liveness check")

// Probe is a liveness check for an event loop that reads inbox: it sends
// wrap(p) and reports whether the loop closes p within ctx. A loop that is
// stuck neither takes the message nor answers.
func Probe[T any](ctx context.Context, inbox chan<- T, wrap func(p chan struct{}) T) error {
	p := make(chan struct{})
	select {
	case inbox <- wrap(p):
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-p:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Watchdog pings systemd every interval for as long as alive answers within
// the interval. When alive fails or hangs, the pings stop and systemd
// restarts the process once WatchdogSec has passed; a broker outage must
// not make alive fail, only a stuck loop. It returns when ctx ends.
func Watchdog(ctx context.Context, interval time.Duration, alive func(context.Context) error, log *slog.Logger) {
	if interval <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		actx, cancel := context.WithTimeout(ctx, interval)
		err := alive(actx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			log.Error("watchdog: not pinging systemd", "err", errors.Join(ErrStuck, err))
			continue
		}
		if _, err := Notify("WATCHDOG=1"); err != nil {
			log.Warn("watchdog ping", "err", err)
		}
	}
}
