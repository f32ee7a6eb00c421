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
	// Queued is set when the message may have waited in the broker's
	// session queue: it arrived while the agent was draining that queue
	// after (re)connecting. Away is then how long the agent had been away
	// from the broker, the most the message can have waited; negative
	// when unknown (no record of the last connection, or a clock that went
	// backwards).
	Queued bool
	Away   time.Duration
}

// SkewTolerance is how far a live command's issued_at may be from this
// host's clock before the two clocks are taken to disagree.
const SkewTolerance = 30 * time.Second

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
	// Signer names the key that signed Cmd, and SignerClock is the
	// command's issued_at by the sender's clock.
	Signer      string
	SignerClock time.Time
	// Clock reports a disagreement between this host's clock and the
	// sender's; the command's times were then counted from its arrival.
	Clock string
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
	signer := ""
	if len(p.Keys) > 0 && (p.RequireSigned || cmd.Sig != "") {
		if signer, err = p.verify(cmd); err != nil {
			return Decision{Cmd: cmd, State: wire.Rejected, Detail: err.Error()}
		}
	} else if p.RequireSigned {
		return Decision{Cmd: cmd, State: wire.Rejected, Detail: "signed commands required but no public key configured"}
	}
	if cmd.Action == wire.Cancel {
		// Rule 7: every cancel received is applied to what is pending now;
		// a cancel is never a duplicate, and a late one is harmless.
		return p.cancel(b, cmd)
	}
	if prev, ok := b.seen(cmd, now, p.MaxAge); ok {
		return Decision{Cmd: cmd, State: wire.Duplicate, Detail: fmt.Sprintf("already %s at %s", prev.state, prev.at.UTC().Format(time.RFC3339))}
	}
	if st, detail := p.replayed(b, cmd, signer); st != "" {
		return Decision{Cmd: cmd, State: st, Detail: detail}
	}
	issued := cmd.IssuedAt // the sender's clock, before any correction
	cmd, clock, st, detail := p.fresh(cmd, m, now)
	d := Decision{Cmd: cmd, State: st, Detail: detail, Signer: signer, SignerClock: issued, Clock: clock}
	note := ""
	if clock != "" {
		note = " (" + clock + ")"
	}
	switch {
	case st != "":
	case cmd.Deadline.After(now):
		d.Arm = &wire.Pending{ID: cmd.ID, Action: cmd.Action, Reason: cmd.Reason, Deadline: cmd.Deadline}
		d.State, d.Detail = wire.Scheduled, fmt.Sprintf("%s at %s%s", cmd.Action, cmd.Deadline.UTC().Format(time.RFC3339), note)
	default:
		d.State, d.Run, d.Detail = wire.Executing, true, string(cmd.Action)+" now"+note
	}
	return d
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

// fresh applies rule 3 with freshness taken from the transport. A
// command delivered live is fresh; its timestamps only say what the
// sender meant (a grace, a validity), and when this host's clock
// disagrees with the sender's they are counted from the command's arrival
// and the disagreement is noted. A command that may have waited in the
// session queue while the agent was away longer than MaxAge is judged by
// its own timestamps; plain text carries none, so it expires. It returns
// the command with its times in this host's clock and a note for the ack.
func (p Policy) fresh(c wire.Command, m Incoming, now time.Time) (wire.Command, string, wire.AckState, string) {
	stale := m.Queued && (m.Away < 0 || m.Away > p.MaxAge)
	if c.Plain {
		if stale {
			return c, "", wire.Expired, fmt.Sprintf("delivered from the broker's queue after the agent was away %s, more than max-age %s; plain text carries no time",
				awayText(m.Away), p.MaxAge)
		}
		return c, "", "", ""
	}
	if stale {
		return p.byTimestamps(c, now, fmt.Sprintf("delivered from the broker's queue after the agent was away %s", awayText(m.Away)))
	}
	skew := now.Sub(c.IssuedAt)
	if skew.Abs() <= SkewTolerance {
		return p.byTimestamps(c, now, "")
	}
	// Clocks disagree: count the sender's grace and validity from arrival.
	shift := skew
	c.IssuedAt = c.IssuedAt.Add(shift)
	if !c.Deadline.IsZero() {
		c.Deadline = c.Deadline.Add(shift)
	}
	if !c.Expires.IsZero() {
		c.Expires = c.Expires.Add(shift)
	}
	clock := fmt.Sprintf("clocks disagree: this host is %s %s the sender; counted from arrival", skew.Abs().Round(time.Second), aheadBehind(skew))
	return c, clock, "", ""
}

// byTimestamps judges a JSON command by its own times against this
// host's clock.
func (p Policy) byTimestamps(c wire.Command, now time.Time, why string) (wire.Command, string, wire.AckState, string) {
	prefix := ""
	if why != "" {
		prefix = why + "; "
	}
	if c.IssuedAt.After(now.Add(p.MaxAge)) {
		return c, "", wire.Expired, prefix + fmt.Sprintf("issued at %s, in the future by this host's clock: its age cannot be told", c.IssuedAt.UTC().Format(time.RFC3339))
	}
	if !c.Expires.IsZero() && now.After(c.Expires) {
		return c, "", wire.Expired, prefix + fmt.Sprintf("expired at %s", c.Expires.UTC().Format(time.RFC3339))
	}
	due := c.IssuedAt
	if c.Deadline.After(due) {
		due = c.Deadline
	}
	if late := now.Sub(due); late > p.MaxAge {
		return c, "", wire.Expired, prefix + fmt.Sprintf("%s late, more than max-age %s", late.Round(time.Second), p.MaxAge)
	}
	return c, "", "", ""
}

func awayText(d time.Duration) string {
	if d < 0 {
		return "for an unknown time"
	}
	return d.Round(time.Second).String()
}

func aheadBehind(skew time.Duration) string {
	if skew > 0 {
		return "ahead of"
	}
	return "behind"
}

// replayed refuses a signed command issued more than MaxAge before the
// newest command this host has seen signed with the same key: the
// sender's own clock says it is old, whatever this host's clock says.
// Together with remembered ids this is what makes a captured signed
// command useless to replay.
func (p Policy) replayed(b *Book, c wire.Command, key string) (wire.AckState, string) {
	newest, ok := b.signers[key]
	if !ok || key == "" {
		return "", ""
	}
	if gap := newest.Sub(c.IssuedAt); gap > p.MaxAge {
		return wire.Expired, fmt.Sprintf("issued %s before the newest command signed with the same key, more than max-age %s: a stale copy or a replay", gap.Round(time.Second), p.MaxAge)
	}
	return "", ""
}

// verify checks c's signature and names the configured key that made it.
func (p Policy) verify(c wire.Command) (string, error) {
	if err := c.Verify(p.Keys); err != nil {
		return "", err
	}
	for _, k := range p.Keys {
		if len(p.Keys) == 1 || c.Verify([]ed25519.PublicKey{k}) == nil {
			return fmt.Sprintf("%x", k[:8]), nil
		}
	}
	return "", nil
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
	return p.DueBy(pend, pend.Deadline, now)
}

// DueBy is Due for a countdown that was meant to go by the time by (its
// deadline, or later when its stage waited for the stages before it):
// max-age counts from by.
func (p Policy) DueBy(pend wire.Pending, by, now time.Time) Decision {
	cmd := wire.Command{V: wire.Version, ID: pend.ID, Action: pend.Action, Reason: pend.Reason, Deadline: pend.Deadline}
	if late := now.Sub(by); late > p.MaxAge {
		return Decision{Cmd: cmd, State: wire.Expired, Detail: fmt.Sprintf("countdown ended %s ago, more than max-age %s", late.Round(time.Second), p.MaxAge)}
	}
	return Decision{Cmd: cmd, State: wire.Executing, Run: true, Detail: string(pend.Action) + " at deadline"}
}
