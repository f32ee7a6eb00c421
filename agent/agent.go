package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"
	"unicode/utf8"

	"github.com/stormguard/stormguard/journal"
	"github.com/stormguard/stormguard/mqtt"
	"github.com/stormguard/stormguard/wire"
)

// Config is everything the agent needs.
type Config struct {
	Policy
	// MQTT is the connection; the agent sets the client id, session,
	// will and manual acks itself.
	MQTT mqtt.Config
	QoS  byte
	// StateDir holds the journal and the MQTT session store.
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
	inbox   chan inbound
	// connected is signalled on every connect so the loop republishes state.
	connected chan struct{}
	warned    map[string]bool
	last      *wire.Ack
}

type inbound struct {
	msg  mqtt.Message
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
	a := &Agent{cfg: cfg, log: cfg.Logger, now: cfg.Now, inbox: make(chan inbound), connected: make(chan struct{}, 1), warned: map[string]bool{}}
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
	m.StoreDir = filepath.Join(cfg.StateDir, "mqtt")
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
	book, undecided := Replay(records)
	a.book = book
	for _, f := range a.cfg.Topics.AgentFilters(a.cfg.Host, a.cfg.Groups) {
		a.client.Handle(f, a.cfg.QoS, a.handle(ctx))
	}
	a.client.OnConnect(a.announce)
	a.client.Start()
	a.log.Info("agent started", "host", a.cfg.Host, "groups", a.cfg.Groups, "dry_run", a.cfg.DryRun,
		"journal", j.Path(), "pending", len(book.pending), "version", a.cfg.Version)
	for _, r := range undecided {
		a.decide(r, Incoming{Topic: r.Topic, Payload: payloadOf(r), Retained: r.Retained, Duplicate: r.Duplicate, At: r.At})
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
			a.receive(in.msg)
			close(in.done)
		case <-a.connected:
			a.publishState(true, "")
		case <-timer.C:
		}
	}
}

// handle runs on paho's per-message goroutine: it hands the message to the
// loop and acknowledges it to the broker only once it is journaled.
func (a *Agent) handle(ctx context.Context) mqtt.Handler {
	return func(m mqtt.Message) {
		in := inbound{msg: m, done: make(chan struct{})}
		select {
		case a.inbox <- in:
		case <-ctx.Done():
			return // not acknowledged: the broker delivers it again
		}
		<-in.done
		m.Ack()
	}
}

func (a *Agent) receive(m mqtt.Message) {
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
	rec, err := a.journal.Append(rec)
	if err != nil {
		a.log.Error("journal write failed; message not acted on", "err", err, "topic", m.Topic)
		return
	}
	a.decide(rec, Incoming{Topic: m.Topic, Payload: m.Payload, Retained: m.Retained, Duplicate: m.Duplicate, At: now})
}

func payloadOf(r journal.Record) []byte {
	if r.PayloadRaw != nil {
		return r.PayloadRaw
	}
	return []byte(r.Payload)
}

// decide applies the policy to a journaled message and carries it out.
func (a *Agent) decide(rec journal.Record, in Incoming) {
	now := a.now()
	d := a.cfg.Policy.Decide(a.book, in, now)
	if d.State == "" {
		a.record(rec.Seq, d, "not for this host")
		return
	}
	if in.Retained && rec.Detail == "" && d.State == wire.Rejected {
		a.log.Info("retained command ignored", "topic", in.Topic)
	}
	journaled := a.record(rec.Seq, d, "")
	for _, p := range d.Disarmed {
		a.record(rec.Seq, Decision{Cmd: wire.Command{ID: p.ID, Action: p.Action}, State: wire.Cancelled, Detail: "cancelled by " + d.Cmd.ID}, "")
	}
	a.book.Apply(d, now)
	lvl := slog.LevelInfo
	if d.State == wire.Rejected {
		lvl = slog.LevelWarn
	}
	a.log.Log(context.Background(), lvl, "command", "id", d.Cmd.ID, "action", d.Cmd.Action, "topic", in.Topic,
		"state", d.State, "detail", d.Detail, "reason", d.Cmd.Reason)
	for _, p := range d.Disarmed {
		a.ack(wire.Ack{ID: p.ID, Action: p.Action, State: wire.Cancelled, Detail: "cancelled by " + d.Cmd.ID + reasonSuffix(d.Cmd.Reason), Deadline: p.Deadline})
		a.warn(fmt.Sprintf("stormguard: the %s planned for %s is CANCELLED%s", p.Action, p.Deadline.UTC().Format("15:04:05Z"), reasonSuffix(d.Cmd.Reason)))
	}
	a.ack(wire.Ack{ID: d.Cmd.ID, Action: d.Cmd.Action, State: d.State, Detail: d.Detail, Deadline: d.Cmd.Deadline})
	if d.Arm != nil {
		a.warn(fmt.Sprintf("stormguard: this host will %s at %s (in %s): %s\nTo call it off: shutdownall -cancel",
			d.Arm.Action, d.Arm.Deadline.UTC().Format("15:04:05Z"), d.Arm.Deadline.Sub(now).Round(time.Second), d.Arm.Reason))
	}
	if d.Arm != nil || len(d.Disarmed) > 0 {
		a.publishState(true, "")
	}
	if d.Run {
		if !journaled {
			a.log.Error("power command not run: its decision could not be journaled", "id", d.Cmd.ID)
			return
		}
		a.execute(d)
	}
}

func reasonSuffix(r string) string {
	if r == "" {
		return ""
	}
	return ": " + r
}

// record journals a decision about the received record ref and reports
// whether it is safely on disk.
func (a *Agent) record(ref int64, d Decision, detail string) bool {
	if detail == "" {
		detail = d.Detail
	}
	r := journal.Record{Kind: journal.KindDecision, Ref: ref, ID: d.Cmd.ID, Action: d.Cmd.Action, State: d.State,
		Detail: detail, Reason: d.Cmd.Reason, Deadline: d.Cmd.Deadline, At: a.now()}
	if _, err := a.journal.Append(r); err != nil {
		a.log.Error("journal write failed", "err", err)
		return false
	}
	return true
}
