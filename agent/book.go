package agent

import (
	"sort"
	"time"

	"github.com/stormguard/stormguard/journal"
	"github.com/stormguard/stormguard/wire"
)

// Book is what a host remembers between messages: what it decided about
// each command id and which countdowns are pending. It is rebuilt from
// the journal at start, so a restart neither forgets nor repeats.
type Book struct {
	decided map[string]seen
	pending map[string]wire.Pending
}

type seen struct {
	state wire.AckState
	at    time.Time
	plain bool
}

// NewBook returns an empty book.
func NewBook() *Book {
	return &Book{decided: map[string]seen{}, pending: map[string]wire.Pending{}}
}

// acted are the states that mean a command was taken into account; a
// rejected copy (retained, malformed) does not stop a good copy later.
func acted(s wire.AckState) bool {
	switch s {
	case wire.Scheduled, wire.Executing, wire.Done, wire.Failed, wire.Cancelled, wire.Expired:
		return true
	}
	return false
}

// seen reports whether c was already acted on (rule 1). A JSON command's
// id is remembered for good. Plain text has no id of its own, so the same
// text on the same topic counts as a repeat only within maxAge, and not
// after it was cancelled: "storm", cancel, "storm" acts twice.
func (b *Book) seen(c wire.Command, now time.Time, maxAge time.Duration) (seen, bool) {
	s, ok := b.decided[c.ID]
	if !ok || !acted(s.state) {
		return s, false
	}
	if c.Plain {
		if s.state == wire.Cancelled || now.Sub(s.at) > maxAge {
			return s, false
		}
	}
	return s, true
}

func (b *Book) executed(id string) bool {
	s, ok := b.decided[id]
	return ok && (s.state == wire.Executing || s.state == wire.Done || s.state == wire.Failed)
}

// Apply records a decision taken at now.
func (b *Book) Apply(d Decision, now time.Time) {
	if d.Cmd.ID != "" && d.State != "" && d.State != wire.Duplicate {
		if d.State != wire.Rejected || b.decided[d.Cmd.ID].state == "" {
			b.decided[d.Cmd.ID] = seen{state: d.State, at: now, plain: d.Cmd.Plain}
		}
	}
	if d.Arm != nil {
		b.pending[d.Arm.ID] = *d.Arm
	}
	if d.Run || d.State == wire.Expired {
		delete(b.pending, d.Cmd.ID)
	}
	for _, p := range d.Disarmed {
		delete(b.pending, p.ID)
		b.decided[p.ID] = seen{state: wire.Cancelled, at: now}
	}
}

// Pending lists the countdowns, soonest first.
func (b *Book) Pending() []wire.Pending {
	out := make([]wire.Pending, 0, len(b.pending))
	for _, p := range b.pending {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Deadline.Equal(out[j].Deadline) {
			return out[i].ID < out[j].ID
		}
		return out[i].Deadline.Before(out[j].Deadline)
	})
	return out
}

// Replay rebuilds the book from journal records. It returns the received
// messages that have no decision yet (the process stopped in between):
// the caller decides them now, so no journaled message is lost. A command
// decided "executing" whose start was never journaled is pending again,
// due at once: it runs if still within max-age, else it expires. The
// commands that started but have no outcome are returned as interrupted:
// the process stopped while they ran, which is what a power-off does.
func Replay(records []journal.Record) (b *Book, undecided, interrupted []journal.Record) {
	b = NewBook()
	decidedRef := map[int64]bool{}
	running := map[string]journal.Record{} // started, no outcome yet
	// Commands decided "executing" whose power command never started (the
	// process stopped in between) are run again, within their age.
	unstarted := map[string]wire.Pending{}
	for _, r := range records {
		switch r.Kind {
		case journal.KindStarted:
			delete(unstarted, r.ID)
			running[r.ID] = r
		case journal.KindDecision, journal.KindOutcome:
			decidedRef[r.Ref] = true
			if r.ID == "" || r.State == "" {
				continue
			}
			d := Decision{Cmd: wire.Command{ID: r.ID, Action: r.Action, Plain: isPlainID(r.ID)}, State: r.State}
			switch r.State {
			case wire.Scheduled:
				d.Arm = &wire.Pending{ID: r.ID, Action: r.Action, Reason: r.Reason, Deadline: r.Deadline}
			case wire.Executing:
				d.Run = true
				if r.Kind == journal.KindDecision {
					due := r.Deadline
					if due.IsZero() {
						due = r.At
					}
					unstarted[r.ID] = wire.Pending{ID: r.ID, Action: r.Action, Reason: r.Reason, Deadline: due}
				}
			case wire.Cancelled:
				if p, ok := b.pending[r.ID]; ok {
					d.Disarmed = []wire.Pending{p}
				}
			}
			b.Apply(d, r.At)
			if r.Kind == journal.KindOutcome {
				delete(unstarted, r.ID)
				delete(running, r.ID)
			}
		}
	}
	for id, p := range unstarted {
		b.pending[id] = p
	}
	for _, r := range records {
		switch {
		case r.Kind == journal.KindReceived && !decidedRef[r.Seq]:
			undecided = append(undecided, r)
		case r.Kind == journal.KindStarted && running[r.ID].Seq == r.Seq:
			interrupted = append(interrupted, r)
		}
	}
	return b, undecided, interrupted
}

func isPlainID(id string) bool { return len(id) > 4 && id[:4] == "txt-" }
