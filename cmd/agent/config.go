package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"time"

	"github.com/stormguard/stormguard/agent"
	"github.com/stormguard/stormguard/cmd/internal/cli"
	"github.com/stormguard/stormguard/heartbeat"
	"github.com/stormguard/stormguard/keys"
	"github.com/stormguard/stormguard/sdnotify"
	"github.com/stormguard/stormguard/wire"
)

const summary = `agent obeys SHUTDOWN, REBOOT and CANCEL from the MQTT broker on this host.
It journals every message (text kept) under -state-dir before acting, runs the
power command without a shell, never obeys a retained or repeated command, and
reports acks and presence. A command with a deadline is counted down and can be
cancelled from anywhere.`

type settings struct {
	cli.Conn      `mapstructure:",squash"`
	Name          string        `mapstructure:"name"`
	Groups        []string      `mapstructure:"group"`
	StateDir      string        `mapstructure:"state-dir"`
	ShutdownCmd   []string      `mapstructure:"shutdown-cmd"`
	RebootCmd     []string      `mapstructure:"reboot-cmd"`
	WarnCmd       []string      `mapstructure:"warn-cmd"`
	MaxAge        time.Duration `mapstructure:"max-age"`
	DryRun        bool          `mapstructure:"dry-run"`
	PublicKeys    []string      `mapstructure:"public-key"`
	RequireSigned bool          `mapstructure:"require-signed"`
	Retention     time.Duration `mapstructure:"journal-retention"`
	JournalMax    int64         `mapstructure:"journal-max-bytes"`
	Metrics       string        `mapstructure:"metrics"`
	Heartbeat     time.Duration `mapstructure:"heartbeat"`
	Stage         int           `mapstructure:"stage"`
	StageLimit    time.Duration `mapstructure:"stage-limit"`
	PreShutdown   []string      `mapstructure:"pre-shutdown-cmd"`
	PreTimeout    time.Duration `mapstructure:"pre-shutdown-timeout"`
	WakeOnLAN     bool          `mapstructure:"wake-on-lan"`
	WakeMAC       string        `mapstructure:"wake-mac"`
	WakeBroadcast string        `mapstructure:"wake-broadcast"`
}

func defaultPowerCmds() (shutdown, reboot, warn string) {
	switch runtime.GOOS {
	case "windows":
		return "shutdown /s /t 0", "shutdown /r /t 0", ""
	}
	return "shutdown -h now", "shutdown -r now", "wall"
}

func defaultStateDir() string {
	if runtime.GOOS == "windows" {
		return `C:\ProgramData\stormguard\agent`
	}
	return "/var/lib/stormguard-agent"
}

// load reads the agent's settings from args, the environment and -config.
func load(args []string, out io.Writer) (agent.Config, error) {
	cfg, _, err := loadSettings(args, out)
	return cfg, err
}

// loadSettings is load that also returns the settings outside agent.Config.
func loadSettings(args []string, out io.Writer) (agent.Config, settings, error) {
	l := cli.NewLoader("agent", summary, "[flags]", "STORMGUARD_AGENT", out)
	fs := l.FS
	cli.AddConnFlags(fs, 1)
	host, _ := os.Hostname()
	sd, rb, wall := defaultPowerCmds()
	fs.String("name", host, "this host's `name` in topics")
	fs.Var(new(cli.StringList), "group", "a `group` this host belongs to (SHUTDOWN/group/NAME); repeatable")
	fs.String("state-dir", defaultStateDir(), "`directory` for the journal (journal.jsonl)")
	fs.String("shutdown-cmd", sd, "power-off `argv`, split on white space, run without a shell (a list in the config file)")
	fs.String("reboot-cmd", rb, "reboot `argv`, split on white space, run without a shell")
	fs.String("warn-cmd", wall, "`argv` that gets a warning for logged-in users on its standard input; empty for none")
	fs.Duration("max-age", 5*time.Minute, "oldest command still obeyed: a command that may have waited in the broker's queue longer than this (the host was away) expires")
	fs.Bool("dry-run", false, "journal and ack what would run, run nothing")
	fs.Var(new(cli.StringList), "public-key", "Ed25519 public key `file` that signed commands are checked against; repeatable")
	fs.Bool("require-signed", false, "reject commands that are not signed by a -public-key (plain text included)")
	fs.Duration("journal-retention", 90*24*time.Hour, "how long the journal remembers a command id it acted on")
	fs.Int64("journal-max-bytes", 4<<20, "journal size at which it is rotated (the older generation is kept as journal.1.jsonl)")
	fs.String("metrics", "", "serve Prometheus metrics at /metrics on this `address`, e.g. 127.0.0.1:9101; off when empty")
	fs.Duration("heartbeat", heartbeat.DefaultInterval, "publish a heartbeat on stormguard/heartbeat/<name> this `often`, so the host is seen gone even where a clustered broker loses its will; 0 turns it off")
	fs.Int("stage", 0, "this host's `stage` in a staged power-down, 1 (first) to 9 (last): a countdown's deadline applies to stage 1, each later stage waits for the ones before it; 0 means 5, or 9 on the host that runs the broker")
	fs.Duration("stage-limit", agent.DefaultStageLimit, "how `long` this host's stage waits at most for each earlier stage to go")
	fs.String("pre-shutdown-cmd", "", "`argv` run without a shell before the power command (stop VMs, flush a database); its outcome is journaled and acked")
	fs.Duration("pre-shutdown-timeout", 2*time.Minute, "how `long` the pre-shutdown command may run before the power command goes ahead")
	fs.Bool("wake-on-lan", false, "announce this host's Wake-on-LAN address so stormguard can wake it after a storm (the interface used to reach the broker, unless -wake-mac)")
	fs.String("wake-mac", "", "Wake-on-LAN `MAC` address to announce instead of the detected one")
	fs.String("wake-broadcast", "", "broadcast `address` for Wake-on-LAN packets instead of the detected one")
	var s settings
	if _, err := l.Load(args, &s); err != nil {
		return agent.Config{}, s, err
	}
	if fs.NArg() > 0 {
		return agent.Config{}, s, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	pub, err := keys.LoadPublic(s.PublicKeys)
	if err != nil {
		return agent.Config{}, s, fmt.Errorf("public-key: %w", err)
	}
	m, err := s.Conn.MQTT("stormguard-agent-" + s.Name)
	if err != nil {
		return agent.Config{}, s, err
	}
	cfg := agent.Config{
		Policy: agent.Policy{Host: s.Name, Groups: s.Groups, Topics: s.Topics(), MaxAge: s.MaxAge,
			Keys: pub, RequireSigned: s.RequireSigned},
		MQTT: m, QoS: byte(s.QoS), StateDir: s.StateDir,
		ShutdownCmd: s.ShutdownCmd, RebootCmd: s.RebootCmd, WarnCmd: s.WarnCmd,
		DryRun: s.DryRun, Version: cli.Version, Logger: cli.Logger(s.Verbose), Heartbeat: s.Heartbeat,
		Retention: s.Retention, JournalLimit: s.JournalMax,
		Stages: agent.Stages{Stage: s.Stage, Limit: s.StageLimit}, PreShutdownCmd: s.PreShutdown, PreShutdownTimeout: s.PreTimeout,
	}
	if s.PreTimeout <= 0 {
		return agent.Config{}, s, fmt.Errorf("pre-shutdown-timeout: must be positive")
	}
	if s.StageLimit <= 0 {
		return agent.Config{}, s, fmt.Errorf("stage-limit: must be positive")
	}
	cfg.Broker = runsBroker(m.Brokers)
	switch {
	case s.Stage == 0 && cfg.Broker:
		// The broker goes last: the others report through it until then.
		cfg.Stages.Stage = wire.StageLast
	case s.Stage == 0:
		cfg.Stages.Stage = wire.StageDefault
	}
	if s.WakeOnLAN {
		w := &wire.Wake{MAC: s.WakeMAC, Broadcast: s.WakeBroadcast}
		if w.MAC == "" || w.Broadcast == "" {
			found, err := wakeAddress(m.Brokers)
			if err != nil {
				return agent.Config{}, s, fmt.Errorf("wake-on-lan: %w", err)
			}
			w.MAC, w.Broadcast = cmp.Or(w.MAC, found.MAC), cmp.Or(w.Broadcast, found.Broadcast)
		}
		if net.ParseIP(w.Broadcast).To4() == nil {
			return agent.Config{}, s, fmt.Errorf("wake-broadcast: %q is not an IPv4 address", w.Broadcast)
		}
		cfg.Wake = w
	}
	if err := (heartbeat.Config{Interval: s.Heartbeat}).Validate(); err != nil {
		return agent.Config{}, s, err
	}
	return cfg, s, cfg.Validate()
}

// Run loads the settings and serves until ctx ends.
func Run(ctx context.Context, args []string) error {
	cfg, s, err := loadSettings(args, os.Stdout)
	if err != nil {
		return cli.Configuration(err)
	}
	a, err := agent.New(cfg)
	if err != nil {
		return err
	}
	if s.Metrics != "" {
		stop, err := serveMetrics(s.Metrics, cfg.Host, a, cfg.Logger)
		if err != nil {
			return err
		}
		defer stop()
	}
	// Ready once configured with the client set up; the broker may be down.
	if err := sdnotify.Ready("serving as " + cfg.Host); err != nil {
		cfg.Logger.Warn("sd_notify", "err", err)
	}
	go sdnotify.Watchdog(ctx, sdnotify.WatchdogInterval(), a.Alive, cfg.Logger)
	err = a.Run(ctx)
	sdnotify.Stopping()
	return err
}
