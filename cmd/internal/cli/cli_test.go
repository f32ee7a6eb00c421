package cli

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type testSettings struct {
	Conn   `mapstructure:",squash"`
	Name   string        `mapstructure:"name"`
	Cmd    []string      `mapstructure:"cmd"`
	Groups []string      `mapstructure:"group"`
	Age    time.Duration `mapstructure:"age"`
}

func loader(out *bytes.Buffer) *Loader {
	l := NewLoader("prog", "a test program", "[flags]", "SGTEST", out)
	AddConnFlags(l.FS, 1)
	l.FS.String("name", "default-name", "")
	l.FS.String("cmd", "shutdown -h now", "")
	l.FS.Var(new(StringList), "group", "")
	l.FS.Duration("age", time.Minute, "")
	return l
}

func TestPrecedenceFlagEnvFileDefault(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "c.yaml")
	os.WriteFile(file, []byte("name: from-file\nport: 1884\ncmd: [poweroff, --force]\ngroup: [a, b]\nage: 2m\n"), 0o644)
	t.Setenv("SGTEST_PORT", "1885")
	t.Setenv("SGTEST_HOST", "env-host")
	var s testSettings
	if _, err := loader(&bytes.Buffer{}).Load([]string{"-config", file, "-host", "flag-host"}, &s); err != nil {
		t.Fatal(err)
	}
	if s.Host != "flag-host" || s.Port != 1885 || s.Name != "from-file" || s.QoS != 1 {
		t.Errorf("host %q port %d name %q qos %d; want flag-host, 1885 (env over file), from-file, 1 (default)", s.Host, s.Port, s.Name, s.QoS)
	}
	if strings.Join(s.Cmd, "|") != "poweroff|--force" || strings.Join(s.Groups, ",") != "a,b" || s.Age != 2*time.Minute {
		t.Errorf("lists and durations from the file: cmd %q groups %q age %v", s.Cmd, s.Groups, s.Age)
	}
}

func TestFlagListsAndDefaults(t *testing.T) {
	var s testSettings
	if _, err := loader(&bytes.Buffer{}).Load([]string{"-group", "x", "-group", "y,z"}, &s); err != nil {
		t.Fatal(err)
	}
	if strings.Join(s.Groups, ",") != "x,y,z" || strings.Join(s.Cmd, "|") != "shutdown|-h|now" {
		t.Errorf("groups %q cmd %q", s.Groups, s.Cmd)
	}
}

func TestUnknownKeyIsNamed(t *testing.T) {
	file := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(file, []byte("nmae: typo\n"), 0o644)
	var s testSettings
	_, err := loader(&bytes.Buffer{}).Load([]string{"-config", file}, &s)
	if err == nil || !strings.Contains(err.Error(), `"nmae"`) {
		t.Errorf("error = %v, want one naming nmae", err)
	}
}

func TestHelpAndVersion(t *testing.T) {
	var out bytes.Buffer
	var s testSettings
	if _, err := loader(&out).Load([]string{"-h"}, &s); !errors.Is(err, ErrHelp) {
		t.Errorf("-h: %v", err)
	}
	if !strings.Contains(out.String(), "SGTEST_<NAME>") || !strings.Contains(out.String(), "-keepalive") {
		t.Errorf("help does not explain the environment or list the connection flags:\n%s", out.String())
	}
	out.Reset()
	if _, err := loader(&out).Load([]string{"-version"}, &s); !errors.Is(err, ErrVersion) || !strings.Contains(out.String(), "prog dev") {
		t.Errorf("-version: %v %q", err, out.String())
	}
}

func TestConnMQTT(t *testing.T) {
	pw := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pw, []byte("s3cret\nignored\n"), 0o600)
	c := Conn{Host: "broker.lan", Port: 8883, PasswordFile: pw, User: "nas", QoS: 1, KeepAlive: 10 * time.Second}
	m, err := c.MQTT("id")
	if err != nil {
		t.Fatal(err)
	}
	if m.Brokers[0] != "tcp://broker.lan:8883" || m.Password != "s3cret" || m.Username != "nas" || m.KeepAlive != 10*time.Second {
		t.Errorf("mqtt config = %+v", m)
	}
	for _, bad := range []Conn{{Host: "h", Port: 0}, {Host: "h", Port: 1, QoS: 3}, {Host: "h", Port: 1, KeepAlive: time.Millisecond}, {Host: "h", Port: 1, PasswordFile: "/nonexistent"}} {
		if _, err := bad.MQTT("id"); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestUnknownEnvironmentIsNamed(t *testing.T) {
	t.Setenv("SGTEST_NAME", "ok")
	t.Setenv("SGTEST_NMAE", "typo")
	t.Setenv("SGTEST_HOTS", "typo")
	var s testSettings
	_, err := loader(&bytes.Buffer{}).Load(nil, &s)
	var ue *UsageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "SGTEST_HOTS, SGTEST_NMAE") || ExitCode(err) != 2 {
		t.Errorf("error = %v (exit %d), want a usage error naming both typos", err, ExitCode(err))
	}
}

func TestOtherProgramsVariablesAreTheirs(t *testing.T) {
	t.Setenv("STORMGUARD_AGENT_MAX_AGE", "1m")
	t.Setenv("STORMGUARD_COMMAND_ID", "x")
	t.Setenv("STORMGUARD_HOST", "h")
	l := NewLoader("prog", "", "", "STORMGUARD", &bytes.Buffer{})
	AddConnFlags(l.FS, 1)
	var s testSettings
	if _, err := l.Load(nil, &s); err != nil {
		t.Errorf("stormguard's own and the agent's variables: %v", err)
	}
	t.Setenv("STORMGUARD_HOSTNAME", "typo")
	if _, err := l.Load(nil, &s); err == nil || !strings.Contains(err.Error(), "STORMGUARD_HOSTNAME") {
		t.Errorf("typo under the bare prefix: %v", err)
	}
}

func TestUsageErrorsAreOneLineAndExit2(t *testing.T) {
	var out bytes.Buffer
	var s testSettings
	_, err := loader(&out).Load([]string{"-nosuch"}, &s)
	if ExitCode(err) != 2 || out.Len() != 0 || !strings.Contains(err.Error(), "-nosuch") {
		t.Errorf("bad flag: exit %d, err %v, printed %q", ExitCode(err), err, out.String())
	}
	_, err = loader(&out).Load([]string{"-h"}, &s)
	if ExitCode(err) != 0 || !strings.HasPrefix(out.String(), "usage: prog") {
		t.Errorf("-h: exit %d, printed %q", ExitCode(err), out.String())
	}
}

func TestJournalLinesCarryPriorityAndNoTime(t *testing.T) {
	var out bytes.Buffer
	log := slog.New(JournalHandler(&out, slog.LevelDebug)).With("client", "agent-nas")
	log.Warn("broker connection trouble; retrying", "cause", "not authorised")
	log.Info("connected to broker")
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "<4>level=WARN msg=") || !strings.HasPrefix(lines[1], "<6>level=INFO") || strings.Contains(out.String(), "time=") {
		t.Errorf("journal lines:\n%s", out.String())
	}
}
