package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"

	"github.com/stormguard/stormguard/certs"
	"github.com/stormguard/stormguard/mqtt"
)

func TestCertsMakesAFleet(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	if err := runCerts(context.Background(), []string{"-dir", dir, "-broker", "broker.lan,127.0.0.1", "agent-nas", "shutdownall"}, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, d := range []string{"broker", "agent-nas", "shutdownall"} {
		fi, err := os.Stat(filepath.Join(dir, d, certs.KeyFile))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s key: %v, mode %v; want 0600", d, err, fi.Mode().Perm())
		}
		if _, err := mqtt.LoadTLS(filepath.Join(dir, d)); err != nil {
			t.Errorf("%s is not a usable -cert directory: %v", d, err)
		}
	}
	b, _ := os.ReadFile(filepath.Join(dir, "agent-nas", certs.CertFile))
	blk, _ := pem.Decode(b)
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil || c.Subject.CommonName != "agent-nas" {
		t.Errorf("client certificate CN = %v, %v; want agent-nas", c.Subject.CommonName, err)
	}
	// A second run reuses the CA: earlier certificates stay valid.
	caBefore, _ := os.ReadFile(filepath.Join(dir, "ca", "ca.pem"))
	if err := runCerts(context.Background(), []string{"-dir", dir, "agent-pi3"}, &out); err != nil {
		t.Fatal(err)
	}
	caAfter, _ := os.ReadFile(filepath.Join(dir, "agent-pi3", certs.CAFile))
	if !bytes.Equal(caBefore, caAfter) {
		t.Error("second run made a new CA; existing hosts would stop trusting the broker")
	}
	for _, bad := range [][]string{{"-dir", dir}, {"-dir", dir, "a/b"}, {"-dir", dir, "ca"}, {"-dir", dir, "-days", "0", "x"}} {
		if err := runCerts(context.Background(), bad, &out); err == nil {
			t.Errorf("certs %q accepted", bad)
		}
	}
}
