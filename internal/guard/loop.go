package guard

import (
	"fmt"
	"time"

	"github.com/stormguard/stormguard/storm"
	"github.com/stormguard/stormguard/weather"
	"github.com/stormguard/stormguard/wire"
)

// input is one thing for the loop to handle; exactly one field group is set.
type input struct {
	report *weather.Report
	// failed names a source whose poll or stream failed with err.
	failed string
	kind   weather.Kind
	err    error
	cancel *wire.Command
	// published is the id of a SHUTDOWN the broker has accepted.
	published string
	connected bool
	// lost is set when the broker link dropped, with its cause.
	lost error
	// probe is a liveness check from the watchdog: closed by the loop.
	probe chan struct{}
	// refresh asks for the retained state again (a wake-up ended).
	refresh bool
	// ownFalse: stormguard's own presence went False.
	ownFalse bool
}

func (g *Guard) handle(in input) {
	now := g.now()
	switch {
	case in.report != nil:
		if g.cfg.Hooks.Report != nil {
			g.cfg.Hooks.Report(*in.report)
		}
		g.perform(g.engine.Observe(now, *in.report))
	case in.failed != "":
		g.log.Warn("source failed", "source", in.failed, "err", in.err)
		g.perform(g.engine.SourceFailed(now, in.failed, in.kind, in.err))
	case in.cancel != nil:
		g.onCancel(now, *in.cancel)
	case in.published != "":
		g.confirmed(in.published)
	case in.connected:
		g.up = true
		g.linkUp(now)
		g.announce()
	case in.lost != nil:
		g.up = false
		g.linkDown(now, in.lost)
	case in.ownFalse:
		// The last will of an earlier connection delivered late (a broker
		// cluster moving the session off a lost node), or a Service
		// Manager that judged stormguard gone: while connected, say again
		// that it is here, at most every 5 s.
		if g.up && (g.reannounced.IsZero() || now.Sub(g.reannounced) >= 5*time.Second) {
			g.reannounced = now
			g.log.Warn("stormguard's presence went False while connected (a last will delivered late?); announcing it again")
			g.announce()
		}
	case in.probe != nil:
		close(in.probe)
	case in.refresh:
		g.publishState(g.engine.State(), now.UTC())
	}
}

// onCancel applies a CANCEL from the fleet topic. A cancel that names
// another command than this storm's current SHUTDOWN is someone else's.
func (g *Guard) onCancel(now time.Time, c wire.Command) {
	st := g.engine.State()
	if c.Cancels != "" && c.Cancels != commandID(st) {
		g.log.Info("cancel for another command ignored", "cancels", c.Cancels, "ours", commandID(st))
		return
	}
	by := "a CANCEL"
	switch {
	case c.Issuer != "":
		by = c.Issuer
	case c.Reason != "":
		by = fmt.Sprintf("a CANCEL (%q)", c.Reason)
	}
	g.perform(g.engine.Cancel(now, by))
}

// commandID is the id of the storm's current or last SHUTDOWN.
func commandID(st storm.State) string {
	if st.Countdowns == 0 {
		return ""
	}
	return storm.Shutdown{StormID: st.StormID, Countdown: st.Countdowns}.ID()
}

// perform carries out the engine's actions. A SHUTDOWN is saved in the
// outbox before it is published, so a crash in between sends it (with the
// same id, which hosts dedupe) after the restart rather than never.
func (g *Guard) perform(actions []storm.Action) {
	if len(actions) == 0 {
		return
	}
	now := g.now().UTC()
	var cmds []wire.Command
	save := false
	for _, a := range actions {
		switch a := a.(type) {
		case storm.Shutdown:
			c := g.command(a, now)
			g.wk.issued(c.ID)
			cmds = append(cmds, c)
			g.outbox = append(g.outbox, c)
			save = true
		case storm.StateChanged:
			save = true
		}
	}
	if save {
		g.save()
	}
	for _, c := range cmds {
		g.log.Warn("SHUTDOWN", "id", c.ID, "deadline", c.Deadline, "reason", c.Reason)
		if g.cfg.Hooks.Shutdown != nil {
			g.cfg.Hooks.Shutdown(c)
		}
		g.queueCommand(c)
	}
	for _, a := range actions {
		g.announceAction(now, a)
	}
}

// command turns the engine's Shutdown into the JSON command hosts obey.
func (g *Guard) command(a storm.Shutdown, now time.Time) wire.Command {
	c := wire.Command{
		V: wire.Version, ID: a.ID(), Action: wire.Shutdown, Reason: a.Reason, Issuer: g.cfg.Issuer,
		IssuedAt: now, Deadline: a.Deadline.UTC(), Expires: a.Deadline.Add(g.cfg.Expires).UTC(),
	}
	if len(c.Reason) > wire.MaxReason {
		c.Reason = c.Reason[:wire.MaxReason]
	}
	if g.cfg.SignKey != nil {
		c.Sign(g.cfg.SignKey)
	}
	return c
}

// announceAction logs an action and publishes its event; after a state
// change, the retained state too.
func (g *Guard) announceAction(now time.Time, a storm.Action) {
	st := g.engine.State()
	ev := Event{V: 1, At: now, Text: a.Text(), StormID: st.StormID, Phase: st.Phase}
	switch a := a.(type) {
	case storm.Shutdown:
		ev.Kind, ev.CommandID, ev.Deadline = EventShutdown, a.ID(), a.Deadline.UTC()
	case storm.Cancelled:
		ev.Kind, ev.CommandID = EventCancelled, commandID(st)
		g.log.Warn("countdown cancelled", "by", a.By, "text", a.Reason)
	case storm.AllClear:
		ev.Kind = EventAllClear
		g.log.Info("all clear", "text", a.Reason)
		defer g.wakeAfter(g.runCtx, a.StormID)
	case storm.Event:
		ev.Kind = string(a.Kind)
		if a.Kind == storm.EventWarn {
			g.log.Warn(a.Message)
		} else {
			g.log.Info(a.Message)
		}
	case storm.StateChanged:
		g.setWatch(a.To)
		g.publishState(st, now)
		if a.From == a.To {
			return
		}
		ev.Kind = EventPhase
		g.log.Info("phase", "from", a.From, "to", a.To)
	}
	g.publishEvent(ev)
}

// setWatch polls faster while a storm is anywhere but clear.
func (g *Guard) setWatch(p storm.Phase) {
	on := p != storm.PhaseClear
	if on == g.watch {
		return
	}
	g.watch = on
	if g.sched != nil {
		if err := g.sched.SetWatch(on); err != nil {
			g.log.Warn("set watch interval", "err", err)
		}
	}
}

// confirmed drops a SHUTDOWN the broker has accepted from the outbox.
func (g *Guard) confirmed(id string) {
	for i, c := range g.outbox {
		if c.ID == id {
			g.outbox = append(g.outbox[:i], g.outbox[i+1:]...)
			g.save()
			return
		}
	}
}

func (g *Guard) save() {
	if err := g.store.save(g.engine.State(), g.outbox, g.now()); err != nil {
		g.log.Error("save state", "err", err)
	}
}
