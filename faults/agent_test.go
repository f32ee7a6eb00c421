// Package faults holds the fault-injection tests: whole programs killed at
// chosen moments, brokers killed and restarted, and what that does to what
// runs and what is journaled.
package faults

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stormguard/stormguard/internal/fleettest"
	"github.com/stormguard/stormguard/internal/mqtttest"
	"github.com/stormguard/stormguard/journal"
	"github.com/stormguard/stormguard/mqtt"
	"github.com/stormguard/stormguard/wire"
)

// host is one agent process with a counting power command.
type host struct {
	t     *testing.T
	bin   string
	args  []string
	runs  string
	state string
}

func newHost(t *testing.T, b *mqtttest.Broker, name string) *host {
	t.Helper()
	dir := t.TempDir()
	h := &host{t: t, bin: binary(t, "agent"), runs: filepath.Join(dir, "runs"), state: filepath.Join(dir, "state")}
	script := filepath.Join(dir, "power.sh")
	os.WriteFile(script, []byte("#!/bin/sh\necho \"$STORMGUARD_COMMAND_ID\" >> "+h.runs+"\n"), 0o755)
	hostname, port, _ := strings.Cut(b.Addr, ":")
	h.args = []string{"-host", hostname, "-port", port, "-name", name, "-state-dir", h.state,
		"-shutdown-cmd", script, "-reboot-cmd", script, "-warn-cmd", "", "-max-age", "1m"}
	return h
}

// run starts the agent, with fault set to a step or "", and returns the
// process and a channel closed once it is subscribed.
func (h *host) run(fault string) (*exec.Cmd, <-chan struct{}) {
	h.t.Helper()
	cmd := exec.Command(h.bin, h.args...)
	cmd.Env = append(os.Environ(), "STORMGUARD_FAULT="+fault)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		once := false
		for sc.Scan() {
			if !once && strings.Contains(sc.Text(), "msg=subscribed") {
				once = true
				close(ready)
			}
		}
	}()
	h.t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, ready
}

// stampRuns makes the power command record the time it ran, as id@unix.nanos.
func (h *host) stampRuns(t *testing.T) {
	t.Helper()
	script := filepath.Join(filepath.Dir(h.runs), "power.sh")
	body := "#!/bin/sh\necho \"$STORMGUARD_COMMAND_ID@$(date +%s.%N)\" >> " + h.runs + "\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
}

func (h *host) ran() []string {
	b, _ := os.ReadFile(h.runs)
	return strings.Fields(string(b))
}

func waitReady(t *testing.T, ready <-chan struct{}) {
	t.Helper()
	select {
	case <-ready:
	case <-time.After(15 * time.Second):
		t.Fatal("agent did not subscribe within 15s")
	}
}

func publish(t *testing.T, c *mqtt.Client, topic string, cmd wire.Command) {
	t.Helper()
	cmd.IssuedAt = time.Now()
	p, err := cmd.Encode()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Publish(ctx, topic, 1, false, p); err != nil {
		t.Fatal(err)
	}
}

// waitJournal waits until the journal has a record matching pred.
func waitJournal(t *testing.T, dir, what string, pred func(journal.Record) bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if recs, err := journal.ReadAll(dir); err == nil {
			for _, r := range recs {
				if pred(r) {
					return
				}
			}
		}
		time.Sleep(20 * time.Millisecond) // polling a file another process writes
	}
	t.Fatalf("journal never had %s", what)
}

// TestAgentKilledAtEachStep kills the agent at each step between receiving
// a command and finishing it, restarts it, and counts the runs.
func TestAgentKilledAtEachStep(t *testing.T) {
	for _, tc := range []struct {
		step string
		want int // executions in all
		why  string
	}{
		{"received", 1, "not journaled, so not acknowledged: the broker delivers it again"},
		{"journaled", 0, "the decision and the start are one synced write: never run twice, so at most once"},
		{"started", 0, "the start was journaled: never run twice, so at most once"},
		{"ran", 1, "it ran; the restart must not run it again"},
	} {
		t.Run(tc.step, func(t *testing.T) {
			b := mqtttest.NATS(t)
			h := newHost(t, b, "nas")
			pub := fleettest.Client(t, b.URL, nil)
			cmd, ready := h.run(tc.step)
			waitReady(t, ready)
			publish(t, pub, "SHUTDOWN", wire.Command{V: 1, ID: "c-" + tc.step, Action: wire.Shutdown, Reason: "storm"})
			err := cmd.Wait()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 86 {
				t.Fatalf("agent did not die at %s: %v", tc.step, err)
			}
			_, ready = h.run("")
			waitReady(t, ready)
			waitJournal(t, h.state, "the outcome", func(r journal.Record) bool { return r.Kind == journal.KindOutcome && r.ID == "c-"+tc.step })
			// A later command is a marker: once it has run, anything the
			// restart would have done has been done.
			publish(t, pub, "SHUTDOWN", wire.Command{V: 1, ID: "marker", Action: wire.Shutdown})
			waitJournal(t, h.state, "the marker's outcome", func(r journal.Record) bool { return r.Kind == journal.KindOutcome && r.ID == "marker" })
			n := 0
			for _, id := range h.ran() {
				if id == "c-"+tc.step {
					n++
				}
			}
			if n != tc.want {
				t.Errorf("killed at %s: ran %d times, want %d (%s)", tc.step, n, tc.want, tc.why)
			}
			waitJournal(t, h.state, "the received message", func(r journal.Record) bool {
				return r.Kind == journal.KindReceived && strings.Contains(r.Payload, "c-"+tc.step)
			})
		})
	}
}
