// Command servicemanager tracks which resources are on the network from
// their presence topics and last wills, and marks the data and command
// topics of a resource that vanished as unavailable (False).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/stormguard/stormguard/cmd/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	m := &Main{Stdout: os.Stdout, Stderr: os.Stderr}
	err := m.Run(ctx, os.Args[1:])
	stop()
	switch {
	case err == nil, errors.Is(err, cli.ErrHelp), errors.Is(err, cli.ErrVersion):
	default:
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		if errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "hint: "+cli.Invoked("servicemanager")+" -h lists the settings")
			os.Exit(2)
		}
		os.Exit(cli.ExitCode(err))
	}
}

// errUsage marks a bad command line.
var errUsage = errors.New("usage")

func usageError(err error) error {
	if errors.Is(err, flag.ErrHelp) || errors.Is(err, cli.ErrVersion) {
		return err
	}
	return fmt.Errorf("%w: %w", errUsage, err)
}
