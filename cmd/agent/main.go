// Command agent runs on every host: it obeys SHUTDOWN, REBOOT and CANCEL
// from the broker, journals every message and runs the power command.
package main

import "github.com/stormguard/stormguard/cmd/internal/cli"

func main() { cli.Main("agent -h lists the settings", Run) }
