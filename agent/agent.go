package agent

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"time"
	"unicode"
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
	// Retention is how long the journal remembers a command id it acted
	// on (default 90 days); MaxIDs caps how many it remembers (default
	// 100,000, the oldest forgotten first). JournalLimit is the size at
	// which the journal is rotated (default 4 MiB).
	Retention    time.Duration
	MaxIDs       int
	JournalLimit int64
	// Heartbeat is how often the agent beats (package heartbeat); 0 is off.
	Heartbeat time.Duration
	// Stages places the host in a staged power-down: its stage (0 means
	// wire.StageDefault) and how long each stage waits at most for the
	// ones before it (0 means DefaultStageLimit). Broker says this host
	// runs the broker; it is reported in the state.
	Stages Stages
	Broker bool
	// Wake, when set, is announced in the state so the host can be woken
	// with Wake-on-LAN after a storm.
	Wake *wire.Wake
	// PreShutdownCmd is an argv run (no shell) before the power command,
	// for at most PreShutdownTimeout (default 2 minutes).
	PreShutdownCmd     []string
	PreShutdownTimeout time.Duration
}

// DefaultStageLimit is how long a stage waits at most for the stages
// before it to go.
const DefaultStageLimit = 3 * time.Minute

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
	case c.Retention < 0:
		return errors.New("journal-retention: must not be negative")
	case c.JournalLimit < 0 || (c.JournalLimit > 0 && c.JournalLimit < 64<<10):
		return errors.New("journal-max-bytes: at least 65536")
	case c.Stages.Stage < wire.StageFirst || c.Stages.Stage > wire.StageLast:
		return fmt.Errorf("stage: %d is not %d to %d", c.Stages.Stage, wire.StageFirst, wire.StageLast)
	case c.Stages.Limit < 0:
		return errors.New("stage-limit: must not be negative")
	case c.PreShutdownTimeout < 0:
		return errors.New("pre-shutdown-timeout: must not be negative")
	}
	if c.Wake != nil {
		if _, err := wire.MagicPacket(c.Wake.MAC); err != nil {
			return fmt.Errorf("wake-on-lan: %w", err)
		}
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
	out     *outbox
	inbox   chan *inbound
	// events carries connects and losses to the loop.
	events chan connEvent
	// ran carries the power command's end back to the loop.
	ran  chan outcome
	stop chan struct{}
	// probe carries liveness checks through the loop (the watchdog's Alive).
	probe  chan chan struct{}
	warned map[string]bool
	last   *wire.Ack
	// fleet is the other hosts as the broker shows them (stage.go);
	// fleetIn carries their states, presence and acks to the loop.
	fleet   Fleet
	fleetIn chan mqtt.Message
	waiting string
	// reannounced is when the agent last answered its own presence False.
	reannounced time.Time
	// hooked carries the pre-shutdown command's end to the loop, which
	// journals it before the power command starts.
	hooked chan hookDone

	// The connection as the loop sees it. While draining, what arrives may
	// have waited in the broker's session queue: from the start, and from
	// every lost connection, until the link has been up and quiet for
	// settle. awayFrom is when the agent was last known connected.
	online      bool
	draining    bool
	settleAt    time.Time
	awayFrom    time.Time
	connectedAt time.Time
	markAt      time.Time

	// running is the power command in progress; goingDown is set once a
	// real one has started: the host is on its way down.
	running   *Decision
	goingDown *Decision
	// paths caches where the power commands were found on PATH.
	paths     map[string]string
	clockNote string
}

// settle is how long the link must be up with nothing arriving before the
// agent takes what comes next as live rather than from its session queue.
const settle = 2 * time.Second

// markEvery is how often a connected agent notes in its journal that it
// is connected, so that after a crash or a power cut it knows, to this
// precision, how long it was away.
const markEvery = time.Minute

type inbound struct {
	msg  mqtt.Message
	done chan struct{}
}

type connEvent struct {
	up bool
	at time.Time
}

type outcome struct {
	d      Decision
	state  wire.AckState
	detail string
}

// New checks cfg and prepares an agent; Run starts it.
func New(cfg Config) (*Agent, error) {
	if cfg.WarnBefore == 0 {
		cfg.WarnBefore = time.Minute
	}
	if cfg.RunTimeout == 0 {
		cfg.RunTimeout = 2 * time.Minute
	}
	if cfg.Retention == 0 {
		cfg.Retention = 90 * 24 * time.Hour
	}
	if cfg.MaxIDs == 0 {
		cfg.MaxIDs = 100_000
	}
	if cfg.JournalLimit == 0 {
		cfg.JournalLimit = 4 << 20
	}
	if cfg.Stages.Stage == 0 {
		cfg.Stages.Stage = wire.StageDefault
	}
	if cfg.Stages.Limit == 0 {
		cfg.Stages.Limit = DefaultStageLimit
	}
	if cfg.PreShutdownTimeout == 0 {
		cfg.PreShutdownTimeout = 2 * time.Minute
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a := &Agent{cfg: cfg, log: cfg.Logger, now: cfg.Now, inbox: make(chan *inbound), events: make(chan connEvent, 16),
		ran: make(chan outcome, 1), stop: make(chan struct{}), probe: make(chan chan struct{}), warned: map[string]bool{}, draining: true, paths: map[string]string{},
		fleet: Fleet{}, fleetIn: make(chan mqtt.Message), hooked: make(chan hookDone)}
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
	m.ManualAck = true     // acknowledged only once the decision is durable
	// One message at a time, in the order the broker sent them: a CANCEL
	// right behind a SHUTDOWN is decided after it. The handler waits only
	// for the loop, which never waits for the broker.
	m.Ordered = true
	m.Logger = a.log
	m.Will = &mqtt.Will{Topic: cfg.Topics.Presence(cfg.Host), Payload: []byte(wire.PresenceFalse), QoS: 1, Retained: true}
	c, err := mqtt.New(m)
	if err != nil {
		return nil, err
	}
	a.client = c
	a.out = newOutbox(c, cfg.QoS, a.log)
	return a, nil
}

// Ready is closed once the agent is connected and subscribed.
func (a *Agent) Ready() <-chan struct{} { return a.client.Ready() }

// Run serves until ctx ends. It returns an error only when it cannot start
// (the journal cannot be read); a broker outage is waited out, and so is a
// disk that will not take the journal.
func (a *Agent) Run(ctx context.Context) error {
	rp := NewReplayer()
	j, skipped, err := journal.Open(a.cfg.StateDir, rp.Add)
	if err != nil {
		return err
	}
	defer j.Close()
	if skipped > 0 {
		a.log.Warn("journal had unreadable lines (a torn write?)", "skipped", skipped, "path", j.Path())
	}
	if _, err := j.Pending(); err != nil {
		a.log.Error("journal cannot be written; decisions are kept in memory until it can", "err", err, "path", j.Path())
	}
	a.journal = j
	book, undecided, interrupted := rp.Finish()
	a.book = book
	a.awayFrom = rp.Connected
	a.book.Prune(a.now(), a.cfg.Retention, a.cfg.MaxIDs)
	a.rotateIfLarge()
	warmEncoders()
	for _, f := range a.cfg.Topics.AgentFilters(a.cfg.Host, a.cfg.Groups) {
		a.client.Handle(f, a.cfg.QoS, a.handle(ctx))
	}
	// The other hosts' states, presence and acks tell the stages apart.
	// QoS 0: nothing of it is queued while this host is away, and the
	// retained states and presence come again at every subscribe.
	for _, f := range []string{a.cfg.Topics.StateFilter(), a.cfg.Topics.PresenceFilter(), a.cfg.Topics.AckFilter()} {
		a.client.Handle(f, 0, a.handleFleet(ctx))
	}
	a.client.OnConnect(func() { a.event(ctx, connEvent{up: true}) })
	a.client.OnLost(func(error) { a.event(ctx, connEvent{up: false}) })
	heartbeat.Start(ctx, a.client, heartbeat.Config{Topics: a.cfg.Topics, Name: a.cfg.Host, Interval: a.cfg.Heartbeat, Logger: a.log})
	a.client.Start()
	a.log.Info("agent started", "host", a.cfg.Host, "groups", a.cfg.Groups, "dry_run", a.cfg.DryRun,
		"journal", j.Path(), "pending", len(book.pending), "version", a.cfg.Version)
	for _, r := range interrupted {
		detail := "the agent stopped while this ran (a power-off does that); not run again"
		a.append(true, journal.Record{Kind: journal.KindOutcome, ID: r.ID, Action: r.Action, State: wire.Done, Detail: detail, At: a.now()})
		a.log.Info("command was running when the agent stopped", "id", r.ID, "action", r.Action)
		a.ack(wire.Ack{ID: r.ID, Action: r.Action, State: wire.Done, Detail: detail})
	}
	for _, r := range undecided {
		// Journaled, then the agent stopped before deciding: the message
		// has waited since it arrived (and before that, if it came from the
		// queue, for an unknown time).
		waited := a.now().Sub(r.At)
		if r.Queued || waited < 0 {
			waited = -1
		}
		d, _ := a.decideRef(nil, r.Seq, Incoming{Topic: r.Topic, Payload: payloadOf(r), Retained: r.Retained, Duplicate: r.Duplicate, At: r.At, Queued: true, Away: waited})
		if d.Run {
			a.execute(d)
		}
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		a.fireDue()
		a.housekeep()
		timer.Reset(a.nextWake())
		select {
		case <-ctx.Done():
			a.goodbye()
			return nil
		case in := <-a.inbox:
			a.receive(in)
		case ev := <-a.events:
			a.onConnEvent(ev)
		case o := <-a.ran:
			a.finished(o)
		case m := <-a.fleetIn:
			a.onFleet(m)
		case h := <-a.hooked:
			a.onHook(h)
		case p := <-a.probe:
			close(p)
		case <-timer.C:
		}
	}
}

func (a *Agent) event(ctx context.Context, ev connEvent) {
	ev.at = a.now()
	select {
	case a.events <- ev:
	case <-ctx.Done():
	}
}

// onConnEvent tracks the link: on a connect it announces the host and
// starts the settle wait; on a loss it notes until when the agent was
// connected and drains again.
func (a *Agent) onConnEvent(ev connEvent) {
	if !ev.up {
		if a.online {
			a.awayFrom = ev.at
			a.append(false, journal.Record{Kind: journal.KindConnected, At: ev.at, Detail: "connection lost"})
		}
		a.online, a.draining = false, true
		return
	}
	a.online = true
	a.connectedAt = ev.at
	a.settleAt = ev.at.Add(settle)
	a.announce()
	a.publishState(!a.isGoingDown(), "")
}

// Alive reports whether the agent's loop answers within ctx: the watchdog's
// check. Neither a broker outage nor a running power command stops the loop.
func (a *Agent) Alive(ctx context.Context) error {
	return sdnotify.Probe(ctx, a.probe, func(p chan struct{}) chan struct{} { return p })
}

// handle runs on paho's delivery goroutine: it hands the message to the
// loop, which acknowledges it to the broker once its decision is durable.
func (a *Agent) handle(ctx context.Context) mqtt.Handler {
	return func(m mqtt.Message) {
		in := &inbound{msg: m, done: make(chan struct{})}
		select {
		case a.inbox <- in:
		case <-ctx.Done():
			return // not acknowledged: the broker delivers it again
		}
		select {
		case <-in.done:
		case <-ctx.Done():
		}
	}
}

// away is how long the agent had been away from the broker before the
// current connection: the most a queued message can have waited. It is
// negative when that cannot be told (the clock is behind the last mark).
func (a *Agent) away(now time.Time) time.Duration {
	if a.awayFrom.IsZero() {
		// Never connected from this state directory: the broker holds no
		// session for it, so nothing can be queued.
		return 0
	}
	ref := now
	if a.online {
		ref = a.connectedAt
	}
	d := ref.Sub(a.awayFrom)
	if d < 0 {
		return -1
	}
	return d
}

// receive journals a message together with the decision about it,
// acknowledges it to the broker, and only then carries the decision out:
// a power-off that kills the agent cannot make the broker deliver the
// message again.
func (a *Agent) receive(in *inbound) {
	m := in.msg
	now := a.now()
	queued := a.draining
	if queued && a.online {
		a.settleAt = now.Add(settle)
	}
	rec := journal.Record{At: now, Kind: journal.KindReceived, Topic: m.Topic, Retained: m.Retained, Duplicate: m.Duplicate, Queued: queued}
	keepPayload(&rec, m.Payload)
	rec.Seq = a.journal.NextSeq()
	fault("received")
	d, _ := a.decideRef(&rec, 0, Incoming{Topic: m.Topic, Payload: m.Payload, Retained: m.Retained, Duplicate: m.Duplicate, At: now,
		Queued: queued, Away: a.away(now)})
	// Acknowledged whether or not the disk took the journal: the decision
	// is held in memory and carried out, and a message never acknowledged
	// would sit in the broker's in-flight window until the next connect.
	m.Ack()
	close(in.done)
	if d.Run {
		a.execute(d)
	}
}

// keepPayload stores the message in its received record: as text when it
// is UTF-8 without control characters other than tab and newline, else as
// raw bytes (base64 in the file), and not at all past the size limit.
func keepPayload(rec *journal.Record, p []byte) {
	switch {
	case len(p) > wire.MaxPayload:
		rec.Detail = fmt.Sprintf("payload of %d bytes not kept", len(p))
	case printable(p):
		rec.Payload = string(p)
	default:
		rec.PayloadRaw = p
	}
}

func printable(p []byte) bool {
	if !utf8.Valid(p) {
		return false
	}
	for _, r := range string(p) {
		if unicode.IsControl(r) && r != '\t' && r != '\n' {
			return false
		}
	}
	return true
}

// keepRejected is how much of a rejected payload the journal keeps: the
// evidence, not the bulk of a flood.
const keepRejected = 256

func payloadOf(r journal.Record) []byte {
	if r.PayloadRaw != nil {
		return r.PayloadRaw
	}
	return []byte(r.Payload)
}

// decideRef applies the policy to a message, journals the message with
// the decision (synced when the decision arms, runs or disarms anything),
// updates the book and sends the acks. With recv nil the message was
// journaled earlier (the agent stopped in between) as record ref. The
// caller runs the power command when the decision says so. It reports
// whether the journal took the records.
func (a *Agent) decideRef(recv *journal.Record, ref int64, in Incoming) (Decision, bool) {
	now := a.now()
	d := a.cfg.Policy.Decide(a.book, in, now)
	var batch []journal.Record
	if recv != nil {
		ref = recv.Seq
		if (d.State == wire.Rejected || d.State == "") && len(recv.Payload)+len(recv.PayloadRaw) > keepRejected {
			trimPayload(recv)
		}
		batch = append(batch, *recv)
	}
	detail := d.Detail
	if d.State == "" {
		detail = "not for this host"
	}
	rec := a.decisionRecord(ref, d, detail)
	rec.Signer, rec.SignerClock = d.Signer, d.SignerClock
	batch = append(batch, rec)
	for _, p := range d.Disarmed {
		batch = append(batch, a.decisionRecord(ref, Decision{Cmd: wire.Command{ID: p.ID, Action: p.Action}, State: wire.Cancelled}, "cancelled by "+d.Cmd.ID))
	}
	if d.Run {
		// The decision and the start go to the disk in one synced write:
		// the only durable write on the way to the power command.
		batch = append(batch, a.startRecords(d)...)
	}
	durable := d.Arm != nil || d.Run || len(d.Disarmed) > 0
	ok := a.append(durable, batch...)
	fault("journaled")
	if d.State == "" {
		return d, ok
	}
	a.book.Apply(d, now)
	if d.Clock != "" {
		a.clockNote = d.Clock
		a.log.Warn("clock disagreement", "id", d.Cmd.ID, "detail", d.Clock)
	}
	lvl := slog.LevelInfo
	if d.State == wire.Rejected {
		lvl = slog.LevelWarn
	}
	a.log.Log(context.Background(), lvl, "command", "id", d.Cmd.ID, "action", d.Cmd.Action, "topic", in.Topic,
		"state", d.State, "detail", d.Detail, "reason", wire.OneLine(d.Cmd.Reason), "queued", in.Queued)
	a.ack(wire.Ack{ID: d.Cmd.ID, Action: d.Cmd.Action, State: d.State, Detail: d.Detail + a.journalNote(ok), Deadline: d.Cmd.Deadline})
	for _, p := range d.Disarmed {
		a.ack(wire.Ack{ID: p.ID, Action: p.Action, State: wire.Cancelled, Detail: "cancelled by " + d.Cmd.ID + reasonSuffix(d.Cmd.Reason) + a.journalNote(ok), Deadline: p.Deadline})
		a.warn(fmt.Sprintf("stormguard: the %s planned for %s is CANCELLED%s", p.Action, p.Deadline.UTC().Format("15:04:05Z"), reasonSuffix(d.Cmd.Reason)))
	}
	if d.Arm != nil {
		a.warn(fmt.Sprintf("stormguard: this host will %s at %s (in %s): %s\nTo call it off: shutdownall -cancel",
			d.Arm.Action, d.Arm.Deadline.UTC().Format("15:04:05Z"), d.Arm.Deadline.Sub(now).Round(time.Second), wire.OneLine(d.Arm.Reason)))
	}
	if d.Arm != nil || len(d.Disarmed) > 0 {
		a.publishState(true, "")
	}
	return d, ok
}

// trimPayload keeps the head of a long rejected payload and what it was.
func trimPayload(r *journal.Record) {
	p := payloadOf(*r)
	sum := sha256.Sum256(p)
	r.Detail = fmt.Sprintf("payload of %d bytes, sha256 %x; the first %d kept", len(p), sum[:8], keepRejected)
	head := p[:keepRejected]
	r.Payload, r.PayloadRaw = "", nil
	keepPayload(r, head)
	if r.Payload != "" && !utf8.ValidString(r.Payload) {
		r.Payload, r.PayloadRaw = "", head
	}
}

// append writes records to the journal and reports whether the disk took
// them. What it refuses stays in memory (the journal retries it) and is
// reported in the host state; it never stops the agent.
func (a *Agent) append(sync bool, rs ...journal.Record) bool {
	if _, err := a.journal.Append(sync, rs...); err != nil {
		a.log.Error("journal write failed; kept in memory and written when the disk takes it", "err", err)
		return false
	}
	return true
}

func (a *Agent) journalNote(ok bool) string {
	if ok {
		return ""
	}
	_, err := a.journal.Pending()
	return fmt.Sprintf(" (journal not written: %v; held in memory)", err)
}

func reasonSuffix(r string) string {
	if r == "" {
		return ""
	}
	return ": " + wire.OneLine(r)
}

// decisionRecord is the journal line for decision d about received record ref.
func (a *Agent) decisionRecord(ref int64, d Decision, detail string) journal.Record {
	return journal.Record{Kind: journal.KindDecision, Ref: ref, ID: d.Cmd.ID, Action: d.Cmd.Action, State: d.State,
		Detail: detail, Reason: d.Cmd.Reason, Deadline: d.Cmd.Deadline, At: a.now()}
}

// rotateIfLarge starts a new journal from the book once the current one
// passes its limit; nothing runs meanwhile (the loop calls it).
func (a *Agent) rotateIfLarge() {
	if a.journal.Size() < a.cfg.JournalLimit || a.running != nil {
		return
	}
	a.book.Prune(a.now(), a.cfg.Retention, a.cfg.MaxIDs)
	snap := a.book.Snapshot()
	if !a.awayFrom.IsZero() || a.online {
		at := a.awayFrom
		if a.online {
			at = a.now()
		}
		snap = append(snap, journal.Record{Kind: journal.KindConnected, At: at})
	}
	if err := a.journal.Rotate(snap); err != nil {
		a.log.Error("journal rotation failed", "err", err)
		return
	}
	a.log.Info("journal rotated", "path", a.journal.Path(), "kept_ids", len(a.book.decided), "pending", len(a.book.pending))
}
