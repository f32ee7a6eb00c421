package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
	"unicode/utf8"

	"github.com/stormguard/stormguard/heartbeat"
	"github.com/stormguard/stormguard/journal"
	"github.com/stormguard/stormguard/mqtt"
	"github.com/stormguard/stormguard/sdnotify"
	"github.com/stormguard/stormguard/wire"
)

// Config is everything the agent needs.
type Config struct {
	Policy
	// MQTT is the connection; the agent sets the client id, session,
	// will and manual acks itself.
	MQTT mqtt.Config
	QoS  byte
	// StateDir holds the journal.
	StateDir string
	// ShutdownCmd and RebootCmd are argv lists, run without a shell.
	ShutdownCmd []string
	RebootCmd   []string
	// WarnCmd is run with the warning text on its standard input (wall on
	// Unix); empty warns only in the log.
	WarnCmd []string
	// WarnBefore is how long before a deadline the second warning goes out.
	WarnBefore time.Duration
	// RunTimeout bounds the power command.
	RunTimeout time.Duration
	DryRun     bool
	Version    string
	Logger     *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	// Heartbeat is how often the agent beats (package heartbeat); 0 is off.
	Heartbeat time.Duration
}

// Validate reports the first bad setting, named as its flag.
func (c Config) Validate() error {
	switch {
	case wire.ValidName(c.Host) != nil:
		return fmt.Errorf("name: %w", wire.ValidName(c.Host))
	case c.StateDir == "":
		return errors.New("state-dir: empty")
	case c.MaxAge <= 0:
		return errors.New("max-age: must be positive")
	case len(c.ShutdownCmd) == 0:
		return errors.New("shutdown-cmd: empty")
	case len(c.RebootCmd) == 0:
		return errors.New("reboot-cmd: empty")
	case c.QoS > 2:
		return fmt.Errorf("qos: %d is not 0, 1 or 2", c.QoS)
	case c.RequireSigned && len(c.Keys) == 0:
		return errors.New("require-signed: no public-key given")
	}
	for _, g := range c.Groups {
		if err := wire.ValidName(g); err != nil {
			return fmt.Errorf("group: %w", err)
		}
	}
	return nil
}

// Agent obeys commands for one host.
type Agent struct {
	cfg     Config
	log     *slog.Logger
	now     func() time.Time
	book    *Book
	journal *journal.Journal
	client  *mqtt.Client
	inbox   chan *inbound
	// connected is signalled on every connect so the loop republishes state.
	connected chan struct{}
	// probe carries liveness checks through the loop (the watchdog's Alive).
	probe  chan chan struct{}
	warned map[string]bool
	last   *wire.Ack
}

type inbound struct {
	msg  mqtt.Message
	ok   bool // journaled; set before done is closed
	done chan struct{}
}

// New checks cfg and prepares an agent; Run starts it.
func New(cfg Config) (*Agent, error) {
	if cfg.WarnBefore == 0 {
		cfg.WarnBefore = time.Minute
	}
	if cfg.RunTimeout == 0 {
		cfg.RunTimeout = 2 * time.Minute
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a := &Agent{cfg: cfg, log: cfg.Logger, now: cfg.Now, inbox: make(chan *inbound), connected: make(chan struct{}, 1), probe: make(chan chan struct{}), warned: map[string]bool{}}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.now == nil {
		a.now = time.Now
	}
	m := cfg.MQTT
	if m.ClientID == "" {
		m.ClientID = "stormguard-agent-" + cfg.Host
	}
	m.CleanSession = false // rule 4: the broker queues what we miss
	m.ManualAck = true     // acknowledged only once journaled
	m.Logger = a.log
	m.Will = &mqtt.Will{Topic: cfg.Topics.Presence(cfg.Host), Payload: []byte(wire.PresenceFalse), QoS: 1, Retained: true}
	c, err := mqtt.New(m)
	if err != nil {
		return nil, err
	}
	a.client = c
	return a, nil
}

// Ready is closed once the agent is connected and subscribed.
func (a *Agent) Ready() <-chan struct{} { return a.client.Ready() }

// Run serves until ctx ends. It returns an error only when it cannot start
// (the journal cannot be opened); a broker outage is waited out.
func (a *Agent) Run(ctx context.Context) error {
	j, records, skipped, err := journal.Open(a.cfg.StateDir)
	if err != nil {
		return err
	}
	defer j.Close()
	if skipped > 0 {
		a.log.Warn("journal had unreadable lines (a torn write?)", "skipped", skipped, "path", j.Path())
	}
	a.journal = j
	book, undecided, interrupted := Replay(records)
	a.book = book
	for _, f := range a.cfg.Topics.AgentFilters(a.cfg.Host, a.cfg.Groups) {
		a.client.Handle(f, a.cfg.QoS, a.handle(ctx))
	}
	a.client.OnConnect(a.announce)
	heartbeat.Start(ctx, a.client, heartbeat.Config{Topics: a.cfg.Topics, Name: a.cfg.Host, Interval: a.cfg.Heartbeat, Logger: a.log})
	a.client.Start()
	a.log.Info("agent started", "host", a.cfg.Host, "groups", a.cfg.Groups, "dry_run", a.cfg.DryRun,
		"journal", j.Path(), "pending", len(book.pending), "version", a.cfg.Version)
	for _, r := range interrupted {
		detail := "the agent stopped while this ran (a power-off does that); not run again"
		if _, err := a.journal.Append(journal.Record{Kind: journal.KindOutcome, ID: r.ID, Action: r.Action, State: wire.Done, Detail: detail, At: a.now()}); err != nil {
			a.log.Error("journal write failed", "err", err)
		}
		a.log.Info("command was running when the agent stopped", "id", r.ID, "action", r.Action)
		a.ack(wire.Ack{ID: r.ID, Action: r.Action, State: wire.Done, Detail: detail})
	}
	for _, r := range undecided {
		a.decideRef(nil, r.Seq, Incoming{Topic: r.Topic, Payload: payloadOf(r), Retained: r.Retained, Duplicate: r.Duplicate, At: r.At})
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		a.fireDue()
		timer.Reset(a.nextWake())
		select {
		case <-ctx.Done():
			a.goodbye()
			return nil
		case in := <-a.inbox:
			in.ok = a.receive(in.msg)
			close(in.done)
		case <-a.connected:
			a.publishState(true, "")
		case p := <-a.probe:
			close(p)
		case <-timer.C:
		}
	}
}

// Alive reports whether the agent's loop answers within ctx: the watchdog's
// check. A broker outage does not stop the loop; a hung command does.
func (a *Agent) Alive(ctx context.Context) error {
	return sdnotify.Probe(ctx, a.probe, func(p chan struct{}) chan struct{} { return p })
}

// handle runs on paho's per-message goroutine: it hands the message to the
// loop and acknowledges it to the broker only once it is journaled.
func (a *Agent) handle(ctx context.Context) mqtt.Handler {
	return func(m mqtt.Message) {
		in := &inbound{msg: m, done: make(chan struct{})}
		select {
		case a.inbox <- in:
		case <-ctx.Done():
			return // not acknowledged: the broker delivers it again
		}
		<-in.done
		if in.ok {
			m.Ack()
		}
	}
}

// receive journals a message together with the decision about it, in one
// fsync'd write, and carries the decision out. It reports false when the
// journal could not be written: the message is then not acknowledged to
// the broker, which delivers it again.
func (a *Agent) receive(m mqtt.Message) bool {
	now := a.now()
	rec := journal.Record{At: now, Kind: journal.KindReceived, Topic: m.Topic, Retained: m.Retained, Duplicate: m.Duplicate}
	if utf8.Valid(m.Payload) {
		rec.Payload = string(m.Payload)
	} else {
		rec.PayloadRaw = m.Payload
	}
	if len(m.Payload) > wire.MaxPayload {
		// Keep the evidence, not a megabyte of it.
		rec.Payload, rec.PayloadRaw = "", nil
		rec.Detail = fmt.Sprintf("payload of %d bytes not kept", len(m.Payload))
	}
	rec.Seq = a.journal.NextSeq()
	fault("received")
	return a.decide(&rec, Incoming{Topic: m.Topic, Payload: m.Payload, Retained: m.Retained, Duplicate: m.Duplicate, At: now})
}

func payloadOf(r journal.Record) []byte {
	if r.PayloadRaw != nil {
		return r.PayloadRaw
	}
	return []byte(r.Payload)
}

// decide applies the policy to a message and carries it out. With recv
// set, the received record is journaled in the same write as the decision;
// without it the message was journaled earlier (a restart between the two).
func (a *Agent) decide(recv *journal.Record, in Incoming) bool {
	return a.decideRef(recv, 0, in)
}

func (a *Agent) decideRef(recv *journal.Record, ref int64, in Incoming) bool {
	now := a.now()
	d := a.cfg.Policy.Decide(a.book, in, now)
	var batch []journal.Record
	if recv != nil {
		ref = recv.Seq
		batch = append(batch, *recv)
	}
	detail := d.Detail
	if d.State == "" {
		detail = "not for this host"
	}
	batch = append(batch, a.decisionRecord(ref, d, detail))
	for _, p := range d.Disarmed {
		batch = append(batch, a.decisionRecord(ref, Decision{Cmd: wire.Command{ID: p.ID, Action: p.Action}, State: wire.Cancelled}, "cancelled by "+d.Cmd.ID))
	}
	if _, err := a.journal.Append(batch...); err != nil {
		a.log.Error("journal write failed; message not acted on", "err", err, "topic", in.Topic)
		return false
	}
	fault("journaled")
	if d.State == "" {
		return true
	}
	a.book.Apply(d, now)
	lvl := slog.LevelInfo
	if d.State == wire.Rejected {
		lvl = slog.LevelWarn
	}
	a.log.Log(context.Background(), lvl, "command", "id", d.Cmd.ID, "action", d.Cmd.Action, "topic", in.Topic,
		"state", d.State, "detail", d.Detail, "reason", d.Cmd.Reason)
	a.ack(wire.Ack{ID: d.Cmd.ID, Action: d.Cmd.Action, State: d.State, Detail: d.Detail, Deadline: d.Cmd.Deadline})
	for _, p := range d.Disarmed {
		a.ack(wire.Ack{ID: p.ID, Action: p.Action, State: wire.Cancelled, Detail: "cancelled by " + d.Cmd.ID + reasonSuffix(d.Cmd.Reason), Deadline: p.Deadline})
		a.warn(fmt.Sprintf("stormguard: the %s planned for %s is CANCELLED%s", p.Action, p.Deadline.UTC().Format("15:04:05Z"), reasonSuffix(d.Cmd.Reason)))
	}
	if d.Arm != nil {
		a.warn(fmt.Sprintf("stormguard: this host will %s at %s (in %s): %s\nTo call it off: shutdownall -cancel",
			d.Arm.Action, d.Arm.Deadline.UTC().Format("15:04:05Z"), d.Arm.Deadline.Sub(now).Round(time.Second), d.Arm.Reason))
	}
	if d.Arm != nil || len(d.Disarmed) > 0 {
		a.publishState(true, "")
	}
	if d.Run {
		a.execute(d)
	}
	return true
}

func reasonSuffix(r string) string {
	if r == "" {
		return ""
	}
	return ": " + r
}

// decisionRecord is the journal line for decision d about received record ref.
func (a *Agent) decisionRecord(ref int64, d Decision, detail string) journal.Record {
	return journal.Record{Kind: journal.KindDecision, Ref: ref, ID: d.Cmd.ID, Action: d.Cmd.Action, State: d.State,
		Detail: detail, Reason: d.Cmd.Reason, Deadline: d.Cmd.Deadline, At: a.now()}
}
