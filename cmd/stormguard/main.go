// Command stormguard watches lightning sources for one site and tells the
// fleet to power down, over MQTT, before the storm arrives.
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
		fmt.Fprintln(os.Stderr, "hint: stormguard -h lists the subcommands, stormguard <subcommand> -h their settings")
		os.Exit(1)
	}
}
