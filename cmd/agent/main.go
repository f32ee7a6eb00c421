// Command agent runs on every host: it obeys SHUTDOWN, REBOOT and CANCEL
// from the broker, journals every message and runs the power command.
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
	err := Run(ctx, os.Args[1:])
	if errors.Is(err, cli.ErrHelp) || errors.Is(err, cli.ErrVersion) {
		return
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		fmt.Fprintln(os.Stderr, "hint: agent -h lists the settings")
		os.Exit(1)
	}
}
