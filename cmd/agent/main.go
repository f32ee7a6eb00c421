// Command agent runs on every host: it obeys SHUTDOWN, REBOOT and CANCEL
// from the broker, journals every message and runs the power command.
package main

import (
	"os"
	"runtime"

	"github.com/stormguard/stormguard/cmd/internal/cli"
)

func main() {
	// The agent waits on the network and the disk; one thread running Go
	// code is plenty, and fewer threads waking per command cost less CPU
	// (about a sixth less per command, docs/benchmarks.md). GOMAXPROCS in
	// the environment still decides.
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
	cli.Main("agent -h lists the settings", Run)
}
