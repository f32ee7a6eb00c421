package faults

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stormguard/stormguard/internal/mqtttest"
	"github.com/stormguard/stormguard/journal"
	"github.com/stormguard/stormguard/mqtt"
)

// RequireNetnsEnv makes a machine without network namespaces fail the test
// instead of skipping it (CI sets it).
const RequireNetnsEnv = "STORMGUARD_REQUIRE_NETNS"

// testHost is a network namespace joined to this one by a veth pair: a
// host of the test's own, with a link the test can cut.
type testHost struct {
	ns, outer, inner string
	brokerIP, hostIP string
}

func ip(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

func newTestHost(t *testing.T) *testHost {
	t.Helper()
	skip := func(why string) {
		if os.Getenv(RequireNetnsEnv) == "1" {
			t.Fatalf("network namespaces required (%s=1): %s", RequireNetnsEnv, why)
		}
		t.Skipf("network namespaces not available here (%s); run as root with iproute2", why)
	}
	if os.Geteuid() != 0 {
		skip("not root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		skip("no ip command")
	}
	id := os.Getpid() % 100000
	h := &testHost{ns: fmt.Sprintf("sgns%d", id), outer: fmt.Sprintf("sgo%d", id), inner: fmt.Sprintf("sgi%d", id)}
	// Link-local addresses on a /30 of the test's own: nothing else is there.
	octet := id%250 + 1
	h.brokerIP, h.hostIP = fmt.Sprintf("169.254.%d.1", octet), fmt.Sprintf("169.254.%d.2", octet)
	ip("link", "del", h.outer) // a leftover from an interrupted run
	ip("netns", "del", h.ns)
	if err := ip("netns", "add", h.ns); err != nil {
		skip(err.Error())
	}
	t.Cleanup(func() { ip("link", "del", h.outer); ip("netns", "del", h.ns) })
	for _, args := range [][]string{
		{"link", "add", h.outer, "type", "veth", "peer", "name", h.inner},
		{"link", "set", h.inner, "netns", h.ns},
		{"addr", "add", h.brokerIP + "/30", "dev", h.outer},
		{"link", "set", h.outer, "up"},
		{"netns", "exec", h.ns, "ip", "addr", "add", h.hostIP + "/30", "dev", h.inner},
		{"netns", "exec", h.ns, "ip", "link", "set", h.inner, "up"},
		{"netns", "exec", h.ns, "ip", "link", "set", "lo", "up"},
	} {
		if err := ip(args...); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

// cut takes the host's link down (up=false) or brings it back.
func (h *testHost) link(t *testing.T, up bool) {
	t.Helper()
	state := "down"
	if up {
		state = "up"
	}
	if err := ip("link", "set", h.outer, state); err != nil {
		t.Fatal(err)
	}
}

// TestHostCutOff runs an agent in its own network namespace and cuts its
// link: its last will turns its presence False, the servicemanager marks
// its command topics unavailable, shutdownall -wait names it; when the link
// comes back within the command's age it obeys the command it missed.
func TestHostCutOff(t *testing.T) {
	th := newTestHost(t)
	port := mqtttest.FreePort(t)
	b := mqtttest.Mosquitto(t, mqtttest.MosquittoOptions{Extra: fmt.Sprintf("listener %d %s\n", port, th.brokerIP)})
	host, lport, _ := strings.Cut(b.Addr, ":")

	watch := make(chan string, 100)
	obs, err := mqtt.New(mqtt.Config{Brokers: []string{b.URL}, ClientID: "netns-observer", CleanSession: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"resourceavailable/edge/presence", "commandavailable/edge/+"} {
		obs.Handle(f, 1, func(m mqtt.Message) { watch <- m.Topic + " " + string(m.Payload) })
	}
	obs.Start()
	t.Cleanup(func() { obs.Close(0) })

	sm := exec.Command(binary(t, "servicemanager"), "-host", host, "-port", lport, "-qos", "1")
	if err := sm.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sm.Process.Kill(); sm.Wait() })

	dir := t.TempDir()
	runs := filepath.Join(dir, "runs")
	script := filepath.Join(dir, "power.sh")
	os.WriteFile(script, []byte("#!/bin/sh\necho \"$STORMGUARD_COMMAND_ID\" >> "+runs+"\n"), 0o755)
	state := filepath.Join(dir, "state")
	agent := exec.Command("ip", "netns", "exec", th.ns, binary(t, "agent"), "-host", th.brokerIP, "-port", fmt.Sprint(port),
		"-name", "edge", "-keepalive", "4s", "-state-dir", state, "-shutdown-cmd", script, "-reboot-cmd", script, "-warn-cmd", "")
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { agent.Process.Kill(); agent.Wait() })

	// await waits for a message; the agent publishes its announcements
	// concurrently, so messages seen while waiting for another are kept.
	var backlog []string
	await := func(what string) {
		t.Helper()
		for i, got := range backlog {
			if got == what {
				backlog = append(backlog[:i], backlog[i+1:]...)
				return
			}
		}
		deadline := time.After(30 * time.Second)
		for {
			select {
			case got := <-watch:
				if got == what {
					return
				}
				backlog = append(backlog, got)
			case <-deadline:
				t.Fatalf("never saw %q (saw %q)", what, backlog)
			}
		}
	}
	await("resourceavailable/edge/presence True")
	await("commandavailable/edge/shutdown True")

	th.link(t, false)
	out, err := exec.Command(binary(t, "shutdownall"), "-host", host, "-port", lport, "-wait", "2s", "storm", "while", "edge", "is", "cut", "off").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "silent: edge") {
		t.Errorf("shutdownall -wait with edge cut off: %v\n%s\nwant a failure naming edge", err, out)
	}
	await("resourceavailable/edge/presence False")
	await("commandavailable/edge/shutdown False")

	th.link(t, true)
	waitJournal(t, state, "the missed command run after the link came back", func(r journal.Record) bool {
		return r.Kind == journal.KindOutcome && strings.HasPrefix(r.ID, "sa-")
	})
	got, _ := os.ReadFile(runs)
	if n := len(strings.Fields(string(got))); n != 1 {
		t.Errorf("power command ran %d times, want 1", n)
	}
	await("resourceavailable/edge/presence True")
}
