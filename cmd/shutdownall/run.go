package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/stormguard/stormguard/keys"
	"github.com/stormguard/stormguard/mqtt"
	"github.com/stormguard/stormguard/wire"
)

// silentError is the failure of -wait: it names the hosts; no hint needed.
type silentError struct{ msg string }

func (e *silentError) Error() string { return e.msg }

// Quiet reports that the message needs no usage hint.
func (e *silentError) Quiet() bool { return true }

// Run does what the command line says and writes the result to out.
func Run(ctx context.Context, args []string, out io.Writer) error {
	j, err := load(args, os.Stderr)
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
		return s.status(ctx, out)
	}
	return s.send(ctx, out)
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
	if err := c.WaitReady(cctx); err != nil {
		return fmt.Errorf("%w (is the broker at %s up, and are the credentials right?)", err, strings.Join(s.j.mqtt.Brokers, ", "))
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
	expect := s.fleet.expected(cmd.Targets, s.j.s.Group)
	s.roll = newRoll(cmd.Action, cmd.ID, expect, time.Now())
	s.mu.Unlock()
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
	if s.j.s.Wait == 0 {
		return nil
	}
	if len(expect) == 0 {
		return &silentError{"no host is present to answer (shutdownall -status shows what the broker knows)"}
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
	failed, silent := s.roll.report(out)
	s.mu.Unlock()
	switch {
	case len(silent) > 0 && len(failed) > 0:
		return &silentError{fmt.Sprintf("silent: %s; not done: %s", strings.Join(silent, ", "), strings.Join(failed, ", "))}
	case len(silent) > 0:
		return &silentError{"present but silent: " + strings.Join(silent, ", ")}
	case len(failed) > 0:
		return &silentError{"not done: " + strings.Join(failed, ", ")}
	}
	fmt.Fprintf(out, "all %d host(s) answered\n", len(expect))
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

// status prints every host the broker knows about.
func (s *session) status(_ context.Context, out io.Writer) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	hosts := s.fleet.hosts()
	if len(hosts) == 0 {
		fmt.Fprintln(out, "no hosts known to the broker (agents announce commandavailable/<host>/shutdown)")
		return nil
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tONLINE\tGROUPS\tPENDING\tLAST ANSWER")
	for _, h := range hosts {
		st := s.fleet.states[h]
		online := "no"
		if s.fleet.present[h] {
			online = "yes"
		}
		if gone, ago := s.beats.gone(h, time.Now()); gone && s.fleet.present[h] {
			online = fmt.Sprintf("no (no heartbeat for %s)", ago)
		}
		if st.DryRun {
			online += " (dry run)"
		}
		pending := "-"
		if len(st.Pending) > 0 {
			var ps []string
			for _, p := range st.Pending {
				ps = append(ps, fmt.Sprintf("%s at %s", p.Action, p.Deadline.Format("15:04:05Z07:00")))
			}
			pending = strings.Join(ps, "; ")
		}
		last := "-"
		if st.Last != nil {
			last = fmt.Sprintf("%s %s %s (%s)", st.Last.Action, st.Last.ID, st.Last.State, st.Last.At.Format(time.RFC3339))
		}
		groups := strings.Join(st.Groups, ",")
		if groups == "" {
			groups = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", h, online, groups, pending, last)
	}
	return tw.Flush()
}
