package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
)

// ExitCoder is an error that chooses the process's exit status.
type ExitCoder interface{ ExitCode() int }

// UsageError is a command line that makes no sense: exit status 2.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// ExitCode is 2, as for every usage error.
func (e *UsageError) ExitCode() int { return 2 }

// Usagef formats a UsageError.
func Usagef(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// ExitConfig is the exit status of a daemon whose configuration cannot be
// used (EX_CONFIG): the units name it in RestartPreventExitStatus, so an
// installed but unconfigured service fails once, with the error in the
// journal, instead of restarting every five seconds forever.
const ExitConfig = 78

// ConfigError is a configuration a daemon cannot start with.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// ExitCode is ExitConfig.
func (e *ConfigError) ExitCode() int { return ExitConfig }

// Configuration marks err, from loading a daemon's settings, as a
// ConfigError, unless it is -h, -version or already chooses its status.
func Configuration(err error) error {
	var ec ExitCoder
	if err == nil || errors.Is(err, ErrHelp) || errors.Is(err, ErrVersion) || errors.As(err, &ec) {
		return err
	}
	return &ConfigError{Err: err}
}

// Quiet marks an error whose message says all there is: no usage hint
// follows it (shutdownall naming the silent hosts, say).
type Quiet interface{ Quiet() bool }

// Main runs a program: run gets a context cancelled by SIGINT or SIGTERM
// and the arguments. An error is printed once, on one line, as "error: ..."
// with hint (unless it is Quiet); the process exits 2 for a UsageError,
// the code an ExitCoder chooses, else 1. -h and -version exit 0.
func Main(hint string, run func(ctx context.Context, args []string) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err == nil || errors.Is(err, ErrHelp) || errors.Is(err, ErrVersion) {
		return
	}
	fmt.Fprintf(os.Stderr, "error: %s\n", strings.ReplaceAll(err.Error(), "\n", "; "))
	var q Quiet
	if !errors.As(err, &q) || !q.Quiet() {
		first, rest, _ := strings.Cut(hint, " ")
		fmt.Fprintln(os.Stderr, "hint: "+Invoked(first)+" "+rest)
	}
	os.Exit(ExitCode(err))
}

// Invoked is the name the program was run by when that is program's
// installed name (the packages install agent as stormguard-agent), so
// usage lines and hints name the command the user typed; else program.
func Invoked(program string) string {
	name := filepath.Base(os.Args[0])
	name = strings.TrimSuffix(name, ".exe")
	if name == program || strings.HasSuffix(name, "-"+program) {
		return name
	}
	return program
}

// ExitCode is the exit status for err: 0 for nil, -h and -version, 2 for
// a usage error, what an ExitCoder says, else 1.
func ExitCode(err error) int {
	if err == nil || errors.Is(err, ErrHelp) || errors.Is(err, ErrVersion) {
		return 0
	}
	var ec ExitCoder
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	return 1
}
