package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/stormguard/stormguard/cmd/internal/cli"
	"github.com/stormguard/stormguard/heartbeat"
	"github.com/stormguard/stormguard/mqtt"
	"github.com/stormguard/stormguard/presence"
	"github.com/stormguard/stormguard/wire"
)

// Config is everything the manager reads from its command line,
// environment (STORMGUARD_SERVICEMANAGER_*) and config file.
type Config struct {
	cli.Conn `mapstructure:",squash"`
	// Name is the manager's own resource name on the network.
	Name string `mapstructure:"name"`
	// ClientID is its MQTT client id; default servicemanager-<hostname>.
	ClientID string `mapstructure:"client-id"`
	// State is a file that keeps the picture across restarts; empty keeps none.
	State string `mapstructure:"state"`
	// AlwaysRetain publishes every False retained (see presence.Config).
	AlwaysRetain bool `mapstructure:"always-retain"`
	// MaxResources and MaxTopics are the registry's caps (presence.Config).
	MaxResources int `mapstructure:"max-resources"`
	MaxTopics    int `mapstructure:"max-topics"`
	// Heartbeat is how often the manager beats; 0 turns it off.
	Heartbeat time.Duration `mapstructure:"heartbeat"`
	// Misses is how many beats a resource that beats may miss before the
	// manager marks it gone.
	Misses int `mapstructure:"heartbeat-misses"`
}

// Validate reports the first bad setting, naming its flag.
func (c Config) Validate() error {
	if err := c.Conn.Validate(); err != nil {
		return err
	}
	if err := wire.ValidName(c.Name); err != nil {
		return fmt.Errorf("name: %w", err)
	}
	switch {
	case c.MaxResources < 1:
		return fmt.Errorf("max-resources: %d is not positive", c.MaxResources)
	case c.MaxTopics < 1:
		return fmt.Errorf("max-topics: %d is not positive", c.MaxTopics)
	case c.Misses < 1:
		return fmt.Errorf("heartbeat-misses: %d is not positive", c.Misses)
	}
	return heartbeat.Config{Interval: c.Heartbeat}.Validate()
}

// usageHead is the issue's own help text; the shared flags follow it.
const usageHead = `usage: servicemanager [-h] [-v] [-version] [-host HOST] [-port PORT] [-cert DIR] [-qos {0,1,2}]

Tracks which resources are online from resourceavailable/<res>/presence (True
when a resource starts, False from its last will) and, when a resource's
presence turns False, publishes False on every dataavailable/<res>/<x> and
commandavailable/<res>/<y> topic it had announced.

  -h            show this help message and exit
  -v            increase verbosity; repeatable (-v -v or -vv shows every message)
  -version      print the version and exit
  -host HOST    broker host name (default localhost)
  -port PORT    broker port (default 1883)
  -cert DIR     TLS with a client certificate: DIR holds ` + mqtt.CAFile + `,
                ` + mqtt.CertFile + ` and ` + mqtt.KeyFile + `; without it, no TLS
  -qos {0,1,2}  MQTT quality of service (default 0)

more flags:
`

var headFlags = map[string]bool{"h": true, "v": true, "version": true, "host": true, "port": true, "cert": true, "qos": true}

// loadConfig reads the settings; it returns cli.ErrHelp or cli.ErrVersion
// when it has printed what was asked for.
// Help and the version go to stdout, mistakes to stderr.
func loadConfig(args []string, stdout, stderr io.Writer) (Config, error) {
	l := cli.NewLoader("servicemanager", "", "[flags]", "STORMGUARD_SERVICEMANAGER", stdout)
	l.Summary = "servicemanager tracks" + strings.TrimPrefix(strings.SplitN(usageHead, "\n\n", 3)[1], "Tracks") // for the man page
	cli.AddConnFlags(l.FS, 0)
	l.FS.String("name", "servicemanager", "the manager's own resource `name` on resourceavailable/<name>/presence")
	l.FS.String("client-id", "", "MQTT client `id` (default servicemanager-<hostname>)")
	l.FS.String("state", "", "keep the picture in this `file` across restarts (topics announced without the retain flag are otherwise forgotten)")
	l.FS.Bool("always-retain", true, "publish every False retained, also for topics only seen live (MQTT 3.1.1 does not tell a subscriber whether a live message was published retained); -always-retain=false retains only Falses for topics seen retained")
	l.FS.Int("max-resources", presence.DefaultMaxResources, "track at most this many `resources`; when reached, a warning, the state topic says so, and new names are not tracked")
	l.FS.Int("max-topics", presence.DefaultMaxTopics, "track at most this many data and command `topics` per resource; when reached, as -max-resources")
	l.FS.Duration("heartbeat", heartbeat.DefaultInterval, "publish a heartbeat on stormguard/heartbeat/<name> this `often`; 0 turns it off")
	l.FS.Int("heartbeat-misses", wire.DefaultMisses, "mark a resource that beats gone after this many `beats` missed in a row, as its will would (for brokers that lose wills)")
	l.Help = func(w io.Writer) { usage(l.FS, w) }
	var cfg Config
	rest, err := l.Load(expandV(args), &cfg)
	if err != nil {
		return Config{}, usageError(err)
	}
	if len(rest) > 0 {
		return Config{}, usageError(fmt.Errorf("unexpected arguments %q", rest))
	}
	if cfg.ClientID == "" {
		host, err := os.Hostname()
		if err != nil || host == "" {
			host = "unknown"
		}
		cfg.ClientID = "servicemanager-" + strings.NewReplacer("/", "-", "+", "-", "#", "-").Replace(host)
	}
	if err := cfg.Validate(); err != nil {
		// A value out of range is a usage error, as argparse's choices are.
		fmt.Fprintf(stderr, "servicemanager: %v\n", err)
		return Config{}, usageError(err)
	}
	return cfg, nil
}

func usage(fs *flag.FlagSet, out io.Writer) {
	io.WriteString(out, usageHead)
	more := flag.NewFlagSet("", flag.ContinueOnError)
	more.SetOutput(out)
	fs.VisitAll(func(f *flag.Flag) {
		if !headFlags[f.Name] {
			more.Var(f.Value, f.Name, f.Usage)
		}
	})
	more.PrintDefaults()
	io.WriteString(out, "\nEvery flag can also be set in the -config file under its own name, or in the\nenvironment as STORMGUARD_SERVICEMANAGER_<NAME> (upper case, dashes as underscores).\n")
}

// expandV spells argparse's -vv and -vvv as -v -v and -v -v -v, which the
// flag package understands.
func expandV(args []string) []string {
	out := make([]string, 0, len(args))
	for i, a := range args {
		if a == "--" {
			return append(out, args[i:]...)
		}
		if len(a) > 2 && strings.Trim(a[1:], "v") == "" && a[0] == '-' {
			for range len(a) - 1 {
				out = append(out, "-v")
			}
			continue
		}
		out = append(out, a)
	}
	return out
}
