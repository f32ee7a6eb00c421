package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stormguard/stormguard/internal/mqtttest"
)

func runCheckArgs(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := Run(t.Context(), append([]string{"check", "-listen", "300ms", "-state-dir", t.TempDir()}, args...), &out)
	return out.String(), err
}

func TestCheckConnectsToTheFleetBroker(t *testing.T) {
	b := mqtttest.NATS(t)
	host, port, _ := net.SplitHostPort(b.Addr)
	cfg := writeConfig(t, "  - {type: blitzortung, broker: \""+b.URL+"\"}\n")

	out, err := runCheckArgs(t, "-config", cfg, "-host", host, "-port", port)
	if err != nil || !strings.Contains(out, "fleet broker: connected to tcp://"+b.Addr) || !strings.Contains(out, "so SHUTDOWN may be published") {
		t.Errorf("broker up: %v\n%s", err, out)
	}

	dead := fmt.Sprint(mqtttest.FreePort(t))
	out, err = runCheckArgs(t, "-config", cfg, "-host", "127.0.0.1", "-port", dead)
	if err == nil || !strings.Contains(out, "cannot connect") || !strings.Contains(out, "refused") {
		t.Errorf("broker down: %v\n%s", err, out)
	}
}

// With the repository's ACL, stormguard may publish commands and an
// agent's identity may not: check says which.
func TestCheckSaysWhatTheACLAllows(t *testing.T) {
	mqtttest.SkipWithoutMosquitto(t)
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	pw := filepath.Join(dir, "passwd")
	for i, user := range []string{"stormguard", "nas"} {
		args := []string{"-b", pw, user, "secret"}
		if i == 0 {
			args = append([]string{"-c"}, args...)
		}
		if out, err := exec.Command("mosquitto_passwd", args...).CombinedOutput(); err != nil {
			t.Fatalf("mosquitto_passwd: %v %s", err, out)
		}
	}
	os.Chmod(pw, 0o644)
	acl, _ := filepath.Abs("../../deploy/mosquitto/stormguard.acl")
	b := mqtttest.Mosquitto(t, mqtttest.MosquittoOptions{PasswordFile: pw, ACLFile: acl})
	host, port, _ := net.SplitHostPort(b.Addr)
	secret := filepath.Join(dir, "secret")
	os.WriteFile(secret, []byte("secret\n"), 0o600)
	cfg := writeConfig(t, "  - {type: blitzortung, broker: \""+b.URL+"\", user: stormguard, password-file: \""+secret+"\"}\n")
	common := []string{"-config", cfg, "-host", host, "-port", port, "-password-file", secret}

	out, err := runCheckArgs(t, append(common, "-user", "stormguard")...)
	if err != nil || !strings.Contains(out, "as user stormguard") || !strings.Contains(out, "so SHUTDOWN may be published") {
		t.Errorf("as stormguard: %v\n%s", err, out)
	}
	t.Logf("%s", out)
	out, err = runCheckArgs(t, append(common, "-user", "nas")...)
	t.Logf("%s", out)
	if err == nil || !strings.Contains(out, "REFUSED") {
		t.Errorf("as an agent's identity: %v\n%s", err, out)
	}
	os.WriteFile(secret, []byte("wrong\n"), 0o600)
	out, err = runCheckArgs(t, append(common, "-user", "stormguard")...)
	if err == nil || !strings.Contains(out, "not authorised") {
		t.Errorf("wrong password: %v\n%s", err, out)
	}
}
