package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stormguard/stormguard/internal/mqtttest"
	"github.com/stormguard/stormguard/journal"
	"github.com/stormguard/stormguard/wire"
)

// hookScript writes a pre-shutdown command that notes its run in the
// power command's log, then runs rest.
func hookScript(t *testing.T, h *host, rest string) []string {
	script := filepath.Join(t.TempDir(), "hook.sh")
	os.WriteFile(script, []byte("#!/bin/sh\necho \"hook $STORMGUARD_COMMAND_ID\" >> "+h.runs+"\n"+rest), 0o755)
	return []string{script}
}

// hookHost starts host vmhost with a pre-shutdown command that runs rest
// (timeout 0: the default), sends it a SHUTDOWN and waits for its first
// executing ack.
func hookHost(t *testing.T, rest string, timeout time.Duration) (*watcher, *host) {
	t.Helper()
	b := mqtttest.NATS(t)
	w := newWatcher(t, b.URL)
	h := newHost(t, b.URL, "vmhost", nil)
	h.stop()
	h.cfg.PreShutdownCmd = hookScript(t, h, rest)
	h.cfg.PreShutdownTimeout = timeout
	h.start()
	w.publish("SHUTDOWN", false, []byte("storm"))
	w.waitAck("vmhost", wire.Executing)
	return w, h
}

// hookRecord is the journal's record of the pre-shutdown command.
func hookRecord(t *testing.T, h *host) journal.Record {
	t.Helper()
	return record(t, h, "hook", func(r journal.Record) bool { return r.Kind == journal.KindHook })
}

func TestPreShutdownRunsBeforeThePowerCommand(t *testing.T) {
	w, h := hookHost(t, "echo 3 VMs stopped\n", 0)
	k := w.waitAck("vmhost", wire.Executing)
	if !strings.Contains(k.Detail, "pre-shutdown") || !strings.Contains(k.Detail, "ok after") || !strings.Contains(k.Detail, "3 VMs stopped") {
		t.Errorf("hook ack detail %q, want its outcome and last line", k.Detail)
	}
	w.waitAck("vmhost", wire.Done)
	got := h.ran()
	if len(got) != 2 || !strings.HasPrefix(got[0], "hook txt-") || !strings.HasPrefix(got[1], "shutdown txt-") {
		t.Errorf("runs %q, want the hook, then the power command", got)
	}
	hook := hookRecord(t, h)
	if hook.State != wire.Done || !hook.At.Before(ended(t, h, hook.ID).At) {
		t.Errorf("hook record %+v, want done before the outcome", hook)
	}
}

func TestPreShutdownTimeLimit(t *testing.T) {
	w, h := hookHost(t, "exec sleep 30\n", 300*time.Millisecond)
	k := w.waitAck("vmhost", wire.Executing)
	if !strings.Contains(k.Detail, "stopped after its time limit 300ms") {
		t.Errorf("hook ack detail %q, want the time limit", k.Detail)
	}
	w.waitAck("vmhost", wire.Done)
	if got := h.ran(); len(got) != 2 {
		t.Errorf("runs %q, want the hook, then the power command", got)
	}
	if r := hookRecord(t, h); r.State != wire.Failed {
		t.Errorf("hook record state %s, want failed", r.State)
	}
}

// TestPreShutdownNotRunTwice: an agent stopped while its hook runs (a
// power-off does that) runs neither the hook nor the power command again.
func TestPreShutdownNotRunTwice(t *testing.T) {
	w, h := hookHost(t, "exec sleep 3\n", 2*time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for len(h.ran()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // polling the file the hook writes
	}
	h.stop()
	w.waitAck("vmhost", wire.Stopping)
	h.start()
	// A cancel answered after the restart: the agent has replayed its
	// journal and decided what to run again by then.
	w.publish("CANCEL", false, nil)
	if k := w.waitAck("vmhost", wire.Done); k.Detail != "nothing pending" {
		t.Errorf("cancel after the restart: %q", k.Detail)
	}
	if got := h.ran(); len(got) != 1 || !strings.HasPrefix(got[0], "hook ") {
		t.Errorf("runs %q, want the hook once and no power command", got)
	}
}
