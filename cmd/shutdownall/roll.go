package main

import (
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

// roll is the roll call for one command: who must answer, who did.
type roll struct {
	action  wire.Action
	id      string
	sent    time.Time
	expect  []string
	answers map[string]answer
	wentOff map[string]bool
}

type answer struct {
	state   wire.AckState
	detail  string
	latency time.Duration
}

func newRoll(action wire.Action, id string, expect []string, sent time.Time) *roll {
	return &roll{action: action, id: id, expect: expect, sent: sent, answers: map[string]answer{}, wentOff: map[string]bool{}}
}

// ack records a host's answer to this command; its latest answer wins.
// The per-countdown acks a cancel causes carry other ids and are skipped:
// the cancel's own ack is what counts.
func (r *roll) ack(a wire.Ack, at time.Time) {
	if a.ID == r.id {
		r.answers[a.Host] = answer{state: a.State, detail: a.Detail, latency: at.Sub(r.sent)}
	}
}

// presence records a host going offline after the command was sent.
func (r *roll) presence(host string, present bool) {
	if !present {
		r.wentOff[host] = true
	}
}

// ok reports whether host has answered as hoped: executed (and, for a
// power-down, gone offline), or for a cancel, cancelled or had nothing
// pending. A scheduled host is still counting down: not done yet.
func (r *roll) ok(host string) bool {
	a, ok := r.answers[host]
	if !ok {
		return false
	}
	switch r.action {
	case wire.Cancel:
		return a.state == wire.Cancelled || a.state == wire.Done
	case wire.Shutdown:
		return (a.state == wire.Executing || a.state == wire.Done) && r.wentOff[host]
	default:
		return a.state == wire.Executing || a.state == wire.Done
	}
}

// settled reports whether every expected host has answered for good:
// succeeded, or ended in a state that no wait will change.
func (r *roll) settled() bool {
	for _, h := range r.expect {
		if r.ok(h) {
			continue
		}
		switch r.answers[h].state {
		case wire.Rejected, wire.Expired, wire.Failed, wire.Duplicate, wire.Cancelled:
			continue
		}
		return false
	}
	return true
}

// report prints the table and returns the hosts that did not succeed.
func (r *roll) report(w io.Writer) (failed, silent []string) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tSTATE\tDETAIL\tLATENCY")
	for _, h := range r.expect {
		a, ok := r.answers[h]
		switch {
		case !ok:
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", h, "silent", "no answer", "-")
			silent = append(silent, h)
			continue
		case !r.ok(h):
			failed = append(failed, h)
		}
		state := string(a.state)
		if r.action == wire.Shutdown && r.wentOff[h] {
			state += ", offline"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", h, state, oneLine(a.detail), a.latency.Round(time.Millisecond))
	}
	tw.Flush()
	return failed, silent
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
}
