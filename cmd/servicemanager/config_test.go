package main

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"testing"

	"github.com/stormguard/stormguard/cmd/internal/cli"
)

func itoa(n int) string { return strconv.Itoa(n) }

// TestHelp: -h prints the usage with its spellings, on stdout.
func TestHelp(t *testing.T) {
	var stdout, stderr strings.Builder
	err := (&Main{Stdout: &stdout, Stderr: &stderr}).Run(context.Background(), []string{"-h"})
	if !errors.Is(err, cli.ErrHelp) {
		t.Fatalf("Run(-h) = %v, want ErrHelp", err)
	}
	for _, line := range []string{
		"usage: servicemanager [-h] [-v] [-version] [-host HOST] [-port PORT] [-cert CERT] [-qos {0,1,2}]",
		"  -h            show this help message and exit",
		"  -v            increase verbosity; repeatable",
		"  -version      print the version and exit",
		"  -host HOST    broker host name (default localhost)",
		"  -port PORT    broker port (default 1883)",
		"  -cert CERT    directory of certificate files; without it, no TLS",
		"  -qos {0,1,2}  MQTT quality of service (default 0)",
		"-state file",
	} {
		if !strings.Contains(stdout.String(), line+"\n") {
			t.Errorf("-h output lacks %q:\n%s", line, stdout.String())
		}
	}
}

func TestVersion(t *testing.T) {
	var stdout, stderr strings.Builder
	err := (&Main{Stdout: &stdout, Stderr: &stderr}).Run(context.Background(), []string{"-version"})
	if !errors.Is(err, cli.ErrVersion) || !strings.HasPrefix(stdout.String(), "servicemanager ") {
		t.Errorf("Run(-version) = %v, printed %q", err, stdout.String())
	}
}

func TestBadCommandLines(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		usage bool   // a flag error, exit status 2
		want  string // in the error
	}{
		{args: []string{"-qos", "3"}, want: "qos: 3"},
		{args: []string{"-qos", "high"}, usage: true},
		{args: []string{"-port", "0"}, want: "port: 0"},
		{args: []string{"-name", "a/b"}, want: "name:"},
		{args: []string{"-topic-prefix", "a/#"}, want: "topic-prefix"},
		{args: []string{"-bogus"}, usage: true},
		{args: []string{"extra"}, usage: true},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out strings.Builder
			err := (&Main{Stdout: &out, Stderr: &out}).Run(context.Background(), tc.args)
			switch {
			case err == nil:
				t.Fatal("accepted")
			case tc.usage != errors.Is(err, errUsage):
				t.Errorf("error %v: usage error = %v, want %v", err, errors.Is(err, errUsage), tc.usage)
			case !strings.Contains(err.Error(), tc.want):
				t.Errorf("error %v does not say %q", err, tc.want)
			}
		})
	}
}

// TestVerbosity: warnings always show, debug lines with -v, every message
// with -v -v.
func TestVerbosity(t *testing.T) {
	for _, tc := range []struct {
		args              []string
		debug, everything bool
	}{
		{args: nil},
		{args: []string{"-v"}, debug: true},
		{args: []string{"-v", "-v"}, debug: true, everything: true},
	} {
		cfg, err := loadConfig(tc.args, &strings.Builder{}, &strings.Builder{})
		if err != nil {
			t.Fatal(err)
		}
		log := newLogger(cfg, &strings.Builder{})
		ctx := context.Background()
		if !log.Enabled(ctx, slog.LevelWarn) || !log.Enabled(ctx, slog.LevelInfo) {
			t.Errorf("%q: warnings or info hidden", tc.args)
		}
		if got := log.Enabled(ctx, slog.LevelDebug); got != tc.debug {
			t.Errorf("%q: debug shown = %v, want %v", tc.args, got, tc.debug)
		}
		if got := log.Enabled(ctx, levelTrace); got != tc.everything {
			t.Errorf("%q: every message shown = %v, want %v", tc.args, got, tc.everything)
		}
	}
}
