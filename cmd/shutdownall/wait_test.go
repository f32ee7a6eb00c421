package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stormguard/stormguard/cmd/internal/cli"
	"github.com/stormguard/stormguard/internal/mqtttest"
	"github.com/stormguard/stormguard/wire"
)

// The agent's contract, as scripts: what a host says after a command.
var (
	// The OS stops the agent after the power command started: a stopping
	// ack, then its goodbye.
	goesDown = func(wire.Command) []step {
		return []step{{ack: wire.Executing}, {ack: wire.Stopping}, {presence: "False"}}
	}
	// Stopped, and the goodbye lost: the stopping ack alone is enough.
	stoppingOnly = func(wire.Command) []step {
		return []step{{ack: wire.Executing}, {ack: wire.Stopping}}
	}
	// Killed outright: only the broker's last will says it.
	killed = func(wire.Command) []step {
		return []step{{ack: wire.Executing}, {presence: "False"}}
	}
	// The power command fails and the host stays up.
	polkitSaysNo = func(wire.Command) []step {
		return []step{{ack: wire.Executing}, {ack: wire.Failed, detail: "ran systemctl poweroff: exit status 3: polkit says no"}}
	}
	// The power command returns success but nothing happens.
	staysUp = func(wire.Command) []step {
		return []step{{ack: wire.Executing}, {ack: wire.Done, detail: "ran shutdown -h now"}}
	}
	// A dry run (an agent of the old kind also said False, then True, around it).
	dryRun = func(c wire.Command) []step {
		return []step{{ack: wire.Executing}, {presence: "False"}, {presence: "True"}, {ack: wire.Done, detail: "dry run: would run shutdown -h now"}}
	}
)

func TestWaitNeedsEvidence(t *testing.T) {
	mqtttest.Each(t, func(t *testing.T, b *mqtttest.Broker) {
		for _, tc := range []struct {
			name   string
			dry    bool
			script func(wire.Command) []step
			args   []string
			code   int    // exit status
			row    string // the host's STATE
			detail string
		}{
			{"stopping ack and goodbye", false, goesDown, nil, 0, "stopping (going down)", ""},
			{"stopping ack alone", false, stoppingOnly, nil, 0, "stopping (going down)", ""},
			{"last will after executing", false, killed, nil, 0, "executing, then offline", ""},
			{"failed power command", false, polkitSaysNo, nil, exitFailed, "failed", "polkit says no"},
			{"done but still up", false, staysUp, nil, exitUnconfirmed, "done, still online", ""},
			{"dry run", true, dryRun, nil, 0, "done (dry run)", "dry run: would run"},
			{"reboot needs the same evidence", false, staysUp, []string{"-reboot"}, exitUnconfirmed, "done, still online", ""},
			{"reboot going down", false, goesDown, []string{"-reboot"}, 0, "stopping (going down)", ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				host := fmt.Sprintf("h%d", time.Now().UnixNano()%1e6)
				newFakeHost(t, b, host, tc.dry, tc.script)
				args := append(append([]string{}, tc.args...), "-target", host, "-wait", "3s", "drill")
				out, err := run(t, b, args...)
				if got := cli.ExitCode(err); got != tc.code {
					t.Errorf("exit %d (%v), want %d\n%s", got, err, tc.code, out)
				}
				// A stopping ack and the goodbye after it are handled on
				// their own goroutines: either may settle the host first.
				row := lineHas(out, host, tc.row) || tc.row == "stopping (going down)" && lineHas(out, host, "executing, then offline")
				if !row || !lineHas(out, host, tc.detail) {
					t.Errorf("want a row %q with %q for %s:\n%s", tc.row, tc.detail, host, out)
				}
				if tc.code == exitFailed && (!strings.Contains(err.Error(), host+" (") || !strings.Contains(err.Error(), tc.detail)) {
					t.Errorf("error %q does not name %s with the detail %q", err, host, tc.detail)
				}
			})
		}
	})
}

func TestUnknownTargetsNamedNothingSent(t *testing.T) {
	b := mqtttest.NATS(t)
	f := newFakeHost(t, b, "nas", false, goesDown)
	out, err := run(t, b, "-target", "nas,pi3,pi9", "-wait", "3s", "storm")
	if cli.ExitCode(err) != exitUnknown || !strings.Contains(err.Error(), "pi3, pi9") {
		t.Fatalf("exit %d, error %v; want %d naming pi3 and pi9\n%s", cli.ExitCode(err), err, exitUnknown, out)
	}
	if strings.Contains(out, "sent ") {
		t.Errorf("reports a send:\n%s", out)
	}
	// The next command is the first one nas sees.
	if out, err := run(t, b, "-target", "nas", "second"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	select {
	case c := <-f.got:
		if c.Reason != "second" {
			t.Errorf("nas got %q first, want the second command", c.Reason)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("nas got nothing")
	}
	if _, err := run(t, b, "-group", "nowhere", "-wait", "3s", "storm"); cli.ExitCode(err) != exitUnknown || !strings.Contains(err.Error(), "nowhere") {
		t.Errorf("unknown group: exit %d, %v", cli.ExitCode(err), err)
	}
}

func TestBareCommandAsksOnATerminal(t *testing.T) {
	b := mqtttest.NATS(t)
	f := newFakeHost(t, b, "nas", false, goesDown)
	defer func(in func() bool) { interactive = in }(interactive)
	interactive = func() bool { return true }
	stdin = strings.NewReader("n\n")
	out, err := run(t, b)
	if err == nil || !strings.Contains(out, "power down 1 host(s) now present: nas") || !strings.Contains(out, "[y/N]") {
		t.Fatalf("want a question naming nas and a refusal: %v\n%s", err, out)
	}
	stdin = strings.NewReader("y\n")
	if out, err = run(t, b); err != nil || !strings.Contains(out, "sent shutdown") {
		t.Fatalf("after yes: %v\n%s", err, out)
	}
	if c := <-f.got; !strings.HasPrefix(c.Reason, "requested by") {
		t.Errorf("nas got %q first, want the confirmed command", c.Reason)
	}
	// Words skip the question (stdin is empty: a question would refuse).
	stdin = strings.NewReader("")
	if out, err = run(t, b, "storm"); err != nil || strings.Contains(out, "[y/N]") {
		t.Errorf("with words: %v\n%s", err, out)
	}
	if out, err = run(t, b, "-y"); err != nil || strings.Contains(out, "[y/N]") {
		t.Errorf("with -y: %v\n%s", err, out)
	}
}

func TestBrokerTroubleFailsFastWithTheCause(t *testing.T) {
	port := mqtttest.FreePort(t)
	begin := time.Now()
	err := Run(t.Context(), []string{"-host", "127.0.0.1", "-port", fmt.Sprint(port), "-wait", "1m", "storm"}, &strings.Builder{})
	if err == nil || !strings.Contains(err.Error(), "refused") || strings.Contains(err.Error(), "deadline") {
		t.Errorf("error = %v, want the refusal itself", err)
	}
	if took := time.Since(begin); took > 5*time.Second {
		t.Errorf("took %v to report a refused connection", took)
	}
}
