package watch

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/stormguard/stormguard/internal/guard"
	"github.com/stormguard/stormguard/storm"
	"github.com/stormguard/stormguard/wire"
)

// Kind is what an Alert is about.
type Kind string

// The alerts a person must hear about.
const (
	KindWatch      Kind = "watch"       // a storm came inside the watch radius
	KindCountdown  Kind = "countdown"   // SHUTDOWN sent: reason and deadline
	KindCancelled  Kind = "cancelled"   // the countdown was called off
	KindDown       Kind = "down"        // the deadline passed: who went down, who did not answer
	KindAllClear   Kind = "allclear"    // the storm is over
	KindBlind      Kind = "blind"       // no trigger-capable source can see
	KindSeeing     Kind = "seeing"      // a source can see again
	KindHostFailed Kind = "host-failed" // a host's power command failed
)

// Kinds lists every Kind, for configuration checks.
var Kinds = []Kind{KindWatch, KindCountdown, KindCancelled, KindDown, KindAllClear, KindBlind, KindSeeing, KindHostFailed}

// Alert is one thing that happened, with the text for a person.
type Alert struct {
	V         int       `json:"v"`
	Kind      Kind      `json:"kind"`
	At        time.Time `json:"at"`
	Title     string    `json:"title"`
	Message   string    `json:"message"`
	StormID   string    `json:"storm_id,omitempty"`
	CommandID string    `json:"command_id,omitempty"`
	Deadline  time.Time `json:"deadline,omitzero"`
	Host      string    `json:"host,omitempty"`
	// Down lists the hosts that reported going down; Silent those that did
	// not answer by the time of a down alert; Failed those whose power
	// command failed.
	Down   []string `json:"down,omitempty"`
	Silent []string `json:"silent,omitempty"`
	Failed []string `json:"failed,omitempty"`
}

// alerter turns state changes, events and acks into Alerts. Its input
// methods are called with the Watcher's lock held and never block.
type alerter struct {
	settle time.Duration
	now    func() time.Time
	out    chan Alert
	mu     sync.Mutex
	due    map[string]Alert // down alerts by command id, At is when due
	wake   chan struct{}
}

func newAlerter(settle time.Duration, now func() time.Time) *alerter {
	return &alerter{settle: settle, now: now, out: make(chan Alert, 256), due: map[string]Alert{}, wake: make(chan struct{}, 1)}
}

func (a *alerter) emit(al Alert) {
	al.V = 1
	if al.At.IsZero() {
		al.At = a.now().UTC()
	}
	select {
	case a.out <- al:
	default:
		// Nobody is reading fast enough: the notifiers are stuck. The
		// alert is lost, never the shutdown.
	}
}

func (a *alerter) poke() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// event handles one of stormguard's events.
func (a *alerter) event(ev guard.Event, reason string) {
	switch ev.Kind {
	case guard.EventShutdown:
		a.emit(Alert{Kind: KindCountdown, At: ev.At, Title: "Powering down at " + clock(ev.Deadline),
			Message: ev.Text, StormID: ev.StormID, CommandID: ev.CommandID, Deadline: ev.Deadline})
		a.mu.Lock()
		a.due[ev.CommandID] = Alert{Kind: KindDown, At: ev.Deadline.Add(a.settle), StormID: ev.StormID,
			CommandID: ev.CommandID, Deadline: ev.Deadline}
		a.mu.Unlock()
		a.poke()
	case guard.EventCancelled:
		a.mu.Lock()
		delete(a.due, ev.CommandID)
		a.mu.Unlock()
		a.emit(Alert{Kind: KindCancelled, At: ev.At, Title: "Countdown cancelled", Message: ev.Text,
			StormID: ev.StormID, CommandID: ev.CommandID})
	case guard.EventAllClear:
		a.emit(Alert{Kind: KindAllClear, At: ev.At, Title: "All clear", Message: ev.Text, StormID: ev.StormID})
	}
}

// guardState compares stormguard's state with the one before; prev is nil
// for the retained state met at start, which is not news.
func (a *alerter) guardState(prev, st *guard.State) {
	if prev == nil {
		return
	}
	if prev.Phase == storm.PhaseClear && st.Phase == storm.PhaseWatch {
		msg := "Lightning inside the watch radius"
		if st.Nearest != nil {
			msg = fmt.Sprintf("Lightning %.1f km %s (%s); %s", st.Nearest.DistanceKM, st.Bearing, st.Nearest.Source, st.Trend)
		}
		a.emit(Alert{Kind: KindWatch, At: st.At, Title: "Storm watch", Message: msg, StormID: st.StormID})
	}
	if !prev.Blind && st.Blind {
		a.emit(Alert{Kind: KindBlind, At: st.At, Title: "BLIND: no source can see lightning", Message: st.BlindText})
	}
	if prev.Blind && !st.Blind {
		a.emit(Alert{Kind: KindSeeing, At: st.At, Title: "Lightning sources can see again", Message: "A source that can trigger reports again."})
	}
}

// hostAck handles one host's live ack.
func (a *alerter) hostAck(ack wire.Ack) {
	if ack.State != wire.Failed {
		return
	}
	a.emit(Alert{Kind: KindHostFailed, At: ack.At, Title: ack.Host + ": " + string(ack.Action) + " failed",
		Message: ack.Detail, CommandID: ack.ID, Host: ack.Host, Failed: []string{ack.Host}})
}

// removed forgets a host taken out of the fleet.
func (a *alerter) removed(string) {}

// run sends each down alert when it is due, with the fleet as it is then.
func (a *alerter) run(ctx context.Context, w *Watcher) {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		now := a.now()
		ready, next := a.takeDue(now)
		for _, al := range ready {
			a.emit(downReport(al, w.Snapshot()))
		}
		wait := time.Hour
		if !next.IsZero() {
			wait = next.Sub(now)
		}
		t.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-a.wake:
		}
	}
}

// takeDue removes and returns the down alerts due at now, and says when
// the next one is due (zero when none is).
func (a *alerter) takeDue(now time.Time) (ready []Alert, next time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for id, al := range a.due {
		if !now.Before(al.At) {
			ready = append(ready, al)
			delete(a.due, id)
		} else if next.IsZero() || al.At.Before(next) {
			next = al.At
		}
	}
	return ready, next
}

// downReport fills a due down alert from the fleet: who went down, who
// failed, who had it cancelled and who did not answer at all.
func downReport(al Alert, s Snapshot) Alert {
	for _, h := range s.Hosts {
		if !h.Agent() {
			continue
		}
		ack, ok := h.Acks[al.CommandID]
		switch {
		case !ok, ack.State == wire.Received, ack.State == wire.Scheduled:
			al.Silent = append(al.Silent, h.Name)
		case ack.State == wire.Executing, ack.State == wire.Done, ack.State == wire.Stopping:
			al.Down = append(al.Down, h.Name)
		case ack.State == wire.Failed:
			al.Failed = append(al.Failed, h.Name)
		}
	}
	sort.Strings(al.Down)
	al.At = al.Deadline
	al.Title = fmt.Sprintf("%d hosts powered down", len(al.Down))
	var b strings.Builder
	if len(al.Down) > 0 {
		fmt.Fprintf(&b, "Down: %s.", strings.Join(al.Down, ", "))
	}
	if len(al.Silent) > 0 {
		fmt.Fprintf(&b, " No answer: %s.", strings.Join(al.Silent, ", "))
	}
	if len(al.Failed) > 0 {
		fmt.Fprintf(&b, " Failed: %s.", strings.Join(al.Failed, ", "))
	}
	if b.Len() == 0 {
		b.WriteString("No host is known to this watcher.")
	}
	al.Message = strings.TrimSpace(b.String())
	return al
}

func clock(t time.Time) string {
	if t.IsZero() {
		return "?"
	}
	return t.UTC().Format("15:04:05Z")
}
