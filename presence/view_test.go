package presence

import (
	"slices"
	"testing"
	"time"

	"github.com/stormguard/stormguard/wire"
)

// clock is a hand-set time source.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func feed(t *testing.T, r *Registry, steps ...step) {
	t.Helper()
	for _, s := range steps {
		if _, err := r.Observe(s.topic, []byte(s.payload), s.retained); err != nil {
			t.Fatalf("Observe(%q, %q): %v", s.topic, s.payload, err)
		}
	}
}

func TestView(t *testing.T) {
	c := &clock{t: time.Date(2026, 7, 15, 19, 0, 0, 0, time.UTC)}
	r, _ := New(Config{Now: c.now})
	feed(t, r,
		kept("resourceavailable/nas/presence", "True"),
		kept("commandavailable/nas/shutdown", "True"),
		kept("commandavailable/nas/reboot", "True"),
		live("dataavailable/pi3/temp", "True"),
	)
	c.t = c.t.Add(time.Minute)
	feed(t, r, live("resourceavailable/desk/presence", "True"), live("commandavailable/desk/shutdown", "True"))
	c.t = c.t.Add(time.Minute)
	feed(t, r, live("resourceavailable/desk/presence", "False"))
	c.t = c.t.Add(time.Minute)
	feed(t, r, live("resourceavailable/nas/presence", "True")) // no change: Since stays

	v := r.View()
	var names []string
	for _, s := range v.All() {
		names = append(names, s.Resource)
	}
	if want := []string{"desk", "nas", "pi3"}; !slices.Equal(names, want) {
		t.Errorf("All = %q, want %q", names, want)
	}
	nas, ok := v.Get("nas")
	switch {
	case !ok:
		t.Fatal("Get(nas) not found")
	case nas.State != Present || !nas.Retained || !nas.Since.Equal(time.Date(2026, 7, 15, 19, 0, 0, 0, time.UTC)):
		t.Errorf("nas = %v retained=%v since %v; want present, learned retained at 19:00", nas.State, nas.Retained, nas.Since)
	}
	if got := nas.Available(wire.CommandKind); !slices.Equal(got, []string{"shutdown", "reboot"}) {
		t.Errorf("nas commands = %q", got)
	}
	desk, _ := v.Get("desk")
	if desk.State != Absent || !desk.Since.Equal(time.Date(2026, 7, 15, 19, 2, 0, 0, time.UTC)) || desk.Retained {
		t.Errorf("desk = %v since %v retained=%v; want absent since 19:02, live", desk.State, desk.Since, desk.Retained)
	}
	if got := desk.Available(wire.CommandKind); len(got) != 0 {
		t.Errorf("absent desk still offers %q", got)
	}
	if len(desk.Topics) != 1 || desk.Topics[0].Available || desk.Topics[0].Name != "shutdown" {
		t.Errorf("desk topics = %+v, want shutdown marked unavailable", desk.Topics)
	}
	pi3, _ := v.Get("pi3")
	if pi3.State != Unknown || !pi3.Since.IsZero() {
		t.Errorf("pi3 (no presence seen) = %v since %v", pi3.State, pi3.Since)
	}
	if v.Count(Present) != 1 || v.Count(Absent) != 1 || v.Count(Unknown) != 1 || v.Len() != 3 {
		t.Errorf("counts present/absent/unknown/len = %d/%d/%d/%d", v.Count(Present), v.Count(Absent), v.Count(Unknown), v.Len())
	}
	if in := v.In(Present); len(in) != 1 || in[0].Resource != "nas" {
		t.Errorf("In(Present) = %+v", in)
	}
	if _, ok := v.Get("nothere"); ok {
		t.Error("Get(nothere) found something")
	}

	// The view is a snapshot: later messages do not change it.
	feed(t, r, live("resourceavailable/nas/presence", "False"))
	if s, _ := v.Get("nas"); s.State != Present {
		t.Error("a view taken earlier changed with the registry")
	}
	if s, ok := r.Status("nas"); !ok || s.State != Absent {
		t.Errorf("Status(nas) = %v, %v; want absent", s.State, ok)
	}
}

func TestStateString(t *testing.T) {
	for s, want := range map[State]string{Unknown: "unknown", Present: "present", Absent: "absent", 9: "unknown"} {
		if s.String() != want {
			t.Errorf("State(%d).String() = %q, want %q", s, s.String(), want)
		}
	}
}
