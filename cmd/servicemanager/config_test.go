package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/stormguard/stormguard/cmd/internal/cli"
	"github.com/stormguard/stormguard/heartbeat"
	"github.com/stormguard/stormguard/presence"
	"github.com/stormguard/stormguard/wire"
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
		"usage: servicemanager [-h] [-v] [-version] [-host HOST] [-port PORT] [-cert DIR] [-qos {0,1,2}]",
		"  -h            show this help message and exit",
		"  -v            increase verbosity; repeatable (-v -v or -vv shows every message)",
		"  -version      print the version and exit",
		"  -host HOST    broker host name (default localhost)",
		"  -port PORT    broker port (default 1883)",
		"  -cert DIR     TLS with a client certificate: DIR holds ca_public_certificate.pem,",
		"                public_certificate.pem and private_key.pem; without it, no TLS",
		"  -qos {0,1,2}  MQTT quality of service (default 0)",
		"-state file",
		"-heartbeat often",
		"-max-resources resources",
		"-max-topics topics",
	} {
		if !strings.Contains(stdout.String(), line+"\n") {
			t.Errorf("-h output lacks %q:\n%s", line, stdout.String())
		}
	}
}

// TestDefaults: the defaults are the deploy configuration's: every False
// retained, heartbeats on, limits large.
func TestDefaults(t *testing.T) {
	cfg, err := loadConfig(nil, &strings.Builder{}, &strings.Builder{})
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.AlwaysRetain || cfg.Heartbeat != heartbeat.DefaultInterval || cfg.Misses != wire.DefaultMisses ||
		cfg.MaxResources != presence.DefaultMaxResources || cfg.MaxTopics != presence.DefaultMaxTopics {
		t.Errorf("defaults %+v", cfg)
	}
	cfg, err = loadConfig([]string{"-always-retain=false"}, &strings.Builder{}, &strings.Builder{})
	if err != nil || cfg.AlwaysRetain {
		t.Errorf("-always-retain=false: %v, %v", cfg.AlwaysRetain, err)
	}
}

// TestExitStatus runs the built program: a value out of range is a usage
// error (2), as with the original's argparse; -h is 0.
func TestExitStatus(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"-h"}, 0},
		{[]string{"-qos", "3"}, 2},
		{[]string{"-bogus"}, 2},
		{[]string{"-port", "70000"}, 2},
	} {
		cmd := exec.Command(os.Args[0], tc.args...)
		cmd.Env = append(os.Environ(), runMainEnv+"=1")
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != tc.code {
			t.Errorf("servicemanager %q exited %d, want %d", tc.args, code, tc.code)
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
		{args: []string{"-qos", "3"}, usage: true, want: "qos: 3"},
		{args: []string{"-qos", "high"}, usage: true},
		{args: []string{"-port", "0"}, usage: true, want: "port: 0"},
		{args: []string{"-name", "a/b"}, usage: true, want: "name:"},
		{args: []string{"-topic-prefix", "a/#"}, usage: true, want: "topic-prefix"},
		{args: []string{"-heartbeat", "1ms"}, usage: true, want: "heartbeat"},
		{args: []string{"-heartbeat-misses", "0"}, usage: true, want: "heartbeat-misses"},
		{args: []string{"-max-topics", "0"}, usage: true, want: "max-topics"},
		{args: []string{"-max-resources", "-1"}, usage: true, want: "max-resources"},
		{args: []string{"-vx"}, usage: true},
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
		{args: []string{"-vv"}, debug: true, everything: true},
		{args: []string{"-vvv"}, debug: true, everything: true},
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
