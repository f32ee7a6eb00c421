package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stormguard/stormguard/certs"
	"github.com/stormguard/stormguard/internal/mqtttest"
	"github.com/stormguard/stormguard/journal"
	"github.com/stormguard/stormguard/mqtt"
	"github.com/stormguard/stormguard/wire"
)

// buildAgent compiles this program once per test binary.
func buildAgent(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "agent")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// proc is the agent binary running with its log collected.
type proc struct {
	cmd   *exec.Cmd
	ready chan struct{}
	lines chan string
}

func startProc(t *testing.T, bin string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, ready: make(chan struct{}), lines: make(chan string, 1000)}
	go func() {
		sc := bufio.NewScanner(stderr)
		once := false
		for sc.Scan() {
			line := sc.Text()
			select {
			case p.lines <- line:
			default:
			}
			if !once && strings.Contains(line, "connected to broker") {
				once = true
				close(p.ready)
			}
		}
	}()
	t.Cleanup(func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() })
	select {
	case <-p.ready:
	case <-time.After(15 * time.Second):
		t.Fatal("agent did not connect within 15s")
	}
	return p
}

func (p *proc) stop() {
	p.cmd.Process.Signal(os.Interrupt)
	p.cmd.Wait()
}

func countLines(path string) int {
	b, _ := os.ReadFile(path)
	return len(strings.Fields(string(b)))
}

// waitFor polls a condition the agent changes on disk, with a deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond) // polling a file the other process writes
	}
}

func journalHas(dir string, pred func(journal.Record) bool) bool {
	recs, err := journal.ReadAll(dir)
	if err != nil {
		return false
	}
	for _, r := range recs {
		if pred(r) {
			return true
		}
	}
	return false
}

// TestMosquittoPubEndToEnd is the "done when": a plain
// mosquitto_pub makes the agent binary run its script exactly once and keep
// the text; a retained REBOOT present at start is not obeyed; a restart
// does not run the command again.
func TestMosquittoPubEndToEnd(t *testing.T) {
	b := mqtttest.Mosquitto(t, mqtttest.MosquittoOptions{})
	pubBin, err := exec.LookPath("mosquitto_pub")
	if err != nil {
		t.Skip("mosquitto_pub not installed")
	}
	bin := buildAgent(t)
	dir := t.TempDir()
	runs := filepath.Join(dir, "runs")
	script := filepath.Join(dir, "power.sh")
	os.WriteFile(script, []byte("#!/bin/sh\necho ran >> "+runs+"\n"), 0o755)
	state := filepath.Join(dir, "state")
	host, port, _ := strings.Cut(b.Addr, ":")
	mpub := func(args ...string) {
		t.Helper()
		out, err := exec.Command(pubBin, append([]string{"-h", host, "-p", port, "-q", "1"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("mosquitto_pub %v: %v\n%s", args, err, out)
		}
	}
	mpub("-r", "-t", "REBOOT", "-m", "stale retained reboot")
	t.Cleanup(func() { mpub("-r", "-n", "-t", "REBOOT") })

	args := []string{"-host", host, "-port", port, "-name", "nas", "-state-dir", state,
		"-shutdown-cmd", script, "-reboot-cmd", script, "-warn-cmd", ""}
	p := startProc(t, bin, args...)
	waitFor(t, "the retained REBOOT to be journaled as rejected", func() bool {
		return journalHas(state, func(r journal.Record) bool { return r.State == wire.Rejected && r.Action == wire.Reboot })
	})
	mpub("-t", "SHUTDOWN", "-m", "TEXT storm at 21:00")
	waitFor(t, "the script to run", func() bool { return countLines(runs) >= 1 })
	waitFor(t, "the outcome to be journaled", func() bool {
		return journalHas(state, func(r journal.Record) bool { return r.Kind == journal.KindOutcome })
	})
	p.stop()
	if !journalHas(state, func(r journal.Record) bool { return r.Payload == "TEXT storm at 21:00" }) {
		t.Error("the message text is not kept under the state dir")
	}

	startProc(t, bin, args...)
	mpub("-t", "SHUTDOWN", "-m", "TEXT storm at 21:00") // the same message again
	waitFor(t, "the repeat to be journaled as a duplicate", func() bool {
		return journalHas(state, func(r journal.Record) bool { return r.State == wire.Duplicate })
	})
	if n := countLines(runs); n != 1 {
		t.Errorf("script ran %d times, want exactly 1", n)
	}
}

func TestPasswordAndTLSFlags(t *testing.T) {
	b := mqtttest.MosquittoWithUser(t, "agent-nas", "s3cret-pw")
	dir := t.TempDir()
	os.Chmod(dir, 0o755) // the TLS subtest's broker files are read by Mosquitto
	host, port, _ := strings.Cut(b.Addr, ":")
	pwFile := filepath.Join(dir, "pw")
	os.WriteFile(pwFile, []byte("s3cret-pw\n"), 0o600)

	t.Run("password file", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- Run(ctx, []string{"-host", host, "-port", port, "-user", "agent-nas", "-password-file", pwFile,
				"-name", "nas", "-state-dir", t.TempDir(), "-dry-run", "-warn-cmd", ""})
		}()
		w := watchPresence(t, b.URL, "agent-nas", "s3cret-pw")
		waitPresence(t, w, "nas", "True")
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
	t.Run("wrong password never connects", func(t *testing.T) {
		bad := filepath.Join(dir, "bad")
		os.WriteFile(bad, []byte("nope\n"), 0o600)
		cfg, err := load([]string{"-host", host, "-port", port, "-user", "agent-nas", "-password-file", bad, "-name", "nas", "-state-dir", t.TempDir()}, os.Stderr)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := mqtt.New(cfg.MQTT)
		c.Start()
		defer c.Close(0)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if c.WaitReady(ctx) == nil {
			t.Error("connected with a wrong password")
		}
	})
	t.Run("mutual TLS from -cert", func(t *testing.T) {
		ca, _ := certs.NewCA("ca", time.Hour)
		bdir, adir := filepath.Join(dir, "broker"), filepath.Join(dir, "nas")
		ca.WriteDir(bdir, "broker", []string{"127.0.0.1"}, time.Hour)
		ca.WriteDir(adir, "agent-nas", nil, time.Hour)
		os.Chmod(filepath.Join(bdir, certs.KeyFile), 0o644)
		tb := mqtttest.Mosquitto(t, mqtttest.MosquittoOptions{TLS: &mqtttest.TLSFiles{
			CA: filepath.Join(bdir, certs.CAFile), Cert: filepath.Join(bdir, certs.CertFile), Key: filepath.Join(bdir, certs.KeyFile), RequireCert: true}})
		thost, tport, _ := strings.Cut(tb.Addr, ":")
		cfg, err := load([]string{"-host", thost, "-port", tport, "-cert", adir, "-name", "nas", "-state-dir", t.TempDir()}, os.Stderr)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.MQTT.Brokers[0] != "ssl://"+tb.Addr {
			t.Errorf("broker URL = %s, want ssl://", cfg.MQTT.Brokers[0])
		}
		c, _ := mqtt.New(cfg.MQTT)
		c.Start()
		defer c.Close(0)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.WaitReady(ctx); err != nil {
			t.Fatalf("mutual TLS: %v", err)
		}
		if _, err := load([]string{"-cert", filepath.Join(dir, "missing"), "-name", "nas", "-state-dir", t.TempDir()}, os.Stderr); err == nil || !strings.Contains(err.Error(), "ca_public_certificate.pem") {
			t.Errorf("missing cert dir: %v, want an error naming the file", err)
		}
	})
}

func watchPresence(t *testing.T, url, user, pw string) chan string {
	t.Helper()
	ch := make(chan string, 10)
	c, err := mqtt.New(mqtt.Config{Brokers: []string{url}, ClientID: fmt.Sprintf("w-%d", time.Now().UnixNano()), CleanSession: true, Username: user, Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	c.Handle("resourceavailable/+/presence", 1, func(m mqtt.Message) { ch <- m.Topic + " " + string(m.Payload) })
	c.Start()
	t.Cleanup(func() { c.Close(0) })
	return ch
}

func waitPresence(t *testing.T, ch chan string, host, want string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case got := <-ch:
			if got == "resourceavailable/"+host+"/presence "+want {
				return
			}
		case <-deadline:
			t.Fatalf("no presence %s for %s", want, host)
		}
	}
}

func TestBadSettingsNameTheKey(t *testing.T) {
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "agent.yaml")
	os.WriteFile(cfgFile, []byte("name: nas\nshutdwn-cmd: [poweroff]\n"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-config", cfgFile}, "shutdwn-cmd"},
		{[]string{"-name", "a/b", "-state-dir", dir}, "name"},
		{[]string{"-qos", "7", "-state-dir", dir}, "qos"},
		{[]string{"-max-age", "0s", "-state-dir", dir}, "max-age"},
		{[]string{"-require-signed", "-state-dir", dir}, "require-signed"},
		{[]string{"-state-dir", dir, "stray"}, "stray"},
	} {
		_, err := load(tc.args, os.Stderr)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("load(%q) = %v, want an error naming %q", tc.args, err, tc.want)
		}
	}
	t.Setenv("STORMGUARD_AGENT_SHUTDOWN_CMD", "/sbin/poweroff --force")
	cfg, err := load([]string{"-state-dir", dir, "-name", "nas"}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(cfg.ShutdownCmd, "|") != "/sbin/poweroff|--force" {
		t.Errorf("shutdown-cmd from the environment = %q", cfg.ShutdownCmd)
	}
}
