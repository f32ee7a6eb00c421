package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/stormguard/stormguard/keys"
	"github.com/stormguard/stormguard/mqtt"
	"github.com/stormguard/stormguard/wire"
)

// Exit codes (README, -h and the man page list them).
const (
	exitFailed      = 3 // a host answered that the command failed, or rejected, expired or cancelled it
	exitUnconfirmed = 4 // with -wait: a host stayed silent or showed no sign of going down
	exitUnknown     = 5 // a -target or -group the broker does not know: nothing sent
)

// silentError is the failure of -wait: it names the hosts; no hint needed.
type silentError struct {
	msg  string
	code int
}

func (e *silentError) Error() string { return e.msg }

// Quiet reports that the message needs no usage hint.
func (e *silentError) Quiet() bool { return true }

// ExitCode is the process's exit status for this failure.
func (e *silentError) ExitCode() int {
	if e.code == 0 {
		return exitUnconfirmed
	}
	return e.code
}

// Run does what the command line says and writes the result to out.
func Run(ctx context.Context, args []string, out io.Writer) error {
	j, err := load(args, out)
	if err != nil {
		return err
	}
	if j.s.Keygen != "" {
		priv, pub, err := keys.Generate(j.s.Keygen)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "private key (keep it on the publishing machines, -sign-key): %s\npublic key (give it to every agent, -public-key): %s\n", priv, pub)
		return nil
	}
	s := newSession(j)
	if err := s.connect(ctx); err != nil {
		return err
	}
	defer s.c.Close(250 * time.Millisecond)
	if j.s.Status {
		return s.status(out)
	}
	return s.send(ctx, out)
}

// Where the question before a bare shutdownall is asked; tests replace them.
var (
	stdin       io.Reader = os.Stdin
	interactive           = func() bool {
		fi, err := os.Stdin.Stat()
		return err == nil && fi.Mode()&os.ModeCharDevice != 0
	}
)

// confirm shows what the command reaches and asks; a bare shutdownall on
// a terminal is easily typed by mistake. Reason words or -y skip it.
func (s *session) confirm(out io.Writer, expect, away []string) error {
	if s.j.s.Yes || len(s.j.words) > 0 || s.j.action == wire.Cancel || !interactive() {
		return nil
	}
	verb := map[wire.Action]string{wire.Shutdown: "power down", wire.Reboot: "reboot"}[s.j.action]
	fmt.Fprintf(out, "This will %s %d host(s) now present: %s\n", verb, len(expect), orNone(expect))
	if len(away) > 0 {
		fmt.Fprintf(out, "and, when they come back, %d offline: %s\n", len(away), strings.Join(away, ", "))
	}
	fmt.Fprint(out, "Go ahead? [y/N] ")
	line, _ := bufio.NewReader(stdin).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return nil
	}
	return &silentError{msg: "nothing sent", code: 1}
}

func orNone(hosts []string) string {
	if len(hosts) == 0 {
		return "(none)"
	}
	return strings.Join(hosts, ", ")
}

// session is one connection with the fleet view and the roll call.
type session struct {
	j     job
	c     *mqtt.Client
	mu    sync.Mutex
	fleet *fleet
	roll  *roll
	probe chan struct{}
	kick  chan struct{}
	beats beats
}

func newSession(j job) *session {
	return &session{j: j, fleet: newFleet(), probe: make(chan struct{}, 1), kick: make(chan struct{}, 1)}
}

func (s *session) connect(ctx context.Context) error {
	t := s.j.topics
	c, err := mqtt.New(s.j.mqtt)
	if err != nil {
		return err
	}
	s.c = c
	c.Handle(t.Presence("+"), 1, s.onPresence)
	c.Handle(t.CommandAvailable("+", string(wire.Shutdown)), 1, s.onAgent)
	c.Handle(t.StateFilter(), 1, s.onState)
	c.Handle(t.AckFilter(), 1, s.onAck)
	c.Handle(t.HeartbeatFilter(), 1, s.beats.handle(t))
	probe := t.Event(s.j.mqtt.ClientID)
	c.Handle(probe, 1, func(mqtt.Message) { s.signal(s.probe) })
	c.Start()
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	// FailFast: a broker that refuses, or is not there, is said at once
	// with its cause (refused, not authorised, TLS, DNS).
	if err := c.WaitReady(cctx); err != nil {
		return err
	}
	// The retained presence comes right after each SUBACK; a message of our
	// own sent after that marks its end, then a short settle catches stragglers.
	if err := c.Publish(cctx, probe, 1, false, []byte("probe")); err != nil {
		return err
	}
	select {
	case <-s.probe:
	case <-cctx.Done():
		return fmt.Errorf("broker did not echo our probe: %w", cctx.Err())
	}
	select {
	case <-time.After(s.j.s.Settle):
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

func (s *session) signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

func (s *session) onPresence(m mqtt.Message) {
	host, ok := resource(m.Topic, s.j.topics, "presence")
	present, valid := wire.ParsePresence(m.Payload)
	if !ok || !valid {
		return
	}
	s.mu.Lock()
	s.fleet.present[host] = present
	if r := s.roll; r != nil && !m.Retained {
		r.presence(host, present)
	}
	s.mu.Unlock()
	s.signal(s.kick)
}

func (s *session) onAgent(m mqtt.Message) {
	host, ok := resource(m.Topic, s.j.topics, string(wire.Shutdown))
	present, valid := wire.ParsePresence(m.Payload)
	if ok && valid {
		s.mu.Lock()
		s.fleet.agents[host] = present
		s.mu.Unlock()
	}
}

func (s *session) onState(m mqtt.Message) {
	if m.Topic == s.j.topics.State(guardName) {
		var g guardState
		if json.Unmarshal(m.Payload, &g) == nil {
			s.mu.Lock()
			s.fleet.guard = &g
			s.mu.Unlock()
		}
		return
	}
	st, err := wire.DecodeHostState(m.Payload)
	if err != nil || wire.ValidName(st.Host) != nil {
		return
	}
	s.mu.Lock()
	s.fleet.states[st.Host] = st
	s.mu.Unlock()
}

func (s *session) onAck(m mqtt.Message) {
	a, err := wire.DecodeAck(m.Payload)
	if err != nil {
		return
	}
	s.mu.Lock()
	if s.roll != nil {
		s.roll.ack(a, time.Now())
	}
	s.mu.Unlock()
	s.signal(s.kick)
}

// resource extracts <res> from resourceavailable/<res>/presence or
// commandavailable/<res>/<name>, by rebuilding the topic through wire.
func resource(topic string, t wire.Topics, last string) (string, bool) {
	parts := strings.Split(topic, "/")
	if len(parts) < 3 {
		return "", false
	}
	res := parts[len(parts)-2]
	if wire.ValidName(res) != nil {
		return "", false
	}
	if topic == t.Presence(res) || topic == t.CommandAvailable(res, last) {
		return res, true
	}
	return "", false
}

// send publishes the command and, with -wait, runs the roll call.
func (s *session) send(ctx context.Context, out io.Writer) error {
	cmd := s.j.cmd
	payload, err := cmd.Encode()
	if err != nil {
		return err
	}
	s.mu.Lock()
	unknown := s.fleet.unknown(cmd.Targets, s.j.s.Group)
	expect := s.fleet.expected(cmd.Targets, s.j.s.Group)
	away := s.fleet.away(cmd.Targets, s.j.s.Group)
	s.roll = newRoll(cmd.Action, cmd.ID, expect, s.fleet.dryRuns(), time.Now())
	s.mu.Unlock()
	if len(unknown) > 0 {
		return &silentError{code: exitUnknown, msg: fmt.Sprintf("not known to the broker: %s; nothing sent (shutdownall -status lists the known hosts)", strings.Join(unknown, ", "))}
	}
	if err := s.confirm(out, expect, away); err != nil {
		return err
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for _, topic := range s.topics() {
		if err := s.c.Publish(pctx, topic, byte(s.j.s.QoS), false, payload); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "sent %s %s (%q) to %s\n", cmd.Action, cmd.ID, cmd.Reason, strings.Join(s.topics(), ", "))
	if !cmd.Deadline.IsZero() {
		fmt.Fprintf(out, "hosts act at %s unless cancelled: shutdownall -cancel\n", cmd.Deadline.Format(time.RFC3339))
	}
	if len(away) > 0 {
		fmt.Fprintf(out, "offline now, will get it from the broker when back: %s\n", strings.Join(away, ", "))
	}
	if s.j.s.Wait == 0 {
		return nil
	}
	if len(expect) == 0 {
		return &silentError{msg: "no host is present to answer (shutdownall -status shows what the broker knows)"}
	}
	fmt.Fprintf(out, "waiting up to %s for %d host(s): %s\n", s.j.s.Wait, len(expect), strings.Join(expect, ", "))
	deadline := time.After(s.j.s.Wait)
wait:
	for {
		s.mu.Lock()
		done := s.roll.settled()
		s.mu.Unlock()
		if done {
			break
		}
		select {
		case <-s.kick:
		case <-deadline:
			break wait
		case <-ctx.Done():
			break wait
		}
	}
	s.mu.Lock()
	o := s.roll.report(out)
	s.mu.Unlock()
	var parts []string
	for _, st := range []wire.AckState{wire.Failed, wire.Rejected, wire.Expired, wire.Cancelled, wire.Duplicate, wire.Done, wire.Scheduled, wire.Executing, wire.Stopping} {
		if hosts := o.why[st]; len(hosts) > 0 {
			if st == wire.Failed {
				for i, h := range hosts {
					if d := o.detail[h]; d != "" {
						hosts[i] = fmt.Sprintf("%s (%s)", h, oneLine(d))
					}
				}
			}
			parts = append(parts, string(st)+": "+strings.Join(hosts, ", "))
		}
	}
	if len(o.unconfirmed) > 0 {
		what := "no sign of going down"
		if cmd.Action == wire.Cancel {
			what = "no final answer"
		}
		parts = append(parts, what+": "+strings.Join(o.unconfirmed, ", "))
	}
	if len(o.silent) > 0 {
		parts = append(parts, "present but silent: "+strings.Join(o.silent, ", "))
	}
	if len(parts) > 0 {
		code := exitUnconfirmed
		if len(o.failed) > 0 {
			code = exitFailed
		}
		return &silentError{msg: strings.Join(parts, "; "), code: code}
	}
	switch cmd.Action {
	case wire.Cancel:
		fmt.Fprintf(out, "all %d host(s) answered\n", len(expect))
	default:
		fmt.Fprintf(out, "all %d host(s) confirmed (going down, or done in dry run)\n", len(expect))
	}
	return nil
}

// topics is where the command goes: each target's own topic, the group's,
// or the fleet topic.
func (s *session) topics() []string {
	t, a := s.j.topics, s.j.cmd.Action
	switch {
	case len(s.j.cmd.Targets) > 0:
		var out []string
		for _, h := range s.j.cmd.Targets {
			out = append(out, t.HostCommand(a, h))
		}
		return out
	case s.j.s.Group != "":
		return []string{t.GroupCommand(a, s.j.s.Group)}
	}
	return []string{t.Command(a)}
}
