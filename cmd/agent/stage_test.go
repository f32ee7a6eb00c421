package main

import (
	"os"
	"strings"
	"testing"

	"github.com/stormguard/stormguard/wire"
)

func TestStageAndWakeSettings(t *testing.T) {
	dir := t.TempDir()
	// The broker on this host (localhost, the default): last stage.
	cfg, err := load([]string{"-state-dir", dir, "-name", "hottub"}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Broker || cfg.Stages.Stage != wire.StageLast {
		t.Errorf("broker on localhost: broker %v stage %d, want true and %d", cfg.Broker, cfg.Stages.Stage, wire.StageLast)
	}
	// A broker elsewhere (a documentation address): the middle stage.
	cfg, err = load([]string{"-state-dir", dir, "-name", "nas", "-host", "192.0.2.1"}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Broker || cfg.Stages.Stage != wire.StageDefault {
		t.Errorf("broker elsewhere: broker %v stage %d, want false and %d", cfg.Broker, cfg.Stages.Stage, wire.StageDefault)
	}
	cfg, err = load([]string{"-state-dir", dir, "-name", "hottub", "-stage", "2", "-pre-shutdown-cmd", "/usr/local/bin/stop-vms --all",
		"-wake-on-lan", "-wake-mac", "02:00:5E:10:00:01", "-wake-broadcast", "192.168.1.255"}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Stages.Stage != 2 || strings.Join(cfg.PreShutdownCmd, "|") != "/usr/local/bin/stop-vms|--all" ||
		cfg.Wake == nil || cfg.Wake.MAC != "02:00:5E:10:00:01" || cfg.Wake.Broadcast != "192.168.1.255" {
		t.Errorf("stage %d, pre-shutdown %q, wake %+v", cfg.Stages.Stage, cfg.PreShutdownCmd, cfg.Wake)
	}
	// Detected: the interface that reaches the broker (loopback has no
	// Ethernet address, which is said).
	if _, err := load([]string{"-state-dir", dir, "-name", "nas", "-wake-on-lan"}, os.Stderr); err == nil || !strings.Contains(err.Error(), "wake-on-lan") {
		t.Errorf("-wake-on-lan over loopback: %v, want an error naming wake-on-lan", err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-stage", "10"}, "stage"},
		{[]string{"-stage-limit", "0s"}, "stage-limit"},
		{[]string{"-pre-shutdown-timeout", "0s"}, "pre-shutdown-timeout"},
		{[]string{"-wake-on-lan", "-wake-mac", "nope", "-wake-broadcast", "10.0.0.255"}, "wake-on-lan"},
		{[]string{"-wake-on-lan", "-wake-mac", "02:00:5e:10:00:01", "-wake-broadcast", "fe80::1"}, "wake-broadcast"},
	} {
		_, err := load(append(tc.args, "-state-dir", dir, "-name", "nas"), os.Stderr)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("load(%q) = %v, want an error naming %q", tc.args, err, tc.want)
		}
	}
}
