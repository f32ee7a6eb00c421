package deploy

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	binMu  sync.Mutex
	binDir string
	bins   = map[string]string{}
)

// TestMain removes the binaries build made.
func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// build compiles ./cmd/<program> once per test run, with the version
// stamped as scripts/build-release.sh stamps it.
func build(t *testing.T, program, version string) string {
	t.Helper()
	binMu.Lock()
	defer binMu.Unlock()
	key := program + "@" + version
	if bin, ok := bins[key]; ok {
		return bin
	}
	if binDir == "" {
		d, err := os.MkdirTemp("", "deploy-test-bin-")
		if err != nil {
			t.Fatal(err)
		}
		binDir = d
	}
	bin := filepath.Join(binDir, program+"-"+version)
	ldflags := "-X github.com/stormguard/stormguard/cmd/internal/cli.Version=" + version
	out, err := exec.Command("go", "build", "-ldflags", ldflags, "-o", bin, "../cmd/"+program).CombinedOutput()
	if err != nil {
		t.Fatalf("go build %s: %v\n%s", program, err, out)
	}
	bins[key] = bin
	return bin
}

// packagedArgs is the unit's ExecStart with the packaged paths mapped to
// this checkout: the binary to bin, /etc/stormguard/X.yaml to deploy/etc/X.yaml.
func packagedArgs(t *testing.T, unitName, bin string) []string {
	t.Helper()
	argv := strings.Fields(readUnit(t, filepath.Join("systemd", unitName)).get("Service", "ExecStart"))
	args := argv[1:]
	for i, a := range args {
		if rest, ok := strings.CutPrefix(a, "/etc/stormguard/"); ok {
			args[i] = filepath.Join("etc", rest)
			if _, err := os.Stat(args[i]); err != nil {
				t.Fatalf("ExecStart reads %s: no %s in the repository", a, args[i])
			}
		}
	}
	return args
}

// TestDrill is docs/install.md's drill against the repository's broker
// configuration: the agent started as its unit starts it (the packaged
// agent.yaml, with the broker address, certificate directory and state
// directory a host would set, in dry run), and `shutdownall -wait` with the
// shutdownall identity, which exits 0 only once the agent has answered.
// Both binaries show the version they were built with.
func TestDrill(t *testing.T) {
	pki := makePKI(t)
	b := startRepoBroker(t, pki, "")
	const version = "v9.8.7-drill"
	agent := build(t, "agent", version)
	shutdownall := build(t, "shutdownall", version)
	for _, bin := range []string{agent, shutdownall} {
		out, err := exec.Command(bin, "-version").CombinedOutput()
		if err != nil || !strings.Contains(string(out), version) {
			t.Errorf("%s -version: %q, %v; want %s", filepath.Base(bin), out, err, version)
		}
	}

	// Wait for the agent by its retained presence, as shutdownall sees it.
	presence, _ := mustConnect(t, b.TLSURL, who{certDir: filepath.Join(pki, "shutdownall")}, "resourceavailable/nas/presence")
	state := t.TempDir()
	args := append(packagedArgs(t, "stormguard-agent.service", agent),
		"-brokers", b.TLSURL, "-cert", filepath.Join(pki, "nas"), "-name", "nas",
		"-state-dir", state, "-dry-run", "-warn-cmd", "")
	cmd := exec.Command(agent, args...)
	var (
		mu  sync.Mutex
		log bytes.Buffer
	)
	cmd.Stderr = lockedWriter{&mu, &log}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
		}
		if t.Failed() {
			mu.Lock()
			t.Logf("agent log:\n%s", log.String())
			mu.Unlock()
		}
	})
	select {
	case p := <-presence:
		if p != "True" {
			t.Fatalf("agent presence %q, want True", p)
		}
	case err := <-exited:
		t.Fatalf("agent exited: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("the agent never announced itself through the repository's broker configuration")
	}

	acks, _ := mustConnect(t, b.TLSURL, who{certDir: filepath.Join(pki, "shutdownall")}, "stormguard/ack/nas")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	run := exec.CommandContext(ctx, shutdownall, "-config", "etc/shutdownall.yaml",
		"-brokers", b.TLSURL, "-cert", filepath.Join(pki, "shutdownall"),
		"-target", "nas", "-wait", "30s", "storm", "drill")
	out, err := run.CombinedOutput()
	if err != nil {
		t.Fatalf("shutdownall -wait: %v\n%s", err, out)
	}
	if !regexp.MustCompile(`(?m)^nas +done \(dry run\) +dry run: would run systemctl poweroff -i +\d+ms$`).Match(out) ||
		!strings.Contains(string(out), "all 1 host(s) confirmed") {
		t.Errorf("shutdownall -wait did not report nas's dry run:\n%s", out)
	}
	// The dry run's outcome names the packaged power command.
	const want = "dry run: would run systemctl poweroff -i"
	for done := false; !done; {
		select {
		case a := <-acks:
			done = strings.Contains(a, want)
		case <-time.After(20 * time.Second):
			t.Fatalf("no ack saying %q", want)
		}
	}
	journal, err := os.ReadFile(filepath.Join(state, "journal.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(journal), "storm drill") {
		t.Errorf("the agent's journal does not hold the reason %q:\n%s", "storm drill", journal)
	}
}
