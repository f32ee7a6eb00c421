package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stormguard/stormguard/internal/mqtttest"
	"github.com/stormguard/stormguard/mqtt"
)

// within is how long a test waits for something the broker delivers.
const within = 15 * time.Second

var seq atomic.Int64

// running is a manager started in-process with Main.Run.
type running struct {
	cancel context.CancelFunc
	done   chan error
	logs   *logSink
	id     string
}

// managerArgs points a manager at b with a client id unique to the test.
func managerArgs(t testing.TB, b *mqtttest.Broker, id string, extra ...string) []string {
	t.Helper()
	host, port, err := net.SplitHostPort(b.Addr)
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{"-host", host, "-port", port, "-client-id", id}, extra...)
}

// startManager runs the manager with args and waits until it announces
// itself (a live True on its presence topic, seen by w).
func startManager(t *testing.T, w *watcher, args []string) *running {
	t.Helper()
	r := &running{done: make(chan error, 1), logs: newLogSink(t)}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	var out bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &out, Logger: slog.New(r.logs)}
	go func() { r.done <- m.Run(ctx, args) }()
	t.Cleanup(func() { r.stop(t) })
	select {
	case err := <-r.done:
		t.Fatalf("manager stopped at start: %v\n%s", err, out.String())
	case <-w.waitCh(func(m mqtt.Message) bool {
		return m.Topic == "resourceavailable/servicemanager/presence" && string(m.Payload) == "True" && !m.Retained
	}):
	case <-time.After(within):
		t.Fatalf("manager did not announce itself within %v", within)
	}
	return r
}

// stop ends the manager as SIGTERM would and waits for Run to return.
func (r *running) stop(t *testing.T) {
	t.Helper()
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("manager Run returned %v", err)
		}
	case <-time.After(within):
		t.Errorf("manager did not stop within %v", within)
	}
}

// newClient is a plain client, as a resource or a dashboard would use.
func newClient(t testing.TB, url string, tlsCfg *tls.Config, will *mqtt.Will) *mqtt.Client {
	t.Helper()
	c, err := mqtt.New(mqtt.Config{
		Brokers:      []string{url},
		ClientID:     fmt.Sprintf("test-%d-%d", time.Now().UnixNano()%1e6, seq.Add(1)),
		CleanSession: true,
		TLS:          tlsCfg,
		Will:         will,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(100 * time.Millisecond) })
	return c
}

func startClient(t testing.TB, c *mqtt.Client) {
	t.Helper()
	c.Start()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
}

// publish sends one QoS 1 message and waits for the broker to take it,
// as mosquitto_pub -q 1 does.
func publish(t testing.TB, c *mqtt.Client, topic, payload string, retained bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	if err := c.Publish(ctx, topic, 1, retained, []byte(payload)); err != nil {
		t.Fatal(err)
	}
}

// watcher records every message on a filter, like mosquitto_sub -t '+/#' -v.
type watcher struct {
	mu      sync.Mutex
	seen    []mqtt.Message
	at      []time.Time // when each of seen arrived
	waiters []waiter
	client  *mqtt.Client
}

type waiter struct {
	match func(mqtt.Message) bool
	ch    chan mqtt.Message
}

func watch(t *testing.T, url string, tlsCfg *tls.Config, filter string) *watcher {
	t.Helper()
	w := &watcher{}
	w.client = newClient(t, url, tlsCfg, nil)
	w.client.Handle(filter, 1, w.add)
	startClient(t, w.client)
	return w
}

func (w *watcher) add(m mqtt.Message) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seen = append(w.seen, m)
	w.at = append(w.at, time.Now())
	kept := w.waiters[:0]
	for _, wt := range w.waiters {
		if wt.match(m) {
			wt.ch <- m
		} else {
			kept = append(kept, wt)
		}
	}
	w.waiters = kept
}

// waitCh delivers the first message from now on that matches.
func (w *watcher) waitCh(match func(mqtt.Message) bool) <-chan mqtt.Message {
	ch := make(chan mqtt.Message, 1)
	w.mu.Lock()
	w.waiters = append(w.waiters, waiter{match, ch})
	w.mu.Unlock()
	return ch
}

// mark returns a position in the record, for expect and count.
func (w *watcher) mark() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.seen)
}

// expect waits until every "topic payload" in want has been seen since
// mark (a key listed twice must be seen twice), and returns the matching
// messages in the order they came.
func (w *watcher) expect(t *testing.T, mark int, want ...string) []mqtt.Message {
	t.Helper()
	deadline := time.After(within)
	for {
		w.mu.Lock()
		var got []mqtt.Message
		missing := map[string]int{}
		for _, s := range want {
			missing[s]++
		}
		for _, m := range w.seen[mark:] {
			key := m.Topic + " " + string(m.Payload)
			if missing[key] > 0 {
				missing[key]--
				got = append(got, m)
			}
		}
		if len(got) == len(want) {
			w.mu.Unlock()
			return got
		}
		ch := make(chan mqtt.Message, 1)
		w.waiters = append(w.waiters, waiter{func(mqtt.Message) bool { return true }, ch})
		w.mu.Unlock()
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("within %v, never saw all of %q; missing %v; saw:\n%s", within, want, missing, w.dump(mark))
		}
	}
}

// settle runs a throw-away resource through a departure and waits for the
// manager's False for it: whatever the manager was going to publish before
// has been published by then.
func settle(t *testing.T, w *watcher, c *mqtt.Client) {
	t.Helper()
	name := fmt.Sprintf("settle%d", seq.Add(1))
	mark := w.mark()
	publish(t, c, "resourceavailable/"+name+"/presence", "True", false)
	publish(t, c, "dataavailable/"+name+"/x", "True", false)
	publish(t, c, "resourceavailable/"+name+"/presence", "False", false)
	w.expect(t, mark, "dataavailable/"+name+"/x False")
}

// count returns how many "topic payload" messages came since mark.
func (w *watcher) count(mark int, key string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, m := range w.seen[mark:] {
		if m.Topic+" "+string(m.Payload) == key {
			n++
		}
	}
	return n
}

func (w *watcher) dump(mark int) string {
	var sb strings.Builder
	for _, m := range w.seen[mark:] {
		fmt.Fprintf(&sb, "  %s %.40q retained=%v\n", m.Topic, m.Payload, m.Retained)
	}
	return sb.String()
}

// logSink is a slog.Handler that keeps rendered lines for assertions; the
// lines are shown when the test fails.
type logSink struct {
	s     *logStore
	attrs []slog.Attr
}

type logStore struct {
	mu     sync.Mutex
	lines  []string
	notify chan struct{}
}

func newLogSink(t *testing.T) *logSink {
	l := &logSink{s: &logStore{notify: make(chan struct{}, 1)}}
	t.Cleanup(func() {
		if t.Failed() {
			l.s.mu.Lock()
			t.Logf("manager log:\n%s", strings.Join(l.s.lines, "\n"))
			l.s.mu.Unlock()
		}
	})
	return l
}

func (l *logSink) Enabled(context.Context, slog.Level) bool { return true }

func (l *logSink) Handle(_ context.Context, r slog.Record) error {
	var sb strings.Builder
	fmt.Fprintf(&sb, "level=%s msg=%q", r.Level, r.Message)
	attr := func(a slog.Attr) bool {
		fmt.Fprintf(&sb, " %s=%q", a.Key, a.Value.String())
		return true
	}
	for _, a := range l.attrs {
		attr(a)
	}
	r.Attrs(attr)
	l.s.mu.Lock()
	l.s.lines = append(l.s.lines, sb.String())
	l.s.mu.Unlock()
	select {
	case l.s.notify <- struct{}{}:
	default:
	}
	return nil
}

func (l *logSink) WithAttrs(as []slog.Attr) slog.Handler {
	return &logSink{s: l.s, attrs: append(append([]slog.Attr{}, l.attrs...), as...)}
}

func (l *logSink) WithGroup(string) slog.Handler { return l }

// all returns every line so far.
func (l *logSink) all() string {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	return strings.Join(l.s.lines, "\n")
}

// wait returns the nth line (from 1) that contains every part, waiting for it.
func (l *logSink) wait(t *testing.T, n int, parts ...string) string {
	t.Helper()
	deadline := time.After(within)
	for {
		l.s.mu.Lock()
		seen := 0
		for _, ln := range l.s.lines {
			ok := true
			for _, p := range parts {
				ok = ok && strings.Contains(ln, p)
			}
			if ok {
				if seen++; seen == n {
					l.s.mu.Unlock()
					return ln
				}
			}
		}
		l.s.mu.Unlock()
		select {
		case <-l.s.notify:
		case <-deadline:
			t.Fatalf("no log line %d with %q within %v", n, parts, within)
			return ""
		}
	}
}
