package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stormguard/stormguard/certs"
	"github.com/stormguard/stormguard/internal/mqtttest"
	"github.com/stormguard/stormguard/mqtt"
)

// managerACL is what docs/servicemanager.md tells an administrator to
// allow the manager; the test fails if it is not enough.
const managerACL = `user servicemanager
topic readwrite resourceavailable/+/presence
topic read stormguard/heartbeat/+
topic readwrite dataavailable/#
topic readwrite commandavailable/#
topic write stormguard/heartbeat/servicemanager
topic write stormguard/state/servicemanager

user resource-foo
topic readwrite #
`

// TestTLSWithClientCertificates runs the original test over TLS with
// client certificates, against a Mosquitto that checks them and applies
// the documented ACL to the manager's certificate name. With
// -always-retain, the retained True a resource announced while the
// manager was listening is replaced by a retained False; that is the
// default.
func TestTLSWithClientCertificates(t *testing.T) {
	mqtttest.SkipWithoutMosquitto(t)
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	ca, err := certs.NewCA("stormguard test ca", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for name, hosts := range map[string][]string{"broker": {"127.0.0.1", "localhost"}, "servicemanager": nil, "resource-foo": nil} {
		if err := ca.WriteDir(filepath.Join(dir, name), name, hosts, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	bdir := filepath.Join(dir, "broker")
	os.Chmod(filepath.Join(bdir, certs.KeyFile), 0o644) // mosquitto may drop privileges
	acl := filepath.Join(dir, "acl")
	if err := os.WriteFile(acl, []byte(managerACL), 0o644); err != nil {
		t.Fatal(err)
	}
	b := mqtttest.Mosquitto(t, mqtttest.MosquittoOptions{ACLFile: acl, TLS: &mqtttest.TLSFiles{
		CA: filepath.Join(bdir, certs.CAFile), Cert: filepath.Join(bdir, certs.CertFile), Key: filepath.Join(bdir, certs.KeyFile), RequireCert: true}})

	resTLS, err := mqtt.LoadTLS(filepath.Join(dir, "resource-foo"))
	if err != nil {
		t.Fatal(err)
	}
	w := watch(t, b.URL, resTLS, "+/#")
	startManager(t, w, managerArgs(t, b, "sm-tls", "-cert", filepath.Join(dir, "servicemanager")))
	res := newClient(t, b.URL, resTLS, nil)
	startClient(t, res)

	mark := w.mark()
	publish(t, res, fooPresence, "True", true)
	publish(t, res, fooBar, "True", true)
	publish(t, res, fooBaz, "True", false)
	publish(t, res, fooPresence, "False", true)
	w.expect(t, mark, fooBar+" False", fooBaz+" False")
	mqtttest.WaitRetained(t, b.URL, resTLS, fooBar, "False")
}

// TestCertFiles: a manager whose certificate directory lacks a file, or
// has one it cannot use, does not start, and says which file.
func TestCertFiles(t *testing.T) {
	ca, err := certs.NewCA("test ca", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	full := filepath.Join(t.TempDir(), "full")
	if err := ca.WriteDir(full, "servicemanager", nil, time.Hour); err != nil {
		t.Fatal(err)
	}
	without := func(name string) string {
		d := filepath.Join(t.TempDir(), "partial")
		os.MkdirAll(d, 0o755)
		for _, f := range []string{certs.CAFile, certs.CertFile, certs.KeyFile} {
			if f != name {
				b, _ := os.ReadFile(filepath.Join(full, f))
				os.WriteFile(filepath.Join(d, f), b, 0o600)
			}
		}
		return d
	}
	garbled := without(certs.KeyFile)
	os.WriteFile(filepath.Join(garbled, certs.KeyFile), []byte("not a key"), 0o600)
	unreadable := without(certs.CAFile)
	os.Mkdir(filepath.Join(unreadable, certs.CAFile), 0o755) // a directory cannot be read as a file

	for _, tc := range []struct {
		name, dir, want string
	}{
		{"no such directory", filepath.Join(t.TempDir(), "nothere"), certs.CAFile},
		{"no CA", without(certs.CAFile), certs.CAFile},
		{"no certificate", without(certs.CertFile), certs.CertFile},
		{"no key", without(certs.KeyFile), certs.KeyFile},
		{"garbled key", garbled, certs.KeyFile},
		{"unreadable CA", unreadable, certs.CAFile},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Nothing listens there: the error must come before any connecting.
			port := mqtttest.FreePort(t)
			ctx, cancel := context.WithTimeout(context.Background(), within)
			defer cancel()
			var out strings.Builder
			err := (&Main{Stdout: &out, Stderr: &out}).Run(ctx, []string{"-host", "127.0.0.1", "-port", itoa(port), "-cert", tc.dir})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.dir) {
				t.Errorf("Run with -cert %s: error %v, want one naming %s in that directory", tc.dir, err, tc.want)
			}
		})
	}
}
