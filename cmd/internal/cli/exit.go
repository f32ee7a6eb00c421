package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// Quiet marks an error whose message says all there is: no usage hint
// follows it (shutdownall naming the silent hosts, say).
type Quiet interface{ Quiet() bool }

// Main runs a program: run gets a context cancelled by SIGINT or SIGTERM
// and the arguments. An error is printed once as "error: ..." with hint
// (unless it is Quiet) and the process exits 1; -h and -version exit 0.
func Main(hint string, run func(ctx context.Context, args []string) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err == nil || errors.Is(err, ErrHelp) || errors.Is(err, ErrVersion) {
		return
	}
	fmt.Fprintf(os.Stderr, "error: %v\n", err)
	var q Quiet
	if !errors.As(err, &q) || !q.Quiet() {
		fmt.Fprintln(os.Stderr, "hint: "+hint)
	}
	os.Exit(1)
}
