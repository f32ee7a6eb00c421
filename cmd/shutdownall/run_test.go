package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stormguard/stormguard/internal/fleettest"
	"github.com/stormguard/stormguard/internal/mqtttest"
	"github.com/stormguard/stormguard/mqtt"
	"github.com/stormguard/stormguard/wire"
)

// waitPresent waits until shutdownall -status lists every host as online.
func waitPresent(t *testing.T, b *mqtttest.Broker, hosts ...string) {
	t.Helper()
	waitStatus(t, b, fmt.Sprintf("hosts %v all online", hosts), func(out string) bool {
		for _, h := range hosts {
			if !strings.Contains(out, h+"  ") || !lineHas(out, h, "yes") {
				return false
			}
		}
		return true
	})
}

// waitStatus runs shutdownall -status until its table satisfies ok. Host
// states are retained messages that the agents publish after they act,
// and a broker files them for new subscribers a moment later, so one look
// may come early.
func waitStatus(t *testing.T, b *mqtttest.Broker, what string, ok func(string) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := run(t, b, "-status")
		if err == nil && ok(out) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("-status never showed %s: %v\n%s", what, err, out)
		}
	}
}

func lineHas(out, host, word string) bool {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, host+" ") && strings.Contains(l, word) {
			return true
		}
	}
	return false
}

func run(t *testing.T, b *mqtttest.Broker, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	host, port, _ := strings.Cut(b.Addr, ":")
	all := append([]string{"-host", host, "-port", port, "-settle", "100ms"}, args...)
	err := Run(context.Background(), all, &out)
	return out.String(), err
}

func TestShutdownallWithAgents(t *testing.T) {
	mqtttest.Each(t, func(t *testing.T, b *mqtttest.Broker) {
		fleettest.DryRunAgent(t, b.URL, "nas", "office")
		fleettest.DryRunAgent(t, b.URL, "pi3")
		waitPresent(t, b, "nas", "pi3")

		t.Run("wait succeeds when every dry-run host is done", func(t *testing.T) {
			out, err := run(t, b, "-wait", "10s", "storm", "coming")
			if err != nil {
				t.Fatalf("shutdownall -wait: %v\n%s", err, out)
			}
			for _, h := range []string{"nas", "pi3"} {
				if !lineHas(out, h, "done (dry run)") {
					t.Errorf("table has no 'done (dry run)' row for %s:\n%s", h, out)
				}
			}
		})
		t.Run("target reaches only that host", func(t *testing.T) {
			// Dry-run agents go offline and come back after each power-down.
			waitPresent(t, b, "nas", "pi3")
			out, err := run(t, b, "-reboot", "-target", "pi3", "-wait", "10s", "kernel")
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if strings.Contains(out, "nas") || !lineHas(out, "pi3", "done (dry run)") {
				t.Errorf("want only pi3 in the table:\n%s", out)
			}
		})
		t.Run("group reaches its members", func(t *testing.T) {
			// Dry-run agents go offline and come back after each power-down.
			waitPresent(t, b, "nas", "pi3")
			out, err := run(t, b, "-reboot", "-group", "office", "-wait", "10s", "office only")
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if strings.Contains(out, "pi3") || !lineHas(out, "nas", "done (dry run)") {
				t.Errorf("want only nas in the table:\n%s", out)
			}
		})
		t.Run("cancel during a countdown is acked by every host", func(t *testing.T) {
			// Dry-run agents go offline and come back after each power-down.
			waitPresent(t, b, "nas", "pi3")
			out, err := run(t, b, "-delay", "1m", "lightning near")
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			waitStatus(t, b, "the pending countdown on nas", func(out string) bool { return lineHas(out, "nas", "shutdown at") })
			out, err = run(t, b, "-cancel", "-wait", "10s", "false alarm")
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if !lineHas(out, "nas", "cancelled") || !lineHas(out, "pi3", "cancelled") {
				t.Errorf("want cancelled from both:\n%s", out)
			}
			// A cancel naming another command leaves nothing to cancel.
			out, err = run(t, b, "-cancel", "-id", "no-such-command", "-wait", "10s", "wrong id")
			if err != nil || !lineHas(out, "nas", "nothing pending") {
				t.Errorf("cancel of an unknown id: %v\n%s", err, out)
			}
		})
		t.Run("a present but silent host is named and fails the run", func(t *testing.T) {
			// Dry-run agents go offline and come back after each power-down.
			waitPresent(t, b, "nas", "pi3")
			ghost := fleettest.Client(t, b.URL, nil)
			tp := wire.Topics{}
			pub(t, ghost, tp.Presence("ghost"), "True")
			pub(t, ghost, tp.CommandAvailable("ghost", "shutdown"), "True")
			t.Cleanup(func() {
				pub(t, ghost, tp.Presence("ghost"), "")
				pub(t, ghost, tp.CommandAvailable("ghost", "shutdown"), "")
			})
			out, err := run(t, b, "-wait", "2s", "drill")
			var se *silentError
			if !errors.As(err, &se) || !strings.Contains(err.Error(), "ghost") {
				t.Fatalf("error = %v, want one naming ghost\n%s", err, out)
			}
			if strings.Contains(err.Error(), "nas") || !lineHas(out, "ghost", "silent") {
				t.Errorf("only ghost should be silent: %v\n%s", err, out)
			}
		})
	})
}

func pub(t *testing.T, c *mqtt.Client, topic, payload string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Publish(ctx, topic, 1, true, []byte(payload)); err != nil {
		t.Fatal(err)
	}
}

func TestBadCommandLines(t *testing.T) {
	for _, args := range [][]string{
		{"-reboot", "-cancel"},
		{"-cancel", "-delay", "1m"},
		{"-target", "a/b", "x"},
		{"-target", "a", "-group", "g", "x"},
		{"-qos", "3", "x"},
		{"-sign-key", "/nonexistent", "x"},
		{"-status", "words"},
		{"-id", "c-1", "x"},
		{"-cancel", "-id", "a/b"},
	} {
		if _, err := load(args, &bytes.Buffer{}); err == nil {
			t.Errorf("load(%q) accepted", args)
		}
	}
}

func TestKeygenAndSign(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	if err := Run(context.Background(), []string{"-keygen", dir}, &out); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, "command_signing_key.pem"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("private key: %v mode %v, want 0600", err, fi.Mode().Perm())
	}
	if err := Run(context.Background(), []string{"-keygen", dir}, &out); err == nil {
		t.Error("keygen overwrote an existing key")
	}
	j, err := load([]string{"-sign-key", filepath.Join(dir, "command_signing_key.pem"), "storm"}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if j.cmd.Sig == "" || j.cmd.Reason != "storm" {
		t.Errorf("command not signed: %+v", j.cmd)
	}
}
