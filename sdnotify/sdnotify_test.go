package sdnotify

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// fakeSystemd listens where NOTIFY_SOCKET points and returns the datagrams.
func fakeSystemd(t *testing.T) <-chan string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	ch := make(chan string, 100)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			ch <- string(buf[:n])
		}
	}()
	return ch
}

func next(t *testing.T, ch <-chan string) string {
	t.Helper()
	select {
	case s := <-ch:
		return s
	case <-time.After(5 * time.Second):
		t.Fatal("no datagram within 5s")
	}
	return ""
}

func TestReadyAndStopping(t *testing.T) {
	ch := fakeSystemd(t)
	if err := Ready("connecting to broker"); err != nil {
		t.Fatal(err)
	}
	if got := next(t, ch); got != "READY=1\nSTATUS=connecting to broker" {
		t.Errorf("ready datagram = %q", got)
	}
	Stopping()
	if got := next(t, ch); got != "STOPPING=1" {
		t.Errorf("stopping datagram = %q", got)
	}
}

func TestNoSocketIsQuiet(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	if sent, err := Notify("READY=1"); sent || err != nil {
		t.Errorf("Notify without a socket = %v, %v", sent, err)
	}
}

func TestWatchdogInterval(t *testing.T) {
	t.Setenv("WATCHDOG_USEC", "20000000")
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
	if got := WatchdogInterval(); got != 10*time.Second {
		t.Errorf("interval = %v, want 10s", got)
	}
	t.Setenv("WATCHDOG_PID", "1")
	if got := WatchdogInterval(); got != 0 {
		t.Errorf("interval for another pid = %v, want 0", got)
	}
}

func TestWatchdogStopsWhenTheLoopIsStuck(t *testing.T) {
	ch := fakeSystemd(t)
	stuck := make(chan struct{})
	alive := func(ctx context.Context) error {
		select {
		case <-stuck:
			<-ctx.Done() // a hung loop: never answers
			return ctx.Err()
		default:
			return nil
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { Watchdog(ctx, 20*time.Millisecond, alive, slog.New(slog.DiscardHandler)); close(done) }()
	for range 3 {
		if got := next(t, ch); got != "WATCHDOG=1" {
			t.Fatalf("ping = %q", got)
		}
	}
	close(stuck)
	// Drain pings already in flight, then expect silence for many intervals.
	drain := time.After(100 * time.Millisecond)
	for {
		select {
		case <-ch:
			continue
		case <-drain:
		}
		break
	}
	select {
	case got := <-ch:
		t.Fatalf("pinged %q while the loop was stuck", got)
	case <-time.After(200 * time.Millisecond): // ten intervals of silence is the behaviour under test
	}
	cancel()
	<-done
}

// TestProbe: a loop that reads its inbox answers; a stuck one (nobody
// reading) makes the probe fail when ctx ends.
func TestProbe(t *testing.T) {
	inbox := make(chan chan struct{})
	go func() { close(<-inbox) }()
	same := func(p chan struct{}) chan struct{} { return p }
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := Probe(ctx, inbox, same); err != nil {
		t.Fatalf("a loop that answers: %v", err)
	}
	short, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	if err := Probe(short, inbox, same); err == nil {
		t.Fatal("a stuck loop passed the probe")
	}
}
