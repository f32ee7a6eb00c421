package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/stormguard/stormguard/wire"
)

// The resource names of stormguard and the servicemanager (their defaults).
const (
	guardName   = "stormguard"
	managerName = "servicemanager"
)

// guardState is the part of stormguard's retained state -status shows.
// It is decoded here, not imported, so shutdownall stays small.
type guardState struct {
	At       time.Time               `json:"at"`
	Phase    string                  `json:"phase"`
	Reason   string                  `json:"reason,omitempty"`
	Deadline time.Time               `json:"deadline,omitzero"`
	Blind    bool                    `json:"blind"`
	Sources  map[string]sourceHealth `json:"sources"`
}

type sourceHealth struct {
	Kind      string `json:"kind"`
	Status    string `json:"status"`
	LastError string `json:"last_error,omitempty"`
	Detail    string `json:"detail,omitempty"`
}

// hostStatus is one row of -status, and one element of its -json form.
type hostStatus struct {
	Host     string     `json:"host"`
	Online   bool       `json:"online"`
	LastSeen *time.Time `json:"last_seen,omitempty"`
	// NoHeartbeatFor is set when the presence still says online but the
	// host's heartbeats stopped this long ago (a broker that lost its will).
	NoHeartbeatFor string         `json:"no_heartbeat_for,omitempty"`
	DryRun         bool           `json:"dry_run,omitempty"`
	Groups         []string       `json:"groups,omitempty"`
	Pending        []wire.Pending `json:"pending,omitempty"`
	Last           *wire.Ack      `json:"last,omitempty"`
}

// fleetStatus is what -status shows.
type fleetStatus struct {
	Stormguard     *guardStatus `json:"stormguard"`
	Servicemanager *bool        `json:"servicemanager_online"`
	Hosts          []hostStatus `json:"hosts"`
}

type guardStatus struct {
	Online *bool `json:"online"`
	guardState
}

// statusOf gathers what the broker said, for the hosts targets or group
// select (all when both are empty).
func (f *fleet) statusOf(targets []string, group string) fleetStatus {
	var fs fleetStatus
	if p, ok := f.present[guardName]; ok || f.guard != nil {
		gs := &guardStatus{}
		if ok {
			gs.Online = &p
		}
		if f.guard != nil {
			gs.guardState = *f.guard
		}
		fs.Stormguard = gs
	}
	if p, ok := f.present[managerName]; ok {
		fs.Servicemanager = &p
	}
	fs.Hosts = []hostStatus{}
	for _, h := range f.hosts() {
		st := f.states[h]
		if len(targets) > 0 && !slices.Contains(targets, h) || group != "" && !slices.Contains(st.Groups, group) {
			continue
		}
		hs := hostStatus{Host: h, Online: f.present[h], DryRun: st.DryRun, Groups: st.Groups, Pending: st.Pending, Last: st.Last}
		if !hs.Online {
			seen := st.At
			if st.Last != nil && st.Last.At.After(seen) {
				seen = st.Last.At
			}
			if !seen.IsZero() {
				hs.LastSeen = &seen
			}
		}
		fs.Hosts = append(fs.Hosts, hs)
	}
	return fs
}

// status prints the fleet: stormguard and the servicemanager, then every
// host selected.
func (s *session) status(out io.Writer) error {
	s.mu.Lock()
	unknown := s.fleet.unknown(s.j.s.Targets, s.j.s.Group)
	fs := s.fleet.statusOf(s.j.s.Targets, s.j.s.Group)
	for i, h := range fs.Hosts {
		if gone, since := s.beats.gone(h.Host, time.Now()); gone && h.Online {
			fs.Hosts[i].Online, fs.Hosts[i].NoHeartbeatFor = false, since.String()
		}
	}
	s.mu.Unlock()
	if len(unknown) > 0 {
		return &silentError{code: exitUnknown, msg: "not known to the broker: " + strings.Join(unknown, ", ")}
	}
	if s.j.s.JSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(fs)
	}
	printGuard(out, fs, time.Now())
	if len(fs.Hosts) == 0 {
		fmt.Fprintln(out, "no hosts known to the broker (agents announce commandavailable/<host>/shutdown)")
		return nil
	}
	var buf bytes.Buffer // one write, as for the -wait table
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tONLINE\tGROUPS\tPENDING\tLAST ANSWER")
	for _, h := range fs.Hosts {
		online := "yes"
		if !h.Online {
			online = "no"
			if h.NoHeartbeatFor != "" {
				online += " (no heartbeat for " + h.NoHeartbeatFor + ")"
			} else if h.LastSeen != nil {
				online += ", last seen " + ago(*h.LastSeen, time.Now())
			}
		}
		if h.DryRun {
			online += " (dry run)"
		}
		pending := "-"
		if len(h.Pending) > 0 {
			var ps []string
			for _, p := range h.Pending {
				ps = append(ps, fmt.Sprintf("%s at %s", p.Action, p.Deadline.Format("15:04:05Z07:00")))
			}
			pending = strings.Join(ps, "; ")
		}
		last := "-"
		if h.Last != nil {
			last = fmt.Sprintf("%s %s %s (%s)", h.Last.Action, h.Last.ID, h.Last.State, h.Last.At.Format(time.RFC3339))
			if h.Last.Detail != "" && (h.Last.State == wire.Failed || h.Last.State == wire.Rejected || h.Last.State == wire.Expired) {
				last += ": " + oneLine(h.Last.Detail)
			}
		}
		groups := strings.Join(h.Groups, ",")
		if groups == "" {
			groups = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", h.Host, online, groups, pending, last)
	}
	tw.Flush()
	_, err := out.Write(buf.Bytes())
	return err
}

// printGuard says what stormguard and the servicemanager are doing.
func printGuard(out io.Writer, fs fleetStatus, now time.Time) {
	g := fs.Stormguard
	switch {
	case g == nil:
		fmt.Fprintln(out, "stormguard: never seen on this broker")
	default:
		line := "stormguard: "
		if g.Online != nil && !*g.Online {
			line += "OFFLINE; last said: "
		}
		if g.Phase == "" {
			line += "online, no state yet"
		} else {
			line += "phase " + g.Phase
			if !g.Deadline.IsZero() {
				line += ", deadline " + g.Deadline.Local().Format("15:04:05") + " (" + until(g.Deadline, now) + ")"
			}
			if g.Reason != "" {
				line += ": " + oneLine(g.Reason)
			}
		}
		fmt.Fprintln(out, line)
		if len(g.Sources) > 0 {
			names := make([]string, 0, len(g.Sources))
			for n := range g.Sources {
				names = append(names, n)
			}
			sort.Strings(names)
			var parts []string
			for _, n := range names {
				h := g.Sources[n]
				p := n + " " + h.Status
				if h.Status != "ok" && h.LastError != "" {
					p += " (" + oneLine(h.LastError) + ")"
				}
				parts = append(parts, p)
			}
			blind := ""
			if g.Blind {
				blind = " BLIND:"
			}
			fmt.Fprintf(out, "  sources:%s %s\n", blind, strings.Join(parts, "; "))
		}
	}
	switch {
	case fs.Servicemanager == nil:
		fmt.Fprintln(out, "servicemanager: never seen on this broker")
	case *fs.Servicemanager:
		fmt.Fprintln(out, "servicemanager: online")
	default:
		fmt.Fprintln(out, "servicemanager: OFFLINE")
	}
}

func ago(t, now time.Time) string {
	return now.Sub(t).Round(time.Second).String() + " ago (" + t.Local().Format(time.DateTime) + ")"
}

func until(t, now time.Time) string {
	if t.Before(now) {
		return "passed " + now.Sub(t).Round(time.Second).String() + " ago"
	}
	return "in " + t.Sub(now).Round(time.Second).String()
}
