package agent

import (
	"sort"
	"time"

	"github.com/stormguard/stormguard/journal"
	"github.com/stormguard/stormguard/wire"
)

// Book is what a host remembers between messages: what it decided about
// each command id, which countdowns are pending, and the newest issue time
// seen from each signing key. It is rebuilt from the journal at start, so
// a restart neither forgets nor repeats.
type Book struct {
	decided map[string]seen
	pending map[string]wire.Pending
	signers map[string]time.Time
}

type seen struct {
	state  wire.AckState
	at     time.Time
	plain  bool
	action wire.Action
}

// NewBook returns an empty book.
func NewBook() *Book {
	return &Book{decided: map[string]seen{}, pending: map[string]wire.Pending{}, signers: map[string]time.Time{}}
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
// id is remembered for the journal's retention. Plain text has no id of
// its own, so the same text on the same topic counts as a repeat only
// within maxAge, and not after it was cancelled: "storm", cancel, "storm"
// acts twice.
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
	if d.Cmd.ID != "" && acted(d.State) && d.Cmd.Action != wire.Cancel {
		b.decided[d.Cmd.ID] = seen{state: d.State, at: now, plain: d.Cmd.Plain, action: d.Cmd.Action}
	}
	if d.Signer != "" && acted(d.State) && d.SignerClock.After(b.signers[d.Signer]) {
		b.signers[d.Signer] = d.SignerClock
	}
	if d.Arm != nil {
		b.pending[d.Arm.ID] = *d.Arm
	}
	if d.Run || d.State == wire.Expired {
		delete(b.pending, d.Cmd.ID)
	}
	for _, p := range d.Disarmed {
		delete(b.pending, p.ID)
		b.decided[p.ID] = seen{state: wire.Cancelled, at: now, action: p.Action}
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

// Prune forgets the ids decided before now-retention, and the oldest ids
// beyond limit, except those with a pending countdown. It bounds the memory
// and the journal's snapshot whatever arrives.
func (b *Book) Prune(now time.Time, retention time.Duration, limit int) {
	for id, s := range b.decided {
		if _, ok := b.pending[id]; !ok && now.Sub(s.at) > retention {
			delete(b.decided, id)
		}
	}
	if len(b.decided) <= limit {
		return
	}
	type aged struct {
		id string
		at time.Time
	}
	all := make([]aged, 0, len(b.decided))
	for id, s := range b.decided {
		if _, ok := b.pending[id]; !ok {
			all = append(all, aged{id, s.at})
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].at.Before(all[j].at) })
	for _, a := range all[:min(len(all), max(0, len(b.decided)-limit))] {
		delete(b.decided, a.id)
	}
}

// Snapshot is the book as journal records: what a rotated journal starts
// with, so that replaying it alone rebuilds this book.
func (b *Book) Snapshot() []journal.Record {
	out := make([]journal.Record, 0, len(b.decided)+len(b.pending)+len(b.signers))
	for id, s := range b.decided {
		out = append(out, journal.Record{Kind: journal.KindSnapshot, ID: id, Action: s.action, State: s.state, Plain: s.plain, At: s.at})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	for key, at := range b.signers {
		out = append(out, journal.Record{Kind: journal.KindSnapshot, Topic: "signer", ID: key, At: at})
	}
	for _, p := range b.Pending() {
		out = append(out, journal.Record{Kind: journal.KindDecision, ID: p.ID, Action: p.Action, State: wire.Scheduled, Reason: p.Reason, Deadline: p.Deadline})
	}
	return out
}

// Replayer rebuilds a book from journal records fed to it one at a time,
// so start-up memory follows what the book keeps, not the journal's size.
type Replayer struct {
	b         *Book
	received  map[int64]journal.Record // received, no decision yet
	running   map[string]journal.Record
	unstarted map[string]wire.Pending
	// Connected is the newest KindConnected record's time: when the agent
	// was last known to be connected.
	Connected time.Time
}

// NewReplayer starts an empty replay.
func NewReplayer() *Replayer {
	return &Replayer{b: NewBook(), received: map[int64]journal.Record{}, running: map[string]journal.Record{}, unstarted: map[string]wire.Pending{}}
}

// Add takes the next record.
func (rp *Replayer) Add(r journal.Record) {
	b := rp.b
	switch r.Kind {
	case journal.KindReceived:
		rp.received[r.Seq] = r
	case journal.KindConnected:
		if r.At.After(rp.Connected) {
			rp.Connected = r.At
		}
	case journal.KindSnapshot:
		if r.Topic == "signer" {
			b.signers[r.ID] = r.At
			return
		}
		b.decided[r.ID] = seen{state: r.State, at: r.At, plain: r.Plain, action: r.Action}
	case journal.KindStarted:
		delete(rp.unstarted, r.ID)
		rp.running[r.ID] = r
	case journal.KindDecision, journal.KindOutcome:
		delete(rp.received, r.Ref)
		if r.ID == "" || r.State == "" {
			return
		}
		d := Decision{Cmd: wire.Command{ID: r.ID, Action: r.Action, Plain: isPlainID(r.ID)}, State: r.State}
		switch r.State {
		case wire.Scheduled:
			d.Arm = &wire.Pending{ID: r.ID, Action: r.Action, Reason: r.Reason, Deadline: r.Deadline}
		case wire.Executing:
			d.Run = true
			if r.Kind == journal.KindDecision {
				// Decided, not yet started: run again within its age.
				due := r.Deadline
				if due.IsZero() {
					due = r.At
				}
				rp.unstarted[r.ID] = wire.Pending{ID: r.ID, Action: r.Action, Reason: r.Reason, Deadline: due}
			}
		case wire.Cancelled:
			if p, ok := b.pending[r.ID]; ok {
				d.Disarmed = []wire.Pending{p}
			}
		}
		if r.Signer != "" {
			d.Signer, d.SignerClock = r.Signer, r.SignerClock
		}
		b.Apply(d, r.At)
		if r.Kind == journal.KindOutcome {
			delete(rp.unstarted, r.ID)
			delete(rp.running, r.ID)
		}
	}
}

// Finish returns the book; the received messages that have no decision
// yet (the process stopped in between), which the caller decides now so
// no journaled message is lost; and the commands that started but have
// no outcome: the process stopped while they ran, which is what a
// power-off does. A command decided "executing" whose start was never
// journaled is pending again, due at once: it runs if still within
// max-age, else it expires.
func (rp *Replayer) Finish() (b *Book, undecided, interrupted []journal.Record) {
	for id, p := range rp.unstarted {
		rp.b.pending[id] = p
	}
	for _, r := range rp.received {
		undecided = append(undecided, r)
	}
	sort.Slice(undecided, func(i, j int) bool { return undecided[i].Seq < undecided[j].Seq })
	for _, r := range rp.running {
		interrupted = append(interrupted, r)
	}
	sort.Slice(interrupted, func(i, j int) bool { return interrupted[i].Seq < interrupted[j].Seq })
	return rp.b, undecided, interrupted
}

// Replay rebuilds the book from journal records (see Replayer).
func Replay(records []journal.Record) (b *Book, undecided, interrupted []journal.Record) {
	rp := NewReplayer()
	for _, r := range records {
		rp.Add(r)
	}
	return rp.Finish()
}

func isPlainID(id string) bool { return len(id) > 4 && id[:4] == "txt-" }
