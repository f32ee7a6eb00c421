package mqtttest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// MosquittoOptions configures the one listener of a test Mosquitto.
type MosquittoOptions struct {
	// PasswordFile turns anonymous access off and checks these users.
	PasswordFile string
	// ACLFile applies topic rules per user.
	ACLFile string
	// TLS, when set, makes the listener speak TLS with these PEM files.
	TLS *TLSFiles
	// Extra lines appended to the generated configuration.
	Extra string
}

// TLSFiles names the broker's certificate files.
type TLSFiles struct {
	CA, Cert, Key string
	// RequireCert asks every client for a certificate signed by CA and uses
	// its common name as the user name for the ACL.
	RequireCert bool
}

// MosquittoPath returns the mosquitto binary, or "" when it is not installed.
func MosquittoPath() string {
	for _, p := range []string{"/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("mosquitto"); err == nil {
		return p
	}
	return ""
}

// SkipWithoutMosquitto skips the test when Mosquitto is not installed, or
// fails it when STORMGUARD_REQUIRE_MOSQUITTO=1.
func SkipWithoutMosquitto(t testing.TB) string {
	t.Helper()
	p := MosquittoPath()
	if p == "" {
		if requireMosquitto() {
			t.Fatalf("mosquitto is required (%s=1) but not installed: apt-get install mosquitto mosquitto-clients", RequireMosquittoEnv)
		}
		t.Skip("mosquitto not installed (apt-get install mosquitto mosquitto-clients); skipping")
	}
	return p
}

// Mosquitto starts Mosquitto on a loopback port with persistence on, under
// t.TempDir(). It skips the test when Mosquitto is not installed.
func Mosquitto(t testing.TB, o MosquittoOptions) *Broker {
	t.Helper()
	bin := SkipWithoutMosquitto(t)
	dir := t.TempDir()
	// Mosquitto run as root drops to user mosquitto and could not read our files.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b := &Broker{Name: "mosquitto"}
	var (
		mu  sync.Mutex
		cmd *exec.Cmd
		log bytes.Buffer
	)
	port := 0
	confPath := filepath.Join(dir, "mosquitto.conf")
	start := func(t testing.TB) {
		t.Helper()
		for attempt := 0; ; attempt++ {
			if port == 0 || attempt > 0 {
				port = FreePort(t)
			}
			if err := os.WriteFile(confPath, []byte(mosquittoConf(dir, port, o)), 0o644); err != nil {
				t.Fatal(err)
			}
			c := exec.Command(bin, "-c", confPath)
			mu.Lock()
			log.Reset()
			c.Stdout = &syncWriter{mu: &mu, w: &log}
			c.Stderr = c.Stdout
			mu.Unlock()
			if err := c.Start(); err != nil {
				t.Fatalf("start mosquitto: %v", err)
			}
			exited := make(chan struct{})
			go func() { c.Wait(); close(exited) }()
			b.Addr = fmt.Sprintf("127.0.0.1:%d", port)
			scheme := "tcp"
			if o.TLS != nil {
				scheme = "ssl"
			}
			b.URL = fmt.Sprintf("%s://%s", scheme, b.Addr)
			err := waitListening(b.Addr, 10*time.Second)
			select {
			case <-exited:
				mu.Lock()
				out := log.String()
				mu.Unlock()
				if attempt < 3 && strings.Contains(out, "Address already in use") {
					continue
				}
				t.Fatalf("mosquitto exited at start:\n%s", out)
			default:
			}
			if err != nil {
				c.Process.Kill()
				t.Fatal(err)
			}
			cmd = c
			b.stopped = exited
			return
		}
	}
	stop := func(sig syscall.Signal) {
		if cmd == nil {
			return
		}
		cmd.Process.Signal(sig)
		select {
		case <-b.stopped:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-b.stopped
		}
		cmd = nil
	}
	b.start = func(t testing.TB) {
		keep := port
		start(t)
		if port != keep {
			t.Logf("mosquitto came back on port %d (was %d)", port, keep)
		}
	}
	b.kill = func(testing.TB) { stop(syscall.SIGKILL) }
	b.restart = func(t testing.TB) { stop(syscall.SIGTERM); b.start(t) }
	start(t)
	t.Cleanup(func() {
		stop(syscall.SIGTERM)
		if t.Failed() {
			mu.Lock()
			t.Logf("mosquitto log:\n%s", log.String())
			mu.Unlock()
		}
	})
	return b
}

func mosquittoConf(dir string, port int, o MosquittoOptions) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "per_listener_settings false\npersistence true\npersistence_location %s/\nautosave_interval 1\nlog_dest stderr\nlog_type error\nlog_type warning\n", dir)
	if os.Geteuid() == 0 {
		sb.WriteString("user root\n")
	}
	fmt.Fprintf(&sb, "listener %d 127.0.0.1\n", port)
	if o.PasswordFile != "" {
		fmt.Fprintf(&sb, "allow_anonymous false\npassword_file %s\n", o.PasswordFile)
	} else if o.TLS != nil && o.TLS.RequireCert {
		sb.WriteString("allow_anonymous false\n")
	} else {
		sb.WriteString("allow_anonymous true\n")
	}
	if o.ACLFile != "" {
		fmt.Fprintf(&sb, "acl_file %s\n", o.ACLFile)
	}
	if o.TLS != nil {
		fmt.Fprintf(&sb, "cafile %s\ncertfile %s\nkeyfile %s\n", o.TLS.CA, o.TLS.Cert, o.TLS.Key)
		if o.TLS.RequireCert {
			sb.WriteString("require_certificate true\nuse_identity_as_username true\n")
		}
	}
	sb.WriteString(o.Extra)
	return sb.String()
}

type syncWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// MosquittoWithUser runs Mosquitto with anonymous access off and one user,
// whose password file mosquitto_passwd writes.
func MosquittoWithUser(t testing.TB, user, password string) *Broker {
	t.Helper()
	SkipWithoutMosquitto(t)
	dir := t.TempDir()
	// Mosquitto run as root drops to user mosquitto and must read the file.
	os.Chmod(dir, 0o755)
	pw := filepath.Join(dir, "passwd")
	if out, err := exec.Command("mosquitto_passwd", "-c", "-b", pw, user, password).CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_passwd: %v %s", err, out)
	}
	os.Chmod(pw, 0o644)
	return Mosquitto(t, MosquittoOptions{PasswordFile: pw})
}
