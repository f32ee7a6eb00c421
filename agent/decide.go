// Package agent is what runs on every host: it decides what each command
// message means for this host (decide.go, pure, driven by now), remembers
// what it decided (book.go, rebuilt from the journal after a restart) and
// runs the power command (agent.go, the only part with timers and I/O).
package agent

import (
	"crypto/ed25519"
	"fmt"
	"time"

	"github.com/stormguard/stormguard/wire"
)

// Policy is what a host accepts.
type Policy struct {
	Host   string
	Groups []string
	Topics wire.Topics
	// MaxAge is how late a command may be obeyed: a command whose
	// deadline (or issue time, without one) is further in the past than
	// this is journaled as expired, not run.
	MaxAge time.Duration
	// Keys verify signed commands; with RequireSigned, unsigned ones are rejected.
	Keys          []ed25519.PublicKey
	RequireSigned bool
}

// Incoming is a command message as it arrived.
type Incoming struct {
	Topic     string
	Payload   []byte
	Retained  bool
	Duplicate bool
	At        time.Time
}

// Decision is what to do about one message. A zero State means the message
// is not for this host: journal it, do not answer.
type Decision struct {
	Cmd    wire.Command
	State  wire.AckState
	Detail string
	// Run asks for the power command of Cmd.Action now.
	Run bool
	// Arm is a countdown to hold until its deadline.
	Arm *wire.Pending
	// Disarmed are the countdowns a cancel called off.
	Disarmed []wire.Pending
}

// Decide applies the safety rules to one message, in order: only this
// host's commands; never a retained one; only well-formed, (when required)
// signed ones; each at most once; none that is too old.
func (p Policy) Decide(b *Book, m Incoming, now time.Time) Decision {
	action, target, err := p.Topics.ParseCommand(m.Topic)
	if err != nil {
		return Decision{State: wire.Rejected, Detail: err.Error()}
	}
	if !p.addressed(target) {
		return Decision{}
	}
	cmd, err := wire.Decode(action, m.Topic, m.Payload)
	if m.Retained {
		// Rule 2: a retained command would power the host off at every boot.
		return Decision{Cmd: cmd, State: wire.Rejected, Detail: "retained command ignored: commands are never obeyed from a retained message"}
	}
	if err != nil {
		return Decision{Cmd: cmd, State: wire.Rejected, Detail: err.Error()}
	}
	if !cmd.For(p.Host, p.Groups) {
		return Decision{Cmd: cmd}
	}
	if len(p.Keys) > 0 && (p.RequireSigned || cmd.Sig != "") {
		if err := cmd.Verify(p.Keys); err != nil {
			return Decision{Cmd: cmd, State: wire.Rejected, Detail: err.Error()}
		}
	} else if p.RequireSigned {
		return Decision{Cmd: cmd, State: wire.Rejected, Detail: "signed commands required but no public key configured"}
	}
	if prev, ok := b.seen(cmd, now, p.MaxAge); ok {
		return Decision{Cmd: cmd, State: wire.Duplicate, Detail: fmt.Sprintf("already %s at %s", prev.state, prev.at.UTC().Format(time.RFC3339))}
	}
	if st, detail := p.age(cmd, now); st != "" {
		return Decision{Cmd: cmd, State: st, Detail: detail}
	}
	if cmd.Action == wire.Cancel {
		return p.cancel(b, cmd)
	}
	if cmd.Deadline.After(now) {
		pend := wire.Pending{ID: cmd.ID, Action: cmd.Action, Reason: cmd.Reason, Deadline: cmd.Deadline}
		return Decision{Cmd: cmd, State: wire.Scheduled, Arm: &pend,
			Detail: fmt.Sprintf("%s at %s", cmd.Action, cmd.Deadline.UTC().Format(time.RFC3339))}
	}
	return Decision{Cmd: cmd, State: wire.Executing, Run: true, Detail: string(cmd.Action) + " now"}
}

func (p Policy) addressed(t wire.Target) bool {
	switch t.Kind {
	case wire.OneHost:
		return t.Name == p.Host
	case wire.OneGroup:
		for _, g := range p.Groups {
			if g == t.Name {
				return true
			}
		}
		return false
	}
	return true
}

// age applies rule 3. Plain text carries no time and counts as fresh.
func (p Policy) age(c wire.Command, now time.Time) (wire.AckState, string) {
	if c.Plain {
		return "", ""
	}
	if c.IssuedAt.After(now.Add(p.MaxAge)) {
		return wire.Rejected, fmt.Sprintf("issued at %s, in the future: check the clocks", c.IssuedAt.UTC().Format(time.RFC3339))
	}
	if !c.Expires.IsZero() && now.After(c.Expires) {
		return wire.Expired, fmt.Sprintf("expired at %s", c.Expires.UTC().Format(time.RFC3339))
	}
	due := c.IssuedAt
	if c.Deadline.After(due) {
		due = c.Deadline
	}
	if late := now.Sub(due); late > p.MaxAge {
		return wire.Expired, fmt.Sprintf("%s late, more than max-age %s", late.Round(time.Second), p.MaxAge)
	}
	return "", ""
}

func (p Policy) cancel(b *Book, c wire.Command) Decision {
	d := Decision{Cmd: c, State: wire.Cancelled}
	for _, pend := range b.Pending() {
		if c.Cancels == "" || c.Cancels == pend.ID {
			d.Disarmed = append(d.Disarmed, pend)
		}
	}
	switch {
	case len(d.Disarmed) > 0:
		d.Detail = fmt.Sprintf("cancelled %d pending", len(d.Disarmed))
	case c.Cancels != "" && b.executed(c.Cancels):
		d.State, d.Detail = wire.Rejected, "too late: "+c.Cancels+" already ran"
	default:
		d.State, d.Detail = wire.Done, "nothing pending"
	}
	return d
}

// Due decides about a countdown whose deadline has come: run it, or, when
// the host was asleep past MaxAge after the deadline, expire it.
func (p Policy) Due(pend wire.Pending, now time.Time) Decision {
	cmd := wire.Command{V: wire.Version, ID: pend.ID, Action: pend.Action, Reason: pend.Reason, Deadline: pend.Deadline}
	if late := now.Sub(pend.Deadline); late > p.MaxAge {
		return Decision{Cmd: cmd, State: wire.Expired, Detail: fmt.Sprintf("countdown ended %s ago, more than max-age %s", late.Round(time.Second), p.MaxAge)}
	}
	return Decision{Cmd: cmd, State: wire.Executing, Run: true, Detail: string(pend.Action) + " at deadline"}
}
