package faults

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stormguard/stormguard/internal/fleettest"
	"github.com/stormguard/stormguard/internal/mqtttest"
	"github.com/stormguard/stormguard/journal"
	"github.com/stormguard/stormguard/mqtt"
	"github.com/stormguard/stormguard/wire"
)

// What a house does to an agent: the power command kills it, the host is
// switched on again later, the disk fills up, a flood of junk arrives.
// Every test drives the agent binary through a real Mosquitto.

// powerKills makes the host's power command do what a real power-off does
// to the agent: record the run, then SIGKILL the agent (its parent).
func (h *host) powerKills(t *testing.T) {
	t.Helper()
	script := filepath.Join(filepath.Dir(h.runs), "power.sh")
	body := "#!/bin/sh\necho \"$STORMGUARD_COMMAND_ID\" >> " + h.runs + "\nkill -9 $PPID\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
}

func (h *host) setArg(flag, value string) {
	for i := range h.args {
		if h.args[i] == flag {
			h.args[i+1] = value
			return
		}
	}
	h.args = append(h.args, flag, value)
}

func sendRaw(t *testing.T, c *mqtt.Client, topic string, payload []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Publish(ctx, topic, 1, false, payload); err != nil {
		t.Fatal(err)
	}
}

// TestPowerOffLoop: the power command kills the agent, as a real power-off
// does; the host is switched on again past -max-age, four times. The
// command that powered it off must never run again: the message was
// acknowledged before the power command started.
func TestPowerOffLoop(t *testing.T) {
	for _, tc := range []struct {
		name    string
		payload func() []byte
	}{
		{"plain text", func() []byte { return []byte("storm") }},
		{"JSON", func() []byte {
			p, _ := wire.Command{V: 1, ID: "c-loop", Action: wire.Shutdown, Reason: "storm", IssuedAt: time.Now()}.Encode()
			return p
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := mqtttest.Mosquitto(t, mqtttest.MosquittoOptions{})
			h := newHost(t, b, "nas")
			h.setArg("-max-age", "1s")
			h.powerKills(t)
			pub := fleettest.Client(t, b.URL, nil)
			cmd, ready := h.run("")
			waitReady(t, ready)
			sendRaw(t, pub, "SHUTDOWN", tc.payload())
			for boot := 1; boot <= 4; boot++ {
				err := cmd.Wait()
				var ee *exec.ExitError
				if boot == 1 && (!errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL) {
					t.Fatalf("the power command did not kill the agent: %v", err)
				}
				// Switched on again later than -max-age.
				time.Sleep(1500 * time.Millisecond) // the time a host stays off is the point of this test
				cmd, ready = h.run("")
				waitReady(t, ready)
				// A cancel is a marker: once it is journaled, everything the
				// broker held for this session has been decided.
				marker := fmt.Sprintf("marker %d", boot)
				sendRaw(t, pub, "CANCEL", []byte(marker))
				waitJournal(t, h.state, marker, func(r journal.Record) bool { return r.Kind == journal.KindReceived && r.Payload == marker })
				cmd.Process.Signal(syscall.SIGTERM)
			}
			cmd.Wait()
			if got := h.ran(); len(got) != 1 {
				t.Errorf("power command ran %d times over four boots, want 1: %q", len(got), got)
			}
		})
	}
}

// TestJunkFloodThenCommand: a burst of junk on SHUTDOWN, then one valid
// command, through Mosquitto with its default limits and with those of
// deploy/mosquitto: 5,000 small messages, and 300 of 60 KiB. The agent
// drains them without an fsync each, so the broker drops nothing and the
// command runs once.
func TestJunkFloodThenCommand(t *testing.T) {
	small := []byte(`{"v":1,"id":"junk","issued_at":` + strings.Repeat(" ", 400) + `"x"}`)
	big := []byte(`{"v":1,"id":"junk","issued_at":` + strings.Repeat(" ", 60<<10) + `"x"}`)
	for _, tc := range []struct {
		name   string
		limits string
		junk   []byte
		n      int
	}{
		{"5000_small_deploy_limits", deployLimits(t), small, 5000},
		{"300_of_60KiB_deploy_limits", deployLimits(t), big, 300},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := mqtttest.Mosquitto(t, mqtttest.MosquittoOptions{Extra: tc.limits})
			h := newHost(t, b, "nas")
			pub := fleettest.Client(t, b.URL, nil)
			_, ready := h.run("")
			waitReady(t, ready)
			var last <-chan struct{}
			for range tc.n {
				last = pub.Send("SHUTDOWN", 1, false, tc.junk)
			}
			<-last
			p, _ := wire.Command{V: 1, ID: "c-real", Action: wire.Shutdown, Reason: "storm", IssuedAt: time.Now()}.Encode()
			sendRaw(t, pub, "SHUTDOWN", p)
			waitJournal(t, h.state, "the real command's outcome", func(r journal.Record) bool { return r.Kind == journal.KindOutcome && r.ID == "c-real" })
			recs, _ := journal.ReadAll(h.state)
			if got := h.ran(); len(got) != 1 || got[0] != "c-real" {
				t.Errorf("ran %q, want c-real once; journal ends %+v", got, recs[len(recs)-3:])
			}
			rejected := 0
			for _, r := range recs {
				if r.Kind == journal.KindDecision && r.State == wire.Rejected {
					rejected++
				}
			}
			if rejected != tc.n {
				t.Errorf("journal has %d rejections, want %d: the broker dropped messages", rejected, tc.n)
			}
		})
	}
}

// deployLimits returns the queue and packet settings of the repository's
// Mosquitto configuration, to apply to a test broker.
func deployLimits(t *testing.T) string {
	t.Helper()
	f, err := os.Open("../deploy/mosquitto/conf.d/stormguard.conf")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		for _, key := range []string{"max_queued_messages ", "max_queued_bytes ", "max_inflight_messages ", "max_packet_size ", "set_tcp_nodelay ", "queue_qos0_messages "} {
			if strings.HasPrefix(line, key) {
				out.WriteString(line + "\n")
			}
		}
	}
	if !strings.Contains(out.String(), "max_queued_messages") {
		t.Fatal("deploy configuration has no max_queued_messages: update the test")
	}
	return out.String()
}

// TestFullDisk: the state directory is a small tmpfs that fills up. A
// command that arrives then still runs (and is acknowledged to the broker,
// so the in-flight window does not fill), a countdown's deadline still runs
// its command, the acks say the journal was not written, and once space
// is back the journal is whole and holds every record.
func TestFullDisk(t *testing.T) {
	b := mqtttest.Mosquitto(t, mqtttest.MosquittoOptions{})
	h := newHost(t, b, "nas")
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt).CombinedOutput(); err != nil {
		if os.Getenv("STORMGUARD_REQUIRE_TMPFS") != "" {
			t.Fatalf("mount tmpfs: %v %s", err, out)
		}
		t.Skipf("mount tmpfs (needs root): %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", mnt).Run() })
	h.state = filepath.Join(mnt, "state")
	h.setArg("-state-dir", h.state)
	acks := watchAcks(t, b.URL, "nas")
	pub := fleettest.Client(t, b.URL, nil)
	cmd, ready := h.run("")
	waitReady(t, ready)
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()

	// A countdown armed while there is space; then the disk fills, reserve and all.
	p, _ := wire.Command{V: 1, ID: "c-countdown", Action: wire.Reboot, IssuedAt: time.Now(), Deadline: time.Now().Add(3 * time.Second)}.Encode()
	sendRaw(t, pub, "REBOOT", p)
	waitAck(t, acks, "c-countdown", wire.Scheduled)
	fillUp(t, filepath.Join(mnt, "filler"))
	os.Remove(filepath.Join(h.state, journal.ReserveName))
	fillUp(t, filepath.Join(mnt, "filler2"))

	// More than the broker's in-flight window of messages, then a command.
	for i := range 30 {
		sendRaw(t, pub, "SHUTDOWN", []byte(fmt.Sprintf(`{"v":1,"junk":%d}`, i)))
	}
	p, _ = wire.Command{V: 1, ID: "c-full", Action: wire.Shutdown, IssuedAt: time.Now()}.Encode()
	sendRaw(t, pub, "SHUTDOWN", p)
	a := waitAck(t, acks, "c-full", wire.Done)
	if !strings.Contains(a.Detail, "journal not written") {
		t.Errorf("ack on a full disk says %q; it must say the journal was not written", a.Detail)
	}
	a = waitAck(t, acks, "c-countdown", wire.Done)
	if !strings.Contains(a.Detail, "journal not written") {
		t.Errorf("countdown ack on a full disk says %q; it must say the journal was not written", a.Detail)
	}
	if got := h.ran(); len(got) != 2 {
		t.Fatalf("ran %q on a full disk, want c-countdown and c-full", got)
	}
	// Space comes back: what was held in memory reaches the journal.
	os.Remove(filepath.Join(mnt, "filler"))
	os.Remove(filepath.Join(mnt, "filler2"))
	waitJournal(t, h.state, "c-full's outcome after the disk came back", func(r journal.Record) bool { return r.Kind == journal.KindOutcome && r.ID == "c-full" })
	f, _ := os.Open(filepath.Join(h.state, journal.FileName))
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if !strings.HasPrefix(sc.Text(), "{") || !strings.HasSuffix(sc.Text(), "}") {
			t.Errorf("journal line is not a whole record: %q", sc.Text())
		}
	}
}

func fillUp(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		return // already full
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			return
		}
	}
}

// watchAcks collects one host's acks.
func watchAcks(t *testing.T, url, host string) <-chan wire.Ack {
	t.Helper()
	ch := make(chan wire.Ack, 1000)
	c := fleettest.Client(t, url, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := c.Subscribe(ctx, wire.Topics{}.Ack(host), 1, func(_ string, p []byte, _ bool) {
		if a, err := wire.DecodeAck(p); err == nil {
			ch <- a
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

func waitAck(t *testing.T, acks <-chan wire.Ack, id string, state wire.AckState) wire.Ack {
	t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case a := <-acks:
			if a.ID == id && a.State == state {
				return a
			}
		case <-timeout:
			t.Fatalf("no %s ack for %s within 15s", state, id)
		}
	}
}
