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

func TestPreShutdownRunsBeforeThePowerCommand(t *testing.T) {
	b := mqtttest.NATS(t)
	w := newWatcher(t, b.URL)
	h := newHost(t, b.URL, "vmhost", nil)
	h.stop()
	h.cfg.PreShutdownCmd = hookScript(t, h, "echo 3 VMs stopped\n")
	h.start()
	w.publish("SHUTDOWN", false, []byte("storm"))
	w.waitAck("vmhost", wire.Executing)
	k := w.waitAck("vmhost", wire.Executing)
	if !strings.Contains(k.Detail, "pre-shutdown") || !strings.Contains(k.Detail, "ok after") || !strings.Contains(k.Detail, "3 VMs stopped") {
		t.Errorf("hook ack detail %q, want its outcome and last line", k.Detail)
	}
	w.waitAck("vmhost", wire.Done)
	got := h.ran()
	if len(got) != 2 || !strings.HasPrefix(got[0], "hook txt-") || !strings.HasPrefix(got[1], "shutdown txt-") {
		t.Errorf("runs %q, want the hook, then the power command", got)
	}
	hook := record(t, h, "hook", func(r journal.Record) bool { return r.Kind == journal.KindHook })
	if hook.State != wire.Done || !hook.At.Before(ended(t, h, hook.ID).At) {
		t.Errorf("hook record %+v, want done before the outcome", hook)
	}
}

func TestPreShutdownTimeLimit(t *testing.T) {
	b := mqtttest.NATS(t)
	w := newWatcher(t, b.URL)
	h := newHost(t, b.URL, "vmhost", nil)
	h.stop()
	h.cfg.PreShutdownCmd = hookScript(t, h, "exec sleep 30\n")
	h.cfg.PreShutdownTimeout = 300 * time.Millisecond
	h.start()
	w.publish("SHUTDOWN", false, []byte("storm"))
	w.waitAck("vmhost", wire.Executing)
	k := w.waitAck("vmhost", wire.Executing)
	if !strings.Contains(k.Detail, "stopped after its time limit 300ms") {
		t.Errorf("hook ack detail %q, want the time limit", k.Detail)
	}
	w.waitAck("vmhost", wire.Done)
	if got := h.ran(); len(got) != 2 {
		t.Errorf("runs %q, want the hook, then the power command", got)
	}
	if r := record(t, h, "hook", func(r journal.Record) bool { return r.Kind == journal.KindHook }); r.State != wire.Failed {
		t.Errorf("hook record state %s, want failed", r.State)
	}
}

// TestPreShutdownNotRunTwice: an agent stopped while its hook runs (a
// power-off does that) runs neither the hook nor the power command again.
func TestPreShutdownNotRunTwice(t *testing.T) {
	b := mqtttest.NATS(t)
	w := newWatcher(t, b.URL)
	h := newHost(t, b.URL, "vmhost", nil)
	h.stop()
	h.cfg.PreShutdownCmd = hookScript(t, h, "exec sleep 3\n")
	h.cfg.PreShutdownTimeout = 2 * time.Second
	h.start()
	w.publish("SHUTDOWN", false, []byte("storm"))
	w.waitAck("vmhost", wire.Executing)
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
