// Command shutdownall publishes SHUTDOWN, REBOOT or CANCEL to the fleet by
// hand (the words on its command line are the reason), waits for the
// hosts' acknowledgements, and shows the fleet's status.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/stormguard/stormguard/cmd/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := Run(ctx, os.Args[1:], os.Stdout)
	if errors.Is(err, cli.ErrHelp) || errors.Is(err, cli.ErrVersion) {
		return
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		var se *silentError
		if !errors.As(err, &se) {
			fmt.Fprintln(os.Stderr, "hint: shutdownall -h lists the settings")
		}
		os.Exit(1)
	}
}
