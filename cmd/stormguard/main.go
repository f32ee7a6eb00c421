// Command stormguard watches lightning sources for one site and tells the
// fleet to power down, over MQTT, before the storm arrives.
package main

import (
	"context"
	"os"

	"github.com/stormguard/stormguard/cmd/internal/cli"
)

func main() {
	cli.Main("stormguard -h lists the subcommands, stormguard <subcommand> -h their settings",
		func(ctx context.Context, args []string) error { return Run(ctx, args, os.Stdout) })
}
