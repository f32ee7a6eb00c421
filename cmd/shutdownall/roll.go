package main

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/stormguard/stormguard/wire"
)

// fleet is what the broker's retained messages say about the hosts: who
// is present, which groups they are in, what they last said.
type fleet struct {
	present  map[string]bool
	agents   map[string]bool // hosts that announced commandavailable/<h>/shutdown True
	states   map[string]wire.HostState
	lastSeen map[string]time.Time
	guard    *guardState // stormguard's retained state, when there is one
}

func newFleet() *fleet {
	return &fleet{present: map[string]bool{}, agents: map[string]bool{}, states: map[string]wire.HostState{}, lastSeen: map[string]time.Time{}}
}

// hosts lists the agents (by announcement or state), sorted.
func (f *fleet) hosts() []string {
	seen := map[string]bool{}
	for h := range f.agents {
		seen[h] = true
	}
	for h := range f.states {
		seen[h] = true
	}
	out := make([]string, 0, len(seen))
	for h := range seen {
		out = append(out, h)
	}
	sort.Strings(out)
	return out
}

// expected lists the present hosts a command for targets or group reaches.
func (f *fleet) expected(targets []string, group string) []string {
	var out []string
	for _, h := range f.hosts() {
		if !f.present[h] {
			continue
		}
		if len(targets) > 0 && !slices.Contains(targets, h) {
			continue
		}
		if group != "" && !slices.Contains(f.states[h].Groups, group) {
			continue
		}
		out = append(out, h)
	}
	return out
}

// known reports whether the broker has heard of host at all.
func (f *fleet) known(host string) bool {
	_, a := f.agents[host]
	_, s := f.states[host]
	_, p := f.present[host]
	return a || s || p
}

// unknown lists the targets the broker has never heard of, or the group
// when no known host is in it.
func (f *fleet) unknown(targets []string, group string) []string {
	var out []string
	for _, t := range targets {
		if !f.known(t) {
			out = append(out, t)
		}
	}
	if group != "" {
		for _, st := range f.states {
			if slices.Contains(st.Groups, group) {
				return out
			}
		}
		out = append(out, "group "+group)
	}
	return out
}

// away lists the known hosts a command for targets or group reaches that
// are not present now.
func (f *fleet) away(targets []string, group string) []string {
	var out []string
	for _, h := range f.hosts() {
		if f.present[h] || (len(targets) > 0 && !slices.Contains(targets, h)) ||
			(group != "" && !slices.Contains(f.states[h].Groups, group)) {
			continue
		}
		out = append(out, h)
	}
	for _, t := range targets {
		if f.known(t) && !slices.Contains(f.hosts(), t) && !f.present[t] {
			out = append(out, t)
		}
	}
	return out
}

// dryRuns lists the hosts whose state says they run in dry run.
func (f *fleet) dryRuns() map[string]bool {
	out := map[string]bool{}
	for h, st := range f.states {
		if st.DryRun {
			out[h] = true
		}
	}
	return out
}

// roll is the roll call for one command: who must answer, who did, and
// for a power command, what shows that each host is really going down.
type roll struct {
	action  wire.Action
	id      string
	sent    time.Time
	expect  []string
	dryRun  map[string]bool // hosts whose state says dry run: only their done counts
	answers map[string]answer
	// down records the evidence that a host went down after the command
	// was sent: presence False (its goodbye or last will). A later True
	// clears it: the host was only away for a moment.
	down map[string]bool
}

type answer struct {
	state     wire.AckState
	detail    string
	latency   time.Duration
	executing bool // an executing ack came (the power command was about to start)
	stopping  bool // a stopping ack came: the OS is stopping the agent
}

func newRoll(action wire.Action, id string, expect []string, dryRun map[string]bool, sent time.Time) *roll {
	return &roll{action: action, id: id, expect: expect, dryRun: dryRun, sent: sent, answers: map[string]answer{}, down: map[string]bool{}}
}

// ack records a host's answer to this command. The per-countdown acks a
// cancel causes carry other ids and are skipped: the cancel's own ack is
// what counts. Acks may be handled out of order (each on its own
// goroutine): a later stage is never overwritten by an earlier one.
func (r *roll) ack(a wire.Ack, at time.Time) {
	if a.ID != r.id {
		return
	}
	old, seen := r.answers[a.Host]
	n := old
	n.executing = old.executing || a.State == wire.Executing || a.State == wire.Stopping
	n.stopping = old.stopping || a.State == wire.Stopping
	if !seen || stage(a.State) >= stage(old.state) {
		n.state, n.detail, n.latency = a.State, a.Detail, at.Sub(r.sent)
	}
	r.answers[a.Host] = n
}

// stage orders the states a host moves through for one command.
func stage(s wire.AckState) int {
	switch s {
	case wire.Received:
		return 0
	case wire.Scheduled:
		return 1
	case wire.Executing:
		return 2
	}
	return 3 // an outcome: done, stopping, failed, cancelled, rejected...
}

// presence records a live (not retained) presence change of a host.
func (r *roll) presence(host string, present bool) {
	r.down[host] = !present
}

// verdict is where a host stands with the command.
type verdict int

const (
	waiting verdict = iota // no answer yet, or not final
	success
	failure // an answer no wait will change: failed, rejected, expired...
)

// judge says where host stands and how to show it.
func (r *roll) judge(host string) (verdict, string) {
	a, ok := r.answers[host]
	if !ok {
		if r.down[host] {
			return waiting, "offline, no answer"
		}
		return waiting, "silent"
	}
	switch r.action {
	case wire.Cancel:
		switch a.state {
		case wire.Cancelled, wire.Done:
			return success, string(a.state)
		case wire.Received:
			return waiting, string(a.state)
		}
		return failure, string(a.state)
	}
	switch {
	case a.state == wire.Failed, a.state == wire.Rejected, a.state == wire.Expired,
		a.state == wire.Duplicate, a.state == wire.Cancelled:
		return failure, string(a.state)
	case a.state == wire.Done && (r.dryRun[host] || strings.HasPrefix(a.detail, "dry run")):
		return success, "done (dry run)"
	case r.dryRun[host]:
		// A dry-run agent runs nothing: only its done says it finished.
		return waiting, string(a.state)
	case a.stopping:
		return success, "stopping (going down)"
	case a.executing && r.down[host]:
		return success, string(a.state) + ", then offline"
	case a.state == wire.Done:
		return waiting, "done, still online"
	case a.state == wire.Executing:
		return waiting, "executing, still online"
	}
	return waiting, string(a.state)
}

// settled reports whether every expected host has an answer that no wait
// will change.
func (r *roll) settled() bool {
	for _, h := range r.expect {
		if v, _ := r.judge(h); v == waiting {
			return false
		}
	}
	return true
}

// outcome sorts the expected hosts by verdict.
type outcome struct {
	failed, unconfirmed, silent []string
	// why groups the failed hosts by their answer (failed, cancelled...).
	why    map[wire.AckState][]string
	detail map[string]string
}

// report prints the table and sorts the hosts that did not succeed.
func (r *roll) report(w io.Writer) outcome {
	o := outcome{why: map[wire.AckState][]string{}, detail: map[string]string{}}
	// The table is written in one piece: a shutdownall waiting in the
	// background may print its own on the same terminal at the same moment.
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tSTATE\tDETAIL\tLATENCY")
	for _, h := range r.expect {
		v, shown := r.judge(h)
		a, answered := r.answers[h]
		switch {
		case !answered:
			o.silent = append(o.silent, h)
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", h, shown, "no answer", "-")
			continue
		case v == failure:
			o.failed = append(o.failed, h)
			o.why[a.state] = append(o.why[a.state], h)
			o.detail[h] = a.detail
		case v == waiting:
			o.unconfirmed = append(o.unconfirmed, h)
		}
		detail := oneLine(a.detail)
		if detail == "" {
			detail = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", h, shown, detail, a.latency.Round(time.Millisecond))
	}
	tw.Flush()
	w.Write(buf.Bytes())
	return o
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
}
