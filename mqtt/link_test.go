package mqtt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stormguard/stormguard/internal/mqtttest"
)

// logRecorder is a slog handler that hands every record to a channel.
type logRecorder struct{ ch chan slog.Record }

func (l logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.ch <- r
	return nil
}
func (l logRecorder) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l logRecorder) WithGroup(string) slog.Handler      { return l }

func attr(r slog.Record, key string) string {
	var v string
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == key {
			v = a.Value.String()
			return false
		}
		return true
	})
	return v
}

// failFast connects once and returns the error WaitReady gives.
func failFast(t *testing.T, url string, mod func(*Config)) (*ConnError, time.Duration) {
	t.Helper()
	c := newClient(t, url, func(c *Config) {
		c.FailFast = true
		if mod != nil {
			mod(c)
		}
	})
	begin := time.Now()
	c.Start()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := c.WaitReady(ctx)
	var ce *ConnError
	if !errors.As(err, &ce) {
		t.Fatalf("WaitReady = %v, want a *ConnError", err)
	}
	return ce, time.Since(begin)
}

func TestFailFastNamesTheCause(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		url := fmt.Sprintf("tcp://127.0.0.1:%d", mqtttest.FreePort(t))
		ce, took := failFast(t, url, nil)
		if ce.Cause != CauseRefused || ce.Broker != url {
			t.Errorf("got %q from %q (%v), want %q from %q", ce.Cause, ce.Broker, ce, CauseRefused, url)
		}
		if took > 5*time.Second {
			t.Errorf("took %v to give up on a refused connection", took)
		}
	})
	t.Run("TLS to a listener that does not speak it", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		go func() {
			for {
				conn, err := l.Accept()
				if err != nil {
					return
				}
				conn.Write([]byte("HTTP/1.0 400 Bad Request\r\n\r\n"))
				conn.Close()
			}
		}()
		url := "ssl://" + l.Addr().String()
		ce, _ := failFast(t, url, func(c *Config) { c.ConnectTimeout = 2 * time.Second })
		if ce.Cause != CauseTLS {
			t.Errorf("cause %q (%v), want %q", ce.Cause, ce, CauseTLS)
		}
	})
	t.Run("not authorised by mosquitto", func(t *testing.T) {
		b := mqtttest.MosquittoWithUser(t, "nas", "right")
		ce, _ := failFast(t, b.URL, func(c *Config) { c.Username, c.Password = "nas", "wrong" })
		if ce.Cause != CauseNotAuthorised {
			t.Errorf("cause %q (%v), want %q", ce.Cause, ce, CauseNotAuthorised)
		}
		c := newClient(t, b.URL, func(c *Config) { c.Username, c.Password, c.FailFast = "nas", "right", true })
		start(t, c)
		if err := c.Err(); err != nil {
			t.Errorf("Err() = %v while connected", err)
		}
	})
}

func TestCause(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&net.DNSError{Err: "no such host", Name: "broker.lan", IsNotFound: true}, CauseDNS},
		{fmt.Errorf("network Error : %w", &net.OpError{Op: "dial", Err: os.NewSyscallError("connect", errConnRefused())}), CauseRefused},
		{errors.New("remote error: tls: certificate required"), CauseTLS},
		{os.ErrDeadlineExceeded, CauseTimeout},
	} {
		if got := Cause(tc.err); got != tc.want {
			t.Errorf("Cause(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

func errConnRefused() error {
	_, err := net.Dial("tcp", "127.0.0.1:1")
	var op *net.OpError
	if errors.As(err, &op) {
		return op.Err
	}
	return err
}

// A daemon's client says once that the broker is gone, once more only if
// the cause changes, and once that it is back, however often it retries.
func TestTroubleLoggedOncePerChange(t *testing.T) {
	b := mqtttest.NATS(t)
	logs := make(chan slog.Record, 1000)
	c := newClient(t, b.URL, func(c *Config) {
		c.MaxReconnect = 200 * time.Millisecond
		c.Logger = slog.New(logRecorder{logs})
	})
	start(t, c)
	b.Kill(t)

	// Wait for two identical retries after the first warnings.
	var warns []slog.Record
	repeats := 0
	deadline := time.After(20 * time.Second)
	for repeats < 2 {
		select {
		case r := <-logs:
			switch {
			case r.Level == slog.LevelWarn:
				warns = append(warns, r)
			case strings.Contains(r.Message, "same as before"):
				repeats++
			}
		case <-deadline:
			t.Fatalf("no repeated failures logged; warnings so far: %v", warns)
		}
	}
	if len(warns) == 0 || len(warns) > 2 {
		t.Fatalf("%d warnings for one outage, want 1 or 2 (lost, then refused): %v", len(warns), warns)
	}
	last := warns[len(warns)-1]
	if attr(last, "broker") != b.URL || attr(last, "cause") != CauseRefused {
		t.Errorf("warning broker=%q cause=%q, want %q and %q", attr(last, "broker"), attr(last, "cause"), b.URL, CauseRefused)
	}
	if c.Err() == nil {
		t.Error("Err() is nil with the broker down")
	}

	b.Start(t)
	for {
		select {
		case r := <-logs:
			if r.Level == slog.LevelWarn && r.Message == "broker connection back" {
				if attr(r, "broker") != b.URL {
					t.Errorf("back: broker=%q, want %q", attr(r, "broker"), b.URL)
				}
				return
			}
			if r.Level == slog.LevelWarn {
				t.Errorf("another warning while the broker came back: %s %s", r.Message, attr(r, "cause"))
			}
		case <-time.After(20 * time.Second):
			t.Fatal("no 'broker connection back' after the broker came back")
		}
	}
}
