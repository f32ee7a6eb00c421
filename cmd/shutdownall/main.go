// Command shutdownall publishes SHUTDOWN, REBOOT or CANCEL to the fleet by
// hand (the words on its command line are the reason), waits for the
// hosts' acknowledgements, and shows the fleet's status.
package main

import (
	"context"
	"os"

	"github.com/stormguard/stormguard/cmd/internal/cli"
)

func main() {
	cli.Main("shutdownall -h lists the settings", func(ctx context.Context, args []string) error {
		return Run(ctx, args, os.Stdout)
	})
}
