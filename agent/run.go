package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/stormguard/stormguard/journal"
	"github.com/stormguard/stormguard/wire"
)

// fireDue runs (or expires) every countdown whose deadline has come and
// whose stage may go, and sends the second warning for those about to
// fire. A countdown held for earlier stages stays pending (a cancel still
// disarms it), and the host state says what it waits for.
func (a *Agent) fireDue() {
	now := a.now()
	waiting := ""
	defer func() {
		if waiting != a.waiting {
			a.waiting = waiting
			if waiting != "" {
				a.log.Info("countdown held for earlier stages", "stage", a.cfg.Stages.Stage, "detail", waiting)
			}
			if !a.isGoingDown() {
				a.publishState(true, "")
			}
		}
	}()
	for _, p := range a.book.Pending() {
		if p.Deadline.After(now) {
			if !a.warned[p.ID] && p.Deadline.Sub(now) <= a.cfg.WarnBefore {
				a.warned[p.ID] = true
				a.warn(fmt.Sprintf("stormguard: this host will %s in %s (at %s): %s\nTo call it off: shutdownall -cancel",
					p.Action, p.Deadline.Sub(now).Round(time.Second), p.Deadline.UTC().Format("15:04:05Z"), wire.OneLine(p.Reason)))
			}
			continue
		}
		g := a.gate(p)
		if !g.Go {
			waiting = g.Text(a.fleet)
			if waiting == "" {
				waiting = "waiting for the other hosts' states"
			}
			continue
		}
		d := a.cfg.Policy.DueBy(p, g.By, now)
		if d.Run && now.After(p.Deadline) && g.By.After(p.Deadline) {
			d.Detail = fmt.Sprintf("%s, stage %d", d.Detail, a.cfg.Stages.Stage)
			if len(g.Waiting) > 0 {
				d.Detail += fmt.Sprintf(" after its limit while %s had not gone", strings.Join(g.Waiting, ", "))
			}
		}
		recs := []journal.Record{a.decisionRecord(0, d, d.Detail)}
		if d.Run {
			recs = append(recs, a.startRecords(d)...)
		}
		ok := a.append(d.Run, recs...)
		a.book.Apply(d, now)
		a.log.Info("countdown ended", "id", p.ID, "action", p.Action, "state", d.State, "detail", d.Detail)
		a.ack(wire.Ack{ID: p.ID, Action: p.Action, State: d.State, Detail: d.Detail + a.journalNote(ok), Deadline: p.Deadline})
		if d.Run {
			// Rule 10: a disk that refuses the journal does not keep the host up.
			a.execute(d)
		}
	}
}

// housekeep retries a journal the disk refused, notes the connection
// while connected, ends the settle wait and rotates a large journal.
func (a *Agent) housekeep() {
	now := a.now()
	if n, _ := a.journal.Pending(); n > 0 {
		if err := a.journal.Retry(); err == nil {
			a.log.Info("journal written again: the disk takes it")
			a.publishState(!a.isGoingDown(), "")
		}
	}
	if a.online && a.draining && !now.Before(a.settleAt) {
		a.draining = false
	}
	if a.online && !now.Before(a.markAt) {
		a.markAt = now.Add(markEvery)
		a.append(false, journal.Record{Kind: journal.KindConnected, At: now})
	}
	a.rotateIfLarge()
}

// nextWake is how long the loop may sleep before a deadline, a warning or
// housekeeping is due.
func (a *Agent) nextWake() time.Duration {
	now := a.now()
	wake := time.Hour
	at := func(t time.Time) { wake = min(wake, max(t.Sub(now), 0)) }
	for _, p := range a.book.Pending() {
		switch {
		case !a.warned[p.ID] && p.Deadline.Add(-a.cfg.WarnBefore).After(now):
			at(p.Deadline.Add(-a.cfg.WarnBefore))
		case p.Deadline.After(now):
			at(p.Deadline)
		default:
			// Held for earlier stages: news of them wakes the loop, and
			// the stage's limit ends the wait.
			if g := a.gate(p); g.Go {
				at(now)
			} else if g.By.After(now) {
				at(g.By)
			}
		}
	}
	if a.online && a.draining {
		at(a.settleAt)
	}
	if a.online {
		at(a.markAt)
	}
	if n, _ := a.journal.Pending(); n > 0 {
		at(now.Add(5 * time.Second))
	}
	return wake
}

// startRecords are the journal lines written, with the decision and in
// the same synced write, before the power command of d starts: after them
// a restart never runs it again (at most once).
func (a *Agent) startRecords(d Decision) []journal.Record {
	recs := []journal.Record{{Kind: journal.KindStarted, ID: d.Cmd.ID, Action: d.Cmd.Action, Detail: strings.Join(a.argv(d), " "), At: a.now()}}
	if a.online {
		recs = append(recs, journal.Record{Kind: journal.KindConnected, At: a.now()})
	}
	return recs
}

// resolve finds a command on PATH once and remembers it, so the way to the
// power command does not search PATH every time; a name it cannot find is
// left for exec to report.
func (a *Agent) resolve(name string) string {
	if p, ok := a.paths[name]; ok {
		return p
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return name
	}
	a.paths[name] = p
	return p
}

func (a *Agent) argv(d Decision) []string {
	if d.Cmd.Action == wire.Reboot {
		return a.cfg.RebootCmd
	}
	return a.cfg.ShutdownCmd
}

// execute starts the power command of d, whose start is already journaled,
// without a shell and without the reason anywhere in its argv. The loop
// carries on while it runs; its end comes back on a.ran. A disk that
// refused the journal does not stop it (rule 10).
func (a *Agent) execute(d Decision) {
	argv := a.argv(d)
	fault("started")
	a.running = &d
	if a.cfg.DryRun {
		detail := "dry run: would run " + strings.Join(argv, " ")
		if len(a.cfg.PreShutdownCmd) > 0 {
			detail = "dry run: would run " + strings.Join(a.cfg.PreShutdownCmd, " ") + ", then " + strings.Join(argv, " ")
		}
		a.finished(outcome{d: d, state: wire.Done, detail: detail})
		return
	}
	a.goingDown = &d
	defer a.publishState(false, fmt.Sprintf("%s: %s", d.Cmd.Action, wire.OneLine(d.Cmd.Reason)))
	if len(a.cfg.PreShutdownCmd) == 0 {
		// Started here, on the loop, before anything else queued runs:
		// nothing stands between the journal write and the power command.
		p := a.startPower(d, argv)
		go a.waitPower(d, argv, p)
		return
	}
	go func() {
		if !a.preShutdown(d) {
			return
		}
		a.waitPower(d, argv, a.startPower(d, argv))
	}()
}

// power is a started power command.
type power struct {
	cmd    *exec.Cmd
	out    *bytes.Buffer
	cancel context.CancelFunc
	err    error // from starting it
}

func (a *Agent) startPower(d Decision, argv []string) power {
	ctx, cancel := context.WithTimeout(context.Background(), a.cfg.RunTimeout)
	cmd := exec.CommandContext(ctx, a.resolve(argv[0]), argv[1:]...)
	cmd.Env = append(cmd.Environ(), "STORMGUARD_COMMAND_ID="+d.Cmd.ID, "STORMGUARD_ACTION="+string(d.Cmd.Action))
	out := new(bytes.Buffer)
	cmd.Stdout, cmd.Stderr = out, out
	return power{cmd: cmd, out: out, cancel: cancel, err: cmd.Start()}
}

// waitPower waits for the power command and hands its end to the loop.
func (a *Agent) waitPower(d Decision, argv []string, p power) {
	defer p.cancel()
	err := p.err
	if err == nil {
		err = p.cmd.Wait()
	}
	fault("ran")
	o := outcome{d: d, state: wire.Done, detail: "ran " + strings.Join(argv, " ")}
	if err != nil {
		o.state = wire.Failed
		o.detail = fmt.Sprintf("%s: %v", o.detail, err)
	}
	if tail := lastLine(p.out.String()); tail != "" {
		o.detail += ": " + tail
	}
	select {
	case a.ran <- o:
	case <-a.stop:
	}
}

// finished records how the power command ended. A real power command that
// succeeded leaves the host going down; a failed one or a dry run leaves
// it up, and says so.
func (a *Agent) finished(o outcome) {
	a.running = nil
	// Not synced: nothing waits on it, and if it is lost the restart finds
	// the command started without an outcome, which it never runs again.
	ok := a.append(false, journal.Record{Kind: journal.KindOutcome, ID: o.d.Cmd.ID, Action: o.d.Cmd.Action, State: o.state, Detail: o.detail, At: a.now()})
	a.book.Apply(Decision{Cmd: o.d.Cmd, State: o.state}, a.now())
	if o.state != wire.Done {
		a.goingDown = nil
	}
	a.log.Info("power command finished", "id", o.d.Cmd.ID, "state", o.state, "detail", o.detail)
	a.ack(wire.Ack{ID: o.d.Cmd.ID, Action: o.d.Cmd.Action, State: o.state, Detail: o.detail + a.journalNote(ok)})
	if !a.isGoingDown() {
		a.publishState(true, "")
	}
}

func (a *Agent) isGoingDown() bool { return a.goingDown != nil }

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// warn tells logged-in users, with the text on standard input of WarnCmd
// (never in its argv and never through a shell).
func (a *Agent) warn(text string) {
	a.log.Warn("warning users", "text", text)
	if len(a.cfg.WarnCmd) == 0 {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, a.cfg.WarnCmd[0], a.cfg.WarnCmd[1:]...)
		cmd.Stdin = strings.NewReader(text + "\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			a.log.Warn("warn command failed", "err", err, "output", lastLine(string(out)))
		}
	}()
}

// ack queues an acknowledgement; it never waits for the broker.
func (a *Agent) ack(k wire.Ack) {
	k.Host = a.cfg.Host
	k.At = a.now().UTC()
	a.last = &k
	b, err := k.Encode()
	if err != nil {
		a.log.Error("encode ack", "err", err)
		return
	}
	a.out.send(a.cfg.Topics.Ack(a.cfg.Host), false, b)
}

// announce runs on every connect: presence True, the commands this host
// offers, all retained.
func (a *Agent) announce() {
	t := a.cfg.Topics
	a.out.send(t.Presence(a.cfg.Host), true, []byte(wire.PresenceTrue))
	a.out.send(t.CommandAvailable(a.cfg.Host, string(wire.Shutdown)), true, []byte(wire.PresenceTrue))
	a.out.send(t.CommandAvailable(a.cfg.Host, string(wire.Reboot)), true, []byte(wire.PresenceTrue))
}

// publishState queues the retained host state; only the loop calls it.
func (a *Agent) publishState(online bool, reason string) {
	s := wire.HostState{Host: a.cfg.Host, Groups: a.cfg.Groups, Version: a.cfg.Version, At: a.now().UTC(),
		Online: online, Reason: reason, Pending: a.book.Pending(), Last: a.last, DryRun: a.cfg.DryRun, Clock: a.clockNote,
		Stage: a.cfg.Stages.Stage, Broker: a.cfg.Broker, Waiting: a.waiting, Wake: a.cfg.Wake}
	if _, err := a.journal.Pending(); err != nil {
		s.Journal = err.Error()
	}
	b, err := s.Encode()
	if err != nil {
		a.log.Error("encode state", "err", err)
		return
	}
	a.out.send(a.cfg.Topics.State(a.cfg.Host), true, b)
}

// goodbye runs on a clean stop. When the operating system stops the agent
// after a real power command started, that is the evidence the host is
// going down: it says so (a stopping ack) before its presence goes False
// (a clean disconnect sends no last will). The queue is flushed within a
// bound: a shutdown must not wait for a broker that is away.
func (a *Agent) goodbye() {
	close(a.stop)
	if d := a.goingDown; d != nil {
		detail := "the operating system stopped the agent after the power command started: going down"
		a.append(true, journal.Record{Kind: journal.KindOutcome, ID: d.Cmd.ID, Action: d.Cmd.Action, State: wire.Stopping, Detail: detail, At: a.now()})
		a.ack(wire.Ack{ID: d.Cmd.ID, Action: d.Cmd.Action, State: wire.Stopping, Detail: detail})
	}
	if a.online {
		a.append(false, journal.Record{Kind: journal.KindConnected, At: a.now(), Detail: "stopped"})
	}
	a.out.send(a.cfg.Topics.Presence(a.cfg.Host), true, []byte(wire.PresenceFalse))
	a.out.flush(time.Second)
	a.client.Close(250 * time.Millisecond)
	a.log.Info("agent stopped")
}

// warmEncoders encodes an ack and a state once at start, so the first
// command does not pay for building the encoders.
func warmEncoders() {
	wire.Ack{ID: "warm", Host: "warm", State: wire.Executing}.Encode()
	wire.HostState{Host: "warm", Pending: []wire.Pending{{ID: "warm"}}, Last: &wire.Ack{}}.Encode()
	json.Marshal(journal.Record{Kind: journal.KindDecision, At: time.Now()})
}
