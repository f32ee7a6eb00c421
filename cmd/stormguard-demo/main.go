// Command stormguard-demo plays the whole stormguard story on one machine
// with nothing installed. It is a separate program so that its embedded
// broker (nats-server) stays out of the binaries that are shipped.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/stormguard/stormguard/cmd/internal/cli"
	"github.com/stormguard/stormguard/internal/demo"
)

const summary = `stormguard-demo plays the whole story on this machine, with nothing installed
and no network: an embedded MQTT broker on a loopback port, a recorded storm
replayed fast, three real agents in dry run, a first countdown called off by a
CANCEL, a second one that fires, the acks, the all clear. The timeline is
printed as it happens; it exits 0 once every step happened, 1 otherwise.

It is not part of the packages: build it from the source (go run ./cmd/stormguard-demo).`

func main() {
	cli.Main("stormguard-demo -h lists the settings", func(ctx context.Context, args []string) error {
		return run(ctx, args, os.Stdout)
	})
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("stormguard-demo", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	speed := fs.Float64("speed", 120, "play the recorded storm this many times faster than it happened")
	grace := fs.Duration("grace", 0, "countdown of each SHUTDOWN (default 5s)")
	verbose := fs.Int("v", 0, "1 logs every component to standard error")
	version := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			fmt.Fprintf(out, "usage: stormguard-demo [flags]\n\n%s\n\nflags:\n", summary)
			fs.SetOutput(out)
			fs.PrintDefaults()
			return cli.ErrHelp
		}
		return &cli.UsageError{Err: err}
	}
	if *version {
		fmt.Fprintf(out, "stormguard-demo %s\n", cli.Version)
		return cli.ErrVersion
	}
	if fs.NArg() > 0 {
		return cli.Usagef("unexpected argument %q", fs.Arg(0))
	}
	opts := demo.Options{Speed: *speed, Grace: *grace}
	if *verbose > 0 {
		opts.Logger = cli.Logger(*verbose)
	}
	return demo.Run(ctx, out, opts)
}
