package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/stormguard/stormguard/cmd/internal/cli"
)

const usage = `usage: stormguard [run] -config stormguard.yaml [flags]
       stormguard check -config stormguard.yaml
       stormguard certs ...

stormguard watches lightning sources around one site and, when strikes come
inside the shutdown radius, publishes SHUTDOWN with a reason and a grace
countdown to every agent; anyone can call it off on CANCEL.

subcommands:
  run     watch and act (the default when the first argument is a flag)
  check   validate the config and ask each source once, printing what it sees
  certs   make the certificates a fleet needs

"stormguard <subcommand> -h" explains each one.
`

// Run dispatches to the subcommand named by args[0]; run is the default.
func Run(ctx context.Context, args []string, out io.Writer) error {
	sub := "run"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		sub, args = args[0], args[1:]
	} else if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
		fmt.Fprint(out, usage)
		return cli.ErrHelp
	}
	switch sub {
	case "run":
		return runDaemon(ctx, args, out)
	case "check":
		return runCheck(ctx, args, out)
	case "certs":
		return runCerts(ctx, args, out)
	case "help":
		fmt.Fprint(out, usage)
		return nil
	}
	if sub == "demo" {
		return cli.Usagef("the demo is its own program: go run ./cmd/stormguard-demo")
	}
	return cli.Usagef("unknown subcommand %q (want run, check or certs)", sub)
}
