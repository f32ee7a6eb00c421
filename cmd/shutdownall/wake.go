package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/stormguard/stormguard/cmd/internal/cli"
	"github.com/stormguard/stormguard/wake"
)

// wakeSend sends the magic packets; tests may replace it.
var wakeSend = wake.UDP

// wake brings back, with Wake-on-LAN, the selected hosts that are not
// present, in stage order reversed, until each is present again or its
// limit passes. A host that is present is left alone; one that announced
// no Wake-on-LAN address is named.
func (s *session) wake(ctx context.Context, out io.Writer) error {
	s.mu.Lock()
	unknown := s.fleet.unknown(s.j.s.Targets, s.j.s.Group)
	var targets []wake.Target
	var up, noAddr []string
	for _, h := range s.fleet.hosts() {
		st := s.fleet.states[h]
		if len(s.j.s.Targets) > 0 && !slices.Contains(s.j.s.Targets, h) || s.j.s.Group != "" && !slices.Contains(st.Groups, s.j.s.Group) {
			continue
		}
		switch {
		case s.fleet.present[h]:
			up = append(up, h)
		case st.Wake == nil:
			noAddr = append(noAddr, h)
		default:
			targets = append(targets, wake.Target{Host: h, Stage: st.StageOf(), MAC: st.Wake.MAC, Broadcast: st.Wake.Broadcast})
		}
	}
	s.mu.Unlock()
	if len(unknown) > 0 {
		return &silentError{code: exitUnknown, msg: "not known to the broker: " + strings.Join(unknown, ", ")}
	}
	if len(up) > 0 {
		fmt.Fprintf(out, "already up, left alone: %s\n", strings.Join(up, ", "))
	}
	if len(noAddr) > 0 {
		fmt.Fprintf(out, "no Wake-on-LAN address announced (agent -wake-on-lan): %s\n", strings.Join(noAddr, ", "))
	}
	if len(targets) == 0 {
		if len(noAddr) > 0 {
			return &silentError{code: exitUnconfirmed, msg: "cannot wake: " + strings.Join(noAddr, ", ")}
		}
		fmt.Fprintln(out, "nothing to wake")
		return nil
	}
	cfg := wake.Config{Every: s.j.s.WakeEvery, Limit: s.j.s.WakeLimit, StageWait: s.j.s.WakeStage}
	rs := wake.Run(ctx, cfg, targets, s.back, wakeSend(s.j.s.WakePort), cli.ToolLogger(s.j.s.Verbose))
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tSTAGE\tBACK\tPACKETS")
	for _, r := range rs {
		back := "yes"
		if !r.Back {
			back = "NO"
		}
		stage := 0
		for _, t := range targets {
			if t.Host == r.Host {
				stage = t.Stage
			}
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\n", r.Host, stage, back, r.Sent)
	}
	tw.Flush()
	out.Write(buf.Bytes())
	if missing := append(wake.NotBack(rs), noAddr...); len(missing) > 0 {
		return &silentError{code: exitUnconfirmed, msg: "did not come back: " + strings.Join(missing, ", ")}
	}
	return nil
}
