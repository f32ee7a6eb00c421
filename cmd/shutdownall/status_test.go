package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stormguard/stormguard/cmd/internal/cli"
	"github.com/stormguard/stormguard/internal/fleettest"
	"github.com/stormguard/stormguard/internal/mqtttest"
	"github.com/stormguard/stormguard/wire"
)

func TestStatusShowsTheWholePicture(t *testing.T) {
	b := mqtttest.NATS(t)
	tp := wire.Topics{}
	newFakeHost(t, b, "nas", false, polkitSaysNo)
	newFakeHost(t, b, "pi3", false, goesDown)
	// nas fails a command; pi3 went away an hour ago.
	if out, err := run(t, b, "-target", "nas", "-wait", "3s", "test"); cli.ExitCode(err) != exitFailed {
		t.Fatalf("setup: %v\n%s", err, out)
	}
	other := fleettest.Client(t, b.URL, nil)
	hourAgo := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	failed := &wire.Ack{ID: "sa-1", Host: "nas", Action: wire.Shutdown, State: wire.Failed, Detail: "ran systemctl poweroff: exit status 3: polkit says no", At: time.Now().UTC()}
	nasState, _ := wire.HostState{Host: "nas", At: time.Now().UTC(), Online: true, Groups: []string{"office"}, Last: failed}.Encode()
	piState, _ := wire.HostState{Host: "pi3", At: hourAgo, Online: false}.Encode()
	deadline := time.Now().Add(4 * time.Minute).UTC()
	guardState, _ := json.Marshal(map[string]any{"v": 1, "at": time.Now().UTC(), "phase": "countdown", "deadline": deadline, "reason": "lightning 9.2 km WNW",
		"blind": false, "sources": map[string]any{"blitzortung": map[string]any{"kind": "trigger", "status": "ok"}, "xweather": map[string]any{"kind": "trigger", "status": "failing", "last_error": "HTTP 401"}}})
	for topic, payload := range map[string]string{
		tp.State("nas"): string(nasState), tp.State("pi3"): string(piState), tp.Presence("pi3"): "False",
		tp.State(guardName): string(guardState), tp.Presence(guardName): "True", tp.Presence(managerName): "True",
	} {
		pub(t, other, topic, payload)
	}
	t.Cleanup(func() {
		for _, topic := range []string{tp.State(guardName), tp.Presence(guardName), tp.Presence(managerName)} {
			pub(t, other, topic, "")
		}
	})
	mqtttest.WaitRetained(t, b.URL, nil, tp.Presence(managerName), "True")
	mqtttest.WaitRetained(t, b.URL, nil, tp.State(guardName), string(guardState))
	mqtttest.WaitRetained(t, b.URL, nil, tp.State("pi3"), string(piState))
	mqtttest.WaitRetained(t, b.URL, nil, tp.State("nas"), string(nasState))

	out, err := run(t, b, "-status")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"stormguard: phase countdown, deadline", "lightning 9.2 km WNW", "xweather failing (HTTP 401)", "blitzortung ok", "servicemanager: online"} {
		if !strings.Contains(out, want) {
			t.Errorf("-status lacks %q:\n%s", want, out)
		}
	}
	if !lineHas(out, "nas", "polkit says no") || !lineHas(out, "pi3", "last seen 1h0m") {
		t.Errorf("want nas's failure detail and when pi3 was last seen:\n%s", out)
	}

	out, err = run(t, b, "-status", "-target", "pi3")
	if err != nil || strings.Contains(out, "nas ") || !lineHas(out, "pi3", "no") {
		t.Errorf("-status -target pi3: %v\n%s", err, out)
	}
	out, err = run(t, b, "-status", "-group", "office")
	if err != nil || strings.Contains(out, "pi3 ") || !lineHas(out, "nas", "yes") {
		t.Errorf("-status -group office: %v\n%s", err, out)
	}
	if _, err = run(t, b, "-status", "-target", "pi9"); cli.ExitCode(err) != exitUnknown {
		t.Errorf("-status -target pi9: %v", err)
	}

	out, err = run(t, b, "-status", "-json")
	var fs fleetStatus
	if err != nil || json.Unmarshal([]byte(out), &fs) != nil {
		t.Fatalf("-status -json: %v\n%s", err, out)
	}
	if fs.Stormguard == nil || fs.Stormguard.Phase != "countdown" || !fs.Stormguard.Deadline.Equal(deadline) || fs.Servicemanager == nil || !*fs.Servicemanager {
		t.Errorf("-json stormguard/servicemanager: %+v", fs)
	}
	if len(fs.Hosts) != 2 || fs.Hosts[1].Host != "pi3" || fs.Hosts[1].LastSeen == nil || !fs.Hosts[1].LastSeen.Equal(hourAgo) || fs.Hosts[0].Last == nil || fs.Hosts[0].Last.State != wire.Failed {
		t.Errorf("-json hosts: %+v", fs.Hosts)
	}
}
