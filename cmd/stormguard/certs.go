package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/stormguard/stormguard/certs"
	"github.com/stormguard/stormguard/cmd/internal/cli"
	"github.com/stormguard/stormguard/wire"
)

const certsUsage = `usage: stormguard certs [-dir DIR] [-broker HOST[,HOST...]] [-days N] NAME...

Makes the certificates for mutual TLS, without openssl: a CA (created once in
DIR/ca, reused after), a server certificate for the broker host(s) in
DIR/broker, and one client directory per NAME in DIR/NAME holding
ca_public_certificate.pem, public_certificate.pem and private_key.pem (0600),
the layout every program's -cert flag reads. A client certificate's common
name is NAME: with Mosquitto's use_identity_as_username it is the user name
the ACL sees (see deploy/mosquitto/): name an agent's certificate after
its host (its -name), and the other programs stormguard, shutdownall and
servicemanager.

example:
  stormguard certs -dir /etc/stormguard/pki -broker broker.lan,192.168.1.2 stormguard shutdownall servicemanager nas pi3
`

// runCerts makes the certificates a fleet needs (stormguard certs).
func runCerts(_ context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("stormguard certs", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	dir := fs.String("dir", "pki", "`directory` for the CA and every certificate directory")
	broker := fs.String("broker", "", "broker `hosts` (DNS names or IP addresses, comma-separated) for the server certificate")
	days := fs.Int("days", 3650, "validity of new certificates in `days`")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(out, certsUsage, "\nflags:\n")
			fs.SetOutput(out)
			fs.PrintDefaults()
			return cli.ErrHelp
		}
		return &cli.UsageError{Err: err}
	}
	names := fs.Args()
	if *broker == "" && len(names) == 0 {
		return cli.Usagef("certs: give -broker and/or at least one client NAME")
	}
	for _, n := range names {
		if err := wire.ValidName(n); err != nil {
			return fmt.Errorf("certs: %w", err)
		}
		if n == "ca" || n == "broker" {
			return fmt.Errorf("certs: %q is the name of a directory certs uses itself", n)
		}
	}
	if *days <= 0 {
		return errors.New("certs: -days must be positive")
	}
	validity := time.Duration(*days) * 24 * time.Hour
	caDir := filepath.Join(*dir, "ca")
	ca, err := certs.LoadCA(caDir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if ca, err = certs.NewCA("stormguard CA", validity); err != nil {
			return err
		}
		if err := ca.WriteCA(caDir); err != nil {
			return fmt.Errorf("certs: %w", err)
		}
		fmt.Fprintf(out, "new CA in %s (keep ca_private_key.pem safe; it signs every certificate)\n", caDir)
	case err != nil:
		return err
	default:
		fmt.Fprintf(out, "using the CA in %s\n", caDir)
	}
	if *broker != "" {
		hosts := strings.Split(*broker, ",")
		if err := ca.WriteDir(filepath.Join(*dir, "broker"), hosts[0], hosts, validity); err != nil {
			return err
		}
		fmt.Fprintf(out, "broker certificate for %s in %s\n", strings.Join(hosts, ", "), filepath.Join(*dir, "broker"))
	}
	for _, n := range names {
		if err := ca.WriteDir(filepath.Join(*dir, n), n, nil, validity); err != nil {
			return err
		}
		fmt.Fprintf(out, "client certificate %s in %s\n", n, filepath.Join(*dir, n))
	}
	return nil
}
