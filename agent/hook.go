package agent

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/stormguard/stormguard/journal"
	"github.com/stormguard/stormguard/wire"
)

// hookDone is how the pre-shutdown command ended; the loop closes
// written once it has journaled and acked it.
type hookDone struct {
	d       Decision
	state   wire.AckState
	detail  string
	written chan struct{}
}

// hookJournalBound is how long the power command waits for the loop to
// journal the hook's outcome: never long, the loop does not wait for the
// broker.
const hookJournalBound = 2 * time.Second

// preShutdown runs the pre-shutdown command for d (on the power command's
// goroutine, after the started record: a restart runs neither again), for
// at most PreShutdownTimeout, and has the loop journal and ack its outcome
// before the power command starts. Whatever the hook does, the power
// command follows; it reports false only when the agent is stopping.
func (a *Agent) preShutdown(d Decision) bool {
	argv := a.cfg.PreShutdownCmd
	ctx, cancel := context.WithTimeout(context.Background(), a.cfg.PreShutdownTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(cmd.Environ(), "STORMGUARD_COMMAND_ID="+d.Cmd.ID, "STORMGUARD_ACTION="+string(d.Cmd.Action))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// A hook that leaves children holding its output must not hold the
	// power command past its time limit.
	cmd.WaitDelay = time.Second
	start := time.Now()
	err := cmd.Run()
	h := hookDone{d: d, state: wire.Done, written: make(chan struct{})}
	took := time.Since(start).Round(time.Millisecond)
	switch {
	case ctx.Err() == context.DeadlineExceeded:
		h.state = wire.Failed
		h.detail = fmt.Sprintf("pre-shutdown %s: stopped after its time limit %s", strings.Join(argv, " "), a.cfg.PreShutdownTimeout)
	case err != nil:
		h.state = wire.Failed
		h.detail = fmt.Sprintf("pre-shutdown %s: %v after %s", strings.Join(argv, " "), err, took)
	default:
		h.detail = fmt.Sprintf("pre-shutdown %s: ok after %s", strings.Join(argv, " "), took)
	}
	if tail := lastLine(out.String()); tail != "" {
		h.detail += ": " + tail
	}
	h.detail += "; the power command follows"
	select {
	case a.hooked <- h:
	case <-a.stop:
		return false
	}
	t := time.NewTimer(hookJournalBound)
	defer t.Stop()
	select {
	case <-h.written:
	case <-t.C:
	case <-a.stop:
		return false
	}
	return true
}

// onHook journals (synced) and acks the pre-shutdown command's outcome.
// The ack is an executing one: the power command is on its way.
func (a *Agent) onHook(h hookDone) {
	defer close(h.written)
	ok := a.append(true, journal.Record{Kind: journal.KindHook, ID: h.d.Cmd.ID, Action: h.d.Cmd.Action, State: h.state, Detail: h.detail, At: a.now()})
	a.log.Info("pre-shutdown command finished", "id", h.d.Cmd.ID, "state", h.state, "detail", h.detail)
	a.ack(wire.Ack{ID: h.d.Cmd.ID, Action: h.d.Cmd.Action, State: wire.Executing, Detail: h.detail + a.journalNote(ok)})
}
