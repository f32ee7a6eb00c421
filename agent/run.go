package agent

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/stormguard/stormguard/journal"
	"github.com/stormguard/stormguard/wire"
)

// fireDue runs (or expires) every countdown whose deadline has come and
// sends the second warning for those about to fire.
func (a *Agent) fireDue() {
	now := a.now()
	for _, p := range a.book.Pending() {
		if p.Deadline.After(now) {
			if !a.warned[p.ID] && p.Deadline.Sub(now) <= a.cfg.WarnBefore {
				a.warned[p.ID] = true
				a.warn(fmt.Sprintf("stormguard: this host will %s in %s (at %s): %s\nTo call it off: shutdownall -cancel",
					p.Action, p.Deadline.Sub(now).Round(time.Second), p.Deadline.UTC().Format("15:04:05Z"), p.Reason))
			}
			continue
		}
		d := a.cfg.Policy.Due(p, now)
		_, err := a.journal.Append(a.decisionRecord(0, d, d.Detail))
		journaled := err == nil
		if err != nil {
			a.log.Error("journal write failed", "err", err)
		}
		a.book.Apply(d, now)
		a.log.Info("countdown ended", "id", p.ID, "action", p.Action, "state", d.State, "detail", d.Detail)
		if d.State == wire.Expired || !journaled {
			a.ack(wire.Ack{ID: p.ID, Action: p.Action, State: d.State, Detail: d.Detail, Deadline: p.Deadline})
			continue
		}
		a.ack(wire.Ack{ID: p.ID, Action: p.Action, State: wire.Executing, Detail: d.Detail, Deadline: p.Deadline})
		a.execute(d)
	}
}

// nextWake is how long the loop may sleep before a deadline or warning.
func (a *Agent) nextWake() time.Duration {
	wake := time.Hour
	now := a.now()
	for _, p := range a.book.Pending() {
		at := p.Deadline
		if !a.warned[p.ID] && p.Deadline.Add(-a.cfg.WarnBefore).After(now) {
			at = p.Deadline.Add(-a.cfg.WarnBefore)
		}
		wake = min(wake, max(at.Sub(now), 0))
	}
	return wake
}

// execute says it is going (an executing ack, already sent by the caller
// for countdowns; a clean False presence, because a clean power-off sends
// no last will) and then runs the power command, without a shell and
// without the reason anywhere in its argv.
func (a *Agent) execute(d Decision) {
	argv := a.cfg.ShutdownCmd
	if d.Cmd.Action == wire.Reboot {
		argv = a.cfg.RebootCmd
	}
	a.publishState(false, fmt.Sprintf("%s: %s", d.Cmd.Action, d.Cmd.Reason))
	a.publishWait(a.cfg.Topics.Presence(a.cfg.Host), true, []byte(wire.PresenceFalse))

	// After this record a restart will not run the command again: at most once.
	if _, err := a.journal.Append(journal.Record{Kind: journal.KindStarted, ID: d.Cmd.ID, Action: d.Cmd.Action,
		Detail: strings.Join(argv, " "), At: a.now()}); err != nil {
		a.log.Error("journal write failed; power command not run", "err", err, "id", d.Cmd.ID)
		a.ack(wire.Ack{ID: d.Cmd.ID, Action: d.Cmd.Action, State: wire.Failed, Detail: "journal write failed"})
		return
	}
	fault("started")
	state, detail := wire.Done, ""
	if a.cfg.DryRun {
		detail = "dry run: would run " + strings.Join(argv, " ")
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), a.cfg.RunTimeout)
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Env = append(cmd.Environ(), "STORMGUARD_COMMAND_ID="+d.Cmd.ID, "STORMGUARD_ACTION="+string(d.Cmd.Action))
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		cancel()
		fault("ran")
		detail = fmt.Sprintf("ran %s", strings.Join(argv, " "))
		if err != nil {
			state = wire.Failed
			detail = fmt.Sprintf("%s: %v", detail, err)
		}
		if tail := lastLine(out.String()); tail != "" {
			detail += ": " + tail
		}
	}
	if _, err := a.journal.Append(journal.Record{Kind: journal.KindOutcome, ID: d.Cmd.ID, Action: d.Cmd.Action, State: state, Detail: detail, At: a.now()}); err != nil {
		a.log.Error("journal write failed", "err", err)
	}
	a.book.Apply(Decision{Cmd: d.Cmd, State: state}, a.now())
	a.log.Info("power command finished; host still up", "id", d.Cmd.ID, "state", state, "detail", detail)
	// Still here: a dry run, a test command, or a shutdown that failed.
	a.ack(wire.Ack{ID: d.Cmd.ID, Action: d.Cmd.Action, State: state, Detail: detail})
	a.publish(a.cfg.Topics.Presence(a.cfg.Host), true, []byte(wire.PresenceTrue))
	a.publishState(true, "")
}

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

// ack publishes an acknowledgement without holding up the loop.
func (a *Agent) ack(k wire.Ack) {
	k.Host = a.cfg.Host
	k.At = a.now().UTC()
	a.last = &k
	b, err := k.Encode()
	if err != nil {
		a.log.Error("encode ack", "err", err)
		return
	}
	if k.State == wire.Executing {
		// The host may be gone in a moment: make sure this one leaves.
		a.publishWait(a.cfg.Topics.Ack(a.cfg.Host), false, b)
		return
	}
	a.publish(a.cfg.Topics.Ack(a.cfg.Host), false, b)
}

// announce runs on every connect: presence True, the commands this host
// offers, and its state, all retained.
func (a *Agent) announce() {
	t := a.cfg.Topics
	a.publish(t.Presence(a.cfg.Host), true, []byte(wire.PresenceTrue))
	a.publish(t.CommandAvailable(a.cfg.Host, string(wire.Shutdown)), true, []byte(wire.PresenceTrue))
	a.publish(t.CommandAvailable(a.cfg.Host, string(wire.Reboot)), true, []byte(wire.PresenceTrue))
	select {
	case a.connected <- struct{}{}: // the loop publishes the state: the book is its own
	default:
	}
}

// publishState publishes the retained host state; only the loop calls it.
func (a *Agent) publishState(online bool, reason string) {
	s := wire.HostState{Host: a.cfg.Host, Groups: a.cfg.Groups, Version: a.cfg.Version, At: a.now().UTC(),
		Online: online, Reason: reason, Pending: a.book.Pending(), Last: a.last, DryRun: a.cfg.DryRun}
	b, err := s.Encode()
	if err != nil {
		a.log.Error("encode state", "err", err)
		return
	}
	a.publish(a.cfg.Topics.State(a.cfg.Host), true, b)
}

func (a *Agent) publish(topic string, retained bool, payload []byte) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := a.client.Publish(ctx, topic, a.cfg.QoS, retained, payload); err != nil {
			a.log.Warn("publish", "err", err)
		}
	}()
}

// publishWait publishes and, while connected, waits a moment for the broker
// to take it, so an executing ack leaves before the host goes down. With
// the broker away it does not wait: the power command must not be late
// because of an outage; the client's store sends the message later.
func (a *Agent) publishWait(topic string, retained bool, payload []byte) {
	if !a.client.Connected() {
		a.publish(topic, retained, payload)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := a.client.Publish(ctx, topic, a.cfg.QoS, retained, payload); err != nil {
		a.log.Warn("publish", "err", err)
	}
}

// goodbye marks the host offline on a clean stop; a clean disconnect sends
// no last will.
func (a *Agent) goodbye() {
	a.publishWait(a.cfg.Topics.Presence(a.cfg.Host), true, []byte(wire.PresenceFalse))
	a.client.Close(500 * time.Millisecond)
	a.log.Info("agent stopped")
}
