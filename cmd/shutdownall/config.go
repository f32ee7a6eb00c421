package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/stormguard/stormguard/cmd/internal/cli"
	"github.com/stormguard/stormguard/keys"
	"github.com/stormguard/stormguard/mqtt"
	"github.com/stormguard/stormguard/wire"
)

const summary = `shutdownall tells the fleet to power down (the default), reboot (-reboot) or
call off a countdown (-cancel). The words after the flags are the reason every
host journals. With -wait it waits until every host that is present shows it
is going down (a stopping answer, or offline after executing; for a dry run,
done), and otherwise exits non-zero naming the hosts that failed or did not.

With no reason words on a terminal it shows what it will power down and
asks first; reason words or -y skip the question (scripts, and the original
"shutdownall storm" usage).

examples:
  shutdownall storm coming, back at 21:00
  shutdownall -reboot kernel update
  shutdownall -delay 5m -wait 7m lightning near
  shutdownall -cancel false alarm
  shutdownall -target nas,pi3 maintenance
  shutdownall -status`

type settings struct {
	cli.Conn `mapstructure:",squash"`
	Reboot   bool          `mapstructure:"reboot"`
	Cancel   bool          `mapstructure:"cancel"`
	Delay    time.Duration `mapstructure:"delay"`
	Wait     time.Duration `mapstructure:"wait"`
	Expires  time.Duration `mapstructure:"expires"`
	Targets  []string      `mapstructure:"target"`
	Group    string        `mapstructure:"group"`
	Status   bool          `mapstructure:"status"`
	Keygen   string        `mapstructure:"keygen"`
	SignKey  string        `mapstructure:"sign-key"`
	Settle   time.Duration `mapstructure:"settle"`
	ID       string        `mapstructure:"id"`
	Yes      bool          `mapstructure:"y"`
	JSON     bool          `mapstructure:"json"`
}

// exitCodes ends -h; the README and the man page say the same.
const exitCodes = `exit status:
  0  sent; with -wait, every host confirmed: going down (a stopping answer,
     or offline after executing), done in dry run, or for -cancel, cancelled
  1  not sent, or no answer possible: broker unreachable or refusing, an error
  2  usage error: a bad flag or argument
  3  with -wait: a host answered that the command failed (the detail says
     why), or that it rejected, expired or cancelled it
  4  with -wait: a host stayed silent or showed no sign of going down in time
  5  a -target or -group the broker does not know: nothing was sent`

// job is one run of shutdownall, ready to go.
type job struct {
	s       settings
	words   []string
	action  wire.Action
	cmd     wire.Command
	mqtt    mqtt.Config
	topics  wire.Topics
	signKey ed25519.PrivateKey
}

func load(args []string, out io.Writer) (job, error) {
	l := cli.NewLoader("shutdownall", summary, "[flags] [reason words...]", "STORMGUARD_SHUTDOWNALL", out)
	l.Trailer = exitCodes
	fs := l.FS
	cli.AddConnFlags(fs, 1)
	fs.Bool("reboot", false, "reboot instead of powering down")
	fs.Bool("cancel", false, "call off pending countdowns (all of them, or the command named by -id)")
	fs.String("id", "", "with -cancel: the `id` of the one command to call off (as -status and the acks show it)")
	fs.Duration("delay", 0, "hosts count down this long before acting; a -cancel can stop them")
	fs.Duration("wait", 0, "wait this long for every present host to answer (and, for a power-down, go offline)")
	fs.Duration("expires", 0, "hosts ignore the command if it has not run by deadline + this (default: none; agents still apply their -max-age)")
	fs.Var(new(cli.StringList), "target", "only these `hosts`, comma-separated or repeated")
	fs.String("group", "", "only the hosts in this `group`")
	fs.Bool("status", false, "show every known host: online or not, pending countdowns, last answer")
	fs.String("keygen", "", "write a new Ed25519 command-signing key pair into `dir` and exit")
	fs.String("sign-key", "", "sign commands with this Ed25519 private key `file` (see -keygen)")
	fs.Bool("y", false, "do not ask before sending, even on a terminal with no reason words")
	fs.Bool("json", false, "with -status: print the fleet as JSON")
	fs.Duration("settle", 300*time.Millisecond, "how long to collect the broker's retained presence before deciding who is present")
	var s settings
	words, err := l.Load(args, &s)
	if err != nil {
		return job{}, err
	}
	j := job{s: s, words: words, topics: s.Topics(), action: wire.Shutdown}
	if s.JSON && !s.Status {
		return job{}, cli.Usagef("-json goes with -status")
	}
	if s.Keygen != "" || s.Status {
		if len(words) > 0 {
			return job{}, cli.Usagef("-keygen and -status take no reason words (got %q)", strings.Join(words, " "))
		}
	}
	if s.Keygen != "" {
		return j, nil
	}
	switch {
	case s.Reboot && s.Cancel:
		return job{}, cli.Usagef("-reboot and -cancel: choose one")
	case s.Reboot:
		j.action = wire.Reboot
	case s.Cancel:
		j.action = wire.Cancel
	}
	if s.Delay < 0 || s.Wait < 0 || s.Expires < 0 {
		return job{}, cli.Usagef("delay, wait and expires must not be negative")
	}
	if s.Cancel && s.Delay > 0 {
		return job{}, cli.Usagef("-delay does not apply to -cancel")
	}
	if s.ID != "" && !s.Cancel {
		return job{}, cli.Usagef("-id names the command to cancel: use it with -cancel")
	}
	for _, t := range s.Targets {
		if err := wire.ValidName(t); err != nil {
			return job{}, cli.Usagef("target: %w", err)
		}
	}
	if s.Group != "" {
		if err := wire.ValidName(s.Group); err != nil {
			return job{}, cli.Usagef("group: %w", err)
		}
		if len(s.Targets) > 0 {
			return job{}, cli.Usagef("-target and -group: choose one")
		}
	}
	if s.SignKey != "" {
		if j.signKey, err = keys.LoadPrivate(s.SignKey); err != nil {
			return job{}, fmt.Errorf("sign-key: %w", err)
		}
	}
	now := time.Now().UTC()
	j.cmd = wire.Command{
		V: wire.Version, ID: newID(now), Action: j.action, Reason: reason(words, now), Issuer: issuer(),
		IssuedAt: now, Targets: s.Targets,
	}
	if s.Group != "" {
		j.cmd.Groups = []string{s.Group}
	}
	j.cmd.Cancels = s.ID
	if s.Delay > 0 {
		j.cmd.Deadline = now.Add(s.Delay)
	}
	if s.Expires > 0 {
		j.cmd.Expires = now.Add(s.Delay + s.Expires)
	}
	if j.signKey != nil {
		j.cmd.Sign(j.signKey)
	}
	if err := j.cmd.Validate(); err != nil {
		return job{}, err
	}
	host, _ := os.Hostname()
	// A fresh client id per run: two runs at once must not kick each other off.
	var nonce [3]byte
	rand.Read(nonce[:])
	if j.mqtt, err = s.Conn.MQTT(fmt.Sprintf("shutdownall-%s-%d-%x", host, os.Getpid(), nonce)); err != nil {
		return job{}, err
	}
	j.mqtt.CleanSession = true
	j.mqtt.FailFast = true
	j.mqtt.Logger = cli.ToolLogger(s.Verbose)
	return j, nil
}

// reason is the words given, or who asked, from where and when.
func reason(words []string, now time.Time) string {
	if len(words) > 0 {
		return strings.Join(words, " ")
	}
	host, _ := os.Hostname()
	return fmt.Sprintf("requested by %s on %s at %s", issuer(), host, now.Format("2006-01-02 15:04:05Z"))
}

func issuer() string {
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	host, _ := os.Hostname()
	return name + "@" + host
}

func newID(now time.Time) string {
	var b [4]byte
	rand.Read(b[:])
	return fmt.Sprintf("sa-%s-%x", now.Format("20060102T150405"), b)
}
