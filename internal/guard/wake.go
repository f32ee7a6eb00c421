package guard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/stormguard/stormguard/internal/atomicfile"
	"github.com/stormguard/stormguard/mqtt"
	"github.com/stormguard/stormguard/storm"
	"github.com/stormguard/stormguard/wake"
	"github.com/stormguard/stormguard/wire"
)

// WakeConfig turns on waking the hosts a storm powered down, after its
// all clear, with Wake-on-LAN (package wake). Only hosts whose agent
// announces a Wake-on-LAN address (agent -wake-on-lan) are woken; hosts
// powered down by hand (another command id) are not.
type WakeConfig struct {
	Enabled bool
	// Every, StageWait and Limit: see wake.Config.
	Every, StageWait, Limit time.Duration
	// Port is the UDP port of the magic packets (default 9).
	Port int
	// Send replaces the UDP sender (tests).
	Send wake.Sender
}

// EventWake is the kind of the events about waking the fleet.
const EventWake = "wake"

// WakeFile is the name, under the state directory, of the record of the
// hosts the current storm powered down: it survives a restart, so a
// stormguard restarted during the storm (or during the wake-up) still
// wakes them.
const WakeFile = "stormguard-wake.json"

// downed is a host a storm's command powered down.
type downed struct {
	Host      string     `json:"host"`
	CommandID string     `json:"command_id"`
	At        time.Time  `json:"at"`
	Stage     int        `json:"stage"`
	Wake      *wire.Wake `json:"wake,omitempty"`
}

// wakeRecord is the wake file: the SHUTDOWN ids stormguard issued and the
// hosts that went down for them.
type wakeRecord struct {
	Issued []string `json:"issued"`
	Down   []downed `json:"down"`
}

// WakeReport is the last wake-up, in stormguard's state.
type WakeReport struct {
	StormID string        `json:"storm_id"`
	Started time.Time     `json:"started"`
	Running bool          `json:"running"`
	Hosts   []wake.Result `json:"hosts"`
	// NotBack names the hosts that did not come back in time, and NoAddress
	// those that announced no Wake-on-LAN address.
	NotBack   []string `json:"not_back,omitempty"`
	NoAddress []string `json:"no_address,omitempty"`
}

// waker follows the fleet for the wake-up: the hosts' states (stage,
// Wake-on-LAN address), their presence and their acks. Paho's goroutines
// update it; the loop starts a wake-up from it at the all clear.
type waker struct {
	cfg  WakeConfig
	path string
	log  *slog.Logger
	mu   sync.Mutex
	// states and present are the latest per host; down are the hosts a
	// command acked executing or stopping, saved in path.
	states  map[string]wire.HostState
	present map[string]bool
	rec     wakeRecord
	acks    map[string]wire.Ack // each host's latest
	// changed is called when the fleet picture changed (to publish it).
	changed func()
	// ownFalse, if set, is called when stormguard's own presence goes
	// False (on paho's goroutine).
	ownFalse func()
	back     chan string
	report   *WakeReport
}

func newWaker(cfg WakeConfig, dir string, log *slog.Logger) (*waker, error) {
	w := &waker{cfg: cfg, log: log, path: filepath.Join(dir, WakeFile), states: map[string]wire.HostState{}, present: map[string]bool{}, acks: map[string]wire.Ack{}, changed: func() {}, back: make(chan string, 256)}
	b, err := os.ReadFile(w.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return w, nil
	case err != nil:
		return nil, fmt.Errorf("read %s: %w", w.path, err)
	}
	if err := json.Unmarshal(b, &w.rec); err != nil {
		return nil, fmt.Errorf("decode %s: %w (move the file away to start afresh)", w.path, err)
	}
	return w, nil
}

// subscribe routes the fleet's states, presence and acks to w.
func (w *waker) subscribe(c *mqtt.Client, t wire.Topics) {
	c.Handle(t.StateFilter(), 1, func(m mqtt.Message) {
		if s, err := wire.DecodeHostState(m.Payload); err == nil && s.Host != "" {
			if name, ok := t.ParseState(m.Topic); ok && name == s.Host {
				w.mu.Lock()
				w.states[s.Host] = s
				w.mu.Unlock()
				w.changed()
			}
		}
	})
	c.Handle(t.PresenceFilter(), 1, func(m mqtt.Message) {
		host, ok := t.ParsePresenceTopic(m.Topic)
		present, valid := wire.ParsePresence(m.Payload)
		if !ok || !valid {
			return
		}
		if host == Name && !present && w.ownFalse != nil {
			w.ownFalse()
		}
		w.mu.Lock()
		w.present[host] = present
		w.mu.Unlock()
		w.changed()
		if present {
			select {
			case w.back <- host:
			default:
			}
		}
	})
	c.Handle(t.AckFilter(), 1, func(m mqtt.Message) {
		if k, err := wire.DecodeAck(m.Payload); err == nil && wire.ValidName(k.Host) == nil {
			w.mu.Lock()
			w.acks[k.Host] = k
			w.mu.Unlock()
			w.onAck(k)
			w.changed()
		}
	})
}

// onAck notes a host that started going down for a command: the state
// file keeps it until the wake-up.
func (w *waker) onAck(k wire.Ack) {
	if !w.cfg.Enabled || k.State != wire.Executing && k.State != wire.Stopping || k.ID == "" {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	st := w.states[k.Host]
	if st.DryRun || !slices.Contains(w.rec.Issued, k.ID) {
		return // a dry run, or a command of someone else's (shutdownall)
	}
	for _, d := range w.rec.Down {
		if d.Host == k.Host && d.CommandID == k.ID {
			return
		}
	}
	w.rec.Down = append(w.rec.Down, downed{Host: k.Host, CommandID: k.ID, At: k.At, Stage: st.StageOf(), Wake: st.Wake})
	if len(w.rec.Down) > 4096 {
		w.rec.Down = w.rec.Down[len(w.rec.Down)-4096:]
	}
	w.saveLocked()
}

// issued notes a SHUTDOWN stormguard is about to publish: acks for it
// are what the wake-up goes by.
func (w *waker) issued(id string) {
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if slices.Contains(w.rec.Issued, id) {
		return
	}
	w.rec.Issued = append(w.rec.Issued, id)
	if len(w.rec.Issued) > 256 {
		w.rec.Issued = w.rec.Issued[len(w.rec.Issued)-256:]
	}
	w.saveLocked()
}

func (w *waker) saveLocked() {
	b, err := json.Marshal(w.rec)
	if err == nil {
		err = atomicfile.Write(w.path, func(f io.Writer) error { _, err := f.Write(b); return err })
	}
	if err != nil {
		w.log.Error("save the hosts to wake after the storm", "err", err, "path", w.path)
	}
}

// plan picks the hosts stormID's commands powered down: those present now
// are left alone, those without a Wake-on-LAN address are named.
func (w *waker) plan(stormID string) (targets []wake.Target, up, noAddr []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	seen := map[string]bool{}
	for _, d := range w.rec.Down {
		if !strings.HasPrefix(d.CommandID, stormID+"-") || seen[d.Host] {
			continue
		}
		seen[d.Host] = true
		addr, stage := d.Wake, d.Stage
		if st, ok := w.states[d.Host]; ok {
			if st.Wake != nil {
				addr = st.Wake
			}
			stage = st.StageOf()
		}
		switch {
		case w.present[d.Host]:
			up = append(up, d.Host)
		case addr == nil:
			noAddr = append(noAddr, d.Host)
		default:
			targets = append(targets, wake.Target{Host: d.Host, Stage: stage, MAC: addr.MAC, Broadcast: addr.Broadcast})
		}
	}
	return targets, up, noAddr
}

// forget drops the record of stormID's hosts once they were woken.
func (w *waker) forget(stormID string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.rec.Down = slices.DeleteFunc(w.rec.Down, func(d downed) bool { return strings.HasPrefix(d.CommandID, stormID+"-") })
	w.saveLocked()
}

func (w *waker) lastReport() *WakeReport {
	if w == nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.report == nil {
		return nil
	}
	r := *w.report
	return &r
}

// wakeAfter starts waking the hosts stormID powered down; it runs on its
// own goroutine and reports by events, the log and the state.
func (g *Guard) wakeAfter(ctx context.Context, stormID string) {
	w := g.wk
	if w == nil || !w.cfg.Enabled || stormID == "" {
		return
	}
	targets, up, noAddr := w.plan(stormID)
	if len(targets)+len(noAddr) == 0 {
		if len(up) > 0 {
			g.log.Info("after the all clear: every host this storm powered down is up", "hosts", up)
		}
		w.forget(stormID)
		return
	}
	now := g.now().UTC()
	w.mu.Lock()
	w.report = &WakeReport{StormID: stormID, Started: now, Running: true, NoAddress: noAddr}
	w.mu.Unlock()
	order := make([]string, len(targets))
	for i, t := range targets {
		order[i] = fmt.Sprintf("%s (stage %d)", t.Host, t.Stage)
	}
	text := fmt.Sprintf("all clear: waking %d hosts with Wake-on-LAN, last stage first", len(targets))
	if len(noAddr) > 0 {
		text += fmt.Sprintf("; cannot wake %s (no Wake-on-LAN address)", strings.Join(noAddr, ", "))
	}
	g.log.Info(text, "hosts", order, "left_alone", up)
	g.publishEvent(Event{V: 1, At: now, Kind: EventWake, Text: text, StormID: stormID})
	// What came before the wake-up (retained presence, hosts seen during
	// the storm) says nothing about hosts coming back.
	for len(w.back) > 0 {
		<-w.back
	}
	send := w.cfg.Send
	if send == nil {
		send = wake.UDP(w.cfg.Port)
	}
	go func() {
		rs := wake.Run(ctx, wake.Config{Every: w.cfg.Every, StageWait: w.cfg.StageWait, Limit: w.cfg.Limit}, targets, w.back, send, g.log)
		if ctx.Err() != nil {
			return // stopped: the record stays, a restart wakes them
		}
		notBack := wake.NotBack(rs)
		w.mu.Lock()
		w.report.Running, w.report.Hosts, w.report.NotBack = false, rs, notBack
		w.mu.Unlock()
		w.forget(stormID)
		text := fmt.Sprintf("after the storm: %d of %d hosts back", len(rs)-len(notBack), len(rs))
		if missing := append(notBack, noAddr...); len(missing) > 0 {
			text += "; did not come back: " + strings.Join(missing, ", ")
			g.log.Warn(text)
		} else {
			g.log.Info(text)
		}
		g.publishEvent(Event{V: 1, At: g.now().UTC(), Kind: EventWake, Text: text, StormID: stormID})
		g.send(input{refresh: true})
	}()
}

// wakeSettle is how long after connecting a resumed wake-up waits for the
// broker's retained states and presence, so hosts already up are seen.
const wakeSettle = 2 * time.Second

// resumeWake, at start, wakes the hosts of storms that ended while
// stormguard was down or waking them: those recorded for another storm
// than the current one, or for the current one when it is clear.
func (g *Guard) resumeWake(ctx context.Context) {
	if g.wk == nil || !g.wk.cfg.Enabled {
		return
	}
	st := g.engine.State()
	g.wk.mu.Lock()
	var storms []string
	for _, d := range g.wk.rec.Down {
		i := strings.LastIndexByte(d.CommandID, '-')
		if i <= 0 {
			continue
		}
		id := d.CommandID[:i]
		if (id != st.StormID || st.Phase == storm.PhaseClear) && !slices.Contains(storms, id) {
			storms = append(storms, id)
		}
	}
	g.wk.mu.Unlock()
	if len(storms) == 0 {
		return
	}
	go func() {
		select {
		case <-g.ready:
		case <-ctx.Done():
			return
		}
		select {
		case <-time.After(wakeSettle):
		case <-ctx.Done():
			return
		}
		for _, id := range storms {
			g.wakeAfter(ctx, id)
		}
	}()
}

// FleetHost is one host in stormguard's state: where it stands in the
// staged power-down.
type FleetHost struct {
	Host    string `json:"host"`
	Stage   int    `json:"stage"`
	Present bool   `json:"present"`
	// Last is the host's latest answer ("scheduled", "executing",
	// "stopping", ...) and the command it was about.
	Last      wire.AckState `json:"last,omitempty"`
	CommandID string        `json:"command_id,omitempty"`
	// Waiting says what its countdown waits for, past the deadline.
	Waiting string `json:"waiting,omitempty"`
}

// fleet lists the hosts in the order they power down.
func (w *waker) fleet() []FleetHost {
	if w == nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]FleetHost, 0, len(w.states))
	for h, s := range w.states {
		f := FleetHost{Host: h, Stage: s.StageOf(), Present: w.present[h], Waiting: s.Waiting}
		if k, ok := w.acks[h]; ok {
			f.Last, f.CommandID = k.State, k.ID
		}
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b FleetHost) int {
		if a.Stage != b.Stage {
			return a.Stage - b.Stage
		}
		return strings.Compare(a.Host, b.Host)
	})
	return out
}

// fleetRefresh is how often at most the state is published again for
// the fleet's progress alone.
const fleetRefresh = time.Second

// fleetChanged runs on paho's goroutines: it asks the loop, at most once
// per fleetRefresh, to publish the state again, never waiting for it.
func (g *Guard) fleetChanged() {
	if !g.refreshing.CompareAndSwap(false, true) {
		return
	}
	time.AfterFunc(fleetRefresh, func() {
		select {
		case g.inbox <- input{refresh: true}:
		default:
		}
		g.refreshing.Store(false)
	})
}
