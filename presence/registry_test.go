package presence

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stormguard/stormguard/wire"
)

// step is one message in; want lists what must be published because of it,
// each as "topic payload" with " retained" appended when retained.
type step struct {
	topic, payload string
	retained       bool
	want           []string
	err            error
}

func live(topic, payload string, want ...string) step {
	return step{topic: topic, payload: payload, want: want}
}

func kept(topic, payload string, want ...string) step {
	return step{topic: topic, payload: payload, retained: true, want: want}
}

func bad(topic, payload string, err error) step {
	return step{topic: topic, payload: payload, err: err}
}

var long = strings.Repeat("x", 1000)

const (
	fooP   = "resourceavailable/foo/presence"
	fooBar = "dataavailable/foo/bar"
	fooBaz = "commandavailable/foo/baz"
)

func TestObserve(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   Config
		steps []step
	}{
		{
			name: "the original test",
			steps: []step{
				live(fooP, "True"), live(fooBar, "True"), live(fooBaz, "True"),
				live(fooP, "False", fooBar+" False", fooBaz+" False"),
			},
		},
		{
			name: "own False coming back does nothing, nor does a second will",
			steps: []step{
				live(fooP, "True"), live(fooBar, "True"),
				live(fooP, "False", fooBar+" False"),
				live(fooBar, "False"),
				live(fooP, "False"),
				kept(fooP, "False"),
			},
		},
		{
			name: "a topic the resource set False itself is left alone",
			steps: []step{
				live(fooP, "True"), live(fooBar, "True"), live(fooBaz, "True"),
				live(fooBar, "False"),
				live(fooP, "False", fooBaz+" False"),
			},
		},
		{
			name: "retained announcements get retained False",
			steps: []step{
				kept(fooP, "True"), kept(fooBar, "True"), live(fooBaz, "True"),
				live(fooP, "False", fooBar+" False retained", fooBaz+" False"),
			},
		},
		{
			name: "AlwaysRetain retains every False",
			cfg:  Config{AlwaysRetain: true},
			steps: []step{
				live(fooP, "True"), live(fooBar, "True"), kept(fooBaz, "True"),
				live(fooP, "False", fooBar+" False retained", fooBaz+" False retained"),
			},
		},
		{
			name: "learned retain flag sticks when the resource re-announces live",
			steps: []step{
				kept(fooP, "True"), kept(fooBar, "True"),
				live(fooP, "False", fooBar+" False retained"),
				live(fooP, "True"), live(fooBar, "True"),
				live(fooP, "False", fooBar+" False retained"),
			},
		},
		{
			name: "resource comes back and re-announces",
			steps: []step{
				live(fooP, "True"), live(fooBar, "True"), live(fooBaz, "True"),
				live(fooP, "False", fooBar+" False", fooBaz+" False"),
				live(fooP, "True"), live(fooBar, "True"), live("dataavailable/foo/new", "True"),
				live(fooP, "False", fooBar+" False", "dataavailable/foo/new False"),
			},
		},
		{
			name: "started late: retained will before retained announcement",
			steps: []step{
				kept(fooP, "False"),
				kept(fooBar, "True", fooBar+" False retained"),
				kept(fooBaz, "False"),
			},
		},
		{
			name: "started late: retained announcement before retained will",
			steps: []step{
				kept(fooBar, "True"), kept(fooBaz, "True"),
				kept(fooP, "False", fooBar+" False retained", fooBaz+" False retained"),
			},
		},
		{
			name:  "started late: present resource is left alone",
			steps: []step{kept(fooBar, "True"), kept(fooP, "True"), kept(fooBaz, "True")},
		},
		{
			name: "live announcement while absent is left to Sweep",
			steps: []step{
				live(fooP, "False"),
				live(fooBar, "True"),
				live(fooP, "True"),
				live(fooP, "False", fooBar+" False"),
			},
		},
		{
			name: "data and command of the same name are two topics",
			steps: []step{
				live(fooP, "1"), live(fooBar, "1"), live("commandavailable/foo/bar", "1"),
				live(fooP, "0", fooBar+" False", "commandavailable/foo/bar False"),
			},
		},
		{
			name: "other resources are untouched",
			steps: []step{
				live(fooP, "True"), live(fooBar, "True"),
				live("resourceavailable/nas/presence", "True"), live("commandavailable/nas/shutdown", "True"),
				live(fooP, "False", fooBar+" False"),
				live("resourceavailable/nas/presence", "False", "commandavailable/nas/shutdown False"),
			},
		},
		{
			name: "accepted spellings",
			steps: []step{
				live(fooP, " online\n"), live(fooBar, "ON"), live(fooBaz, "yes"), live("dataavailable/foo/x", "true"),
				live(fooP, "OFFLINE", fooBar+" False", fooBaz+" False", "dataavailable/foo/x False"),
				live(fooP, "Yes"), live(fooBar, "1"), live(fooP, "no", fooBar+" False"),
				live(fooP, "on"), live(fooBar, "TRUE"), live(fooP, "off", fooBar+" False"),
			},
		},
		{
			name: "bad payloads change nothing",
			steps: []step{
				live(fooP, "True"), live(fooBar, "True"),
				bad(fooP, "maybe", ErrPayload),
				bad(fooP, "", ErrPayload),
				bad(fooP, "\xff\xfe\x00", ErrPayload),
				bad(fooP, "Fals", ErrPayload),
				bad(fooP, strings.Repeat("False", 100_000), ErrPayload),
				bad(fooBar, "{\"available\":false}", ErrPayload),
				bad("dataavailable/foo/other", "sure", ErrPayload),
				live(fooP, "False", fooBar+" False"),
			},
		},
		{
			name: "odd topics are not ours",
			steps: []step{
				live(fooP, "True"), live(fooBar, "True"),
				bad("resourceavailable/foo/presence/extra", "False", ErrTopic),
				bad("resourceavailable/foo", "False", ErrTopic),
				bad("resourceavailable/foo/status", "False", ErrTopic),
				bad("dataavailable/foo", "True", ErrTopic),
				bad("dataavailable/\xff/bar", "True", ErrTopic),
				bad("dataavailable/foo/a+b", "True", ErrTopic),
				bad("stormguard/heartbeat/foo", "True", ErrPayload),
				bad("site1/resourceavailable/foo/presence", "False", ErrTopic),
				bad("SHUTDOWN", "storm", ErrTopic),
				live(fooP, "False", fooBar+" False"),
			},
		},
		{
			// Every name and depth the Service Manager convention allows.
			name: "any level the broker accepts",
			steps: []step{
				live("resourceavailable/living room/presence", "True"),
				live("dataavailable/living room/lamp 1", "True"),
				live("resourceavailable/$pi/presence", "True"), live("dataavailable/$pi/$temp", "True"),
				live("resourceavailable/group/presence", "True"), live("commandavailable/group/shutdown", "True"),
				live("resourceavailable//presence", "True"), live("dataavailable//x", "True"), live("dataavailable//", "True"),
				live("resourceavailable/"+long+"/presence", "True"), live("dataavailable/"+long+"/"+long, "True"),
				live("resourceavailable/deep/presence", "True"), live("dataavailable/deep/a/b", "True"), live("commandavailable/deep/x//y", "True"),
				live("resourceavailable/living room/presence", "False", "dataavailable/living room/lamp 1 False"),
				live("resourceavailable/$pi/presence", "False", "dataavailable/$pi/$temp False"),
				live("resourceavailable/group/presence", "False", "commandavailable/group/shutdown False"),
				live("resourceavailable//presence", "False", "dataavailable//x False", "dataavailable// False"),
				live("resourceavailable/"+long+"/presence", "False", "dataavailable/"+long+"/"+long+" False"),
				live("resourceavailable/deep/presence", "False", "dataavailable/deep/a/b False", "commandavailable/deep/x//y False"),
			},
		},
		{
			name: "prefix",
			cfg:  Config{Topics: wire.Topics{Prefix: "site1"}},
			steps: []step{
				live("site1/resourceavailable/foo/presence", "True"), live("site1/dataavailable/foo/bar", "True"),
				bad(fooP, "False", ErrTopic),
				live("site1/resourceavailable/foo/presence", "False", "site1/dataavailable/foo/bar False"),
			},
		},
		{
			name: "resource limit",
			cfg:  Config{MaxResources: 2},
			steps: []step{
				live("resourceavailable/a/presence", "True"), live("dataavailable/b/x", "True"),
				bad("resourceavailable/c/presence", "True", ErrFull),
				bad("dataavailable/c/x", "True", ErrFull),
				live("resourceavailable/b/presence", "False", "dataavailable/b/x False"),
			},
		},
		{
			name: "topic limit",
			cfg:  Config{MaxTopics: 1},
			steps: []step{
				live(fooP, "True"), live(fooBar, "True"),
				bad(fooBaz, "True", ErrFull),
				live(fooBar, "True"),
				live(fooP, "False", fooBar+" False"),
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := New(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range tc.steps {
				pubs, err := r.Observe(s.topic, []byte(s.payload), s.retained)
				if s.err != nil {
					if !errors.Is(err, s.err) {
						t.Fatalf("step %d %.60q %.20q: error %v, want %v", i, s.topic, s.payload, err, s.err)
					}
				} else if err != nil {
					t.Fatalf("step %d %q %q: %v", i, s.topic, s.payload, err)
				}
				if got := render(pubs); !slices.Equal(got, s.want) {
					t.Fatalf("step %d %q %q: published %q, want %q", i, s.topic, s.payload, got, s.want)
				}
			}
		})
	}
}

func render(pubs []Publish) []string {
	var out []string
	for _, p := range pubs {
		s := p.Topic + " " + string(p.Payload)
		if p.Retained {
			s += " retained"
		}
		out = append(out, s)
	}
	return out
}

func TestPublishNamesTheTopic(t *testing.T) {
	r, _ := New(Config{})
	r.Observe(fooBaz, []byte("True"), false)
	pubs, _ := r.Observe(fooP, []byte("False"), true)
	want := wire.Availability{Kind: wire.CommandKind, Resource: "foo", Name: "baz"}
	if len(pubs) != 1 || pubs[0].What != want {
		t.Fatalf("published %+v, want one for %+v", pubs, want)
	}
}

func TestErrorsQuoteNetworkInput(t *testing.T) {
	r, _ := New(Config{})
	_, err := r.Observe("dataavailable/foo/bar", []byte("x\x1b[2Jy"), false)
	if err == nil || strings.ContainsRune(err.Error(), 0x1b) {
		t.Errorf("error %q carries a raw escape character to the log", err)
	}
	_, err = r.Observe(fooP, make([]byte, 1<<20), false)
	if err == nil || len(err.Error()) > 200 {
		t.Errorf("error for a 1 MiB payload is %d bytes long, want a short line", len(fmt.Sprint(err)))
	}
}

func TestConfigValidate(t *testing.T) {
	if _, err := New(Config{MaxTopics: -1}); err == nil {
		t.Error("New accepted a negative MaxTopics")
	}
	if _, err := New(Config{MaxResources: -1}); err == nil {
		t.Error("New accepted a negative MaxResources")
	}
}

// TestConcurrentObserve is for the race detector: the mqtt client runs
// every handler on its own goroutine.
func TestConcurrentObserve(t *testing.T) {
	r, _ := New(Config{})
	done := make(chan int)
	for g := range 4 {
		go func() {
			n := 0
			for i := range 200 {
				res := fmt.Sprintf("r%d-%d", g, i%10)
				r.Observe(wire.Topics{}.Presence(res), []byte("True"), false)
				r.Observe(wire.Topics{}.DataAvailable(res, "x"), []byte("True"), false)
				pubs, _ := r.Observe(wire.Topics{}.Presence(res), []byte("False"), false)
				n += len(pubs)
				r.View()
			}
			done <- n
		}()
	}
	total := 0
	for range 4 {
		total += <-done
	}
	if total != 800 {
		t.Errorf("%d False published for 800 presence False after an announcement, want 800", total)
	}
	if got := r.View().Count(Absent); got != 40 {
		t.Errorf("%d resources absent, want 40", got)
	}
}

func TestSweep(t *testing.T) {
	t0 := time.Date(2026, 7, 15, 19, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		steps []step
		after time.Duration // clock moved on before Sweep
		want  []string
	}{
		{
			name: "announcement overtaken by the departure is answered after the grace",
			steps: []step{
				live(fooP, "True"), live(fooBar, "True"),
				live(fooP, "False", fooBar+" False"),
				live(fooBaz, "True"),
			},
			after: time.Second,
			want:  []string{fooBaz + " False"},
		},
		{
			name: "not before the grace is over",
			steps: []step{
				live(fooP, "False"), live(fooBaz, "True"),
			},
			after: time.Second - time.Nanosecond,
		},
		{
			name: "a resource coming back keeps its announcement",
			steps: []step{
				live(fooP, "False"),
				live(fooBar, "True"), // its presence True is a moment behind
				live(fooP, "True"),
			},
			after: time.Hour,
		},
		{
			name: "a later departure settles it at once",
			steps: []step{
				live(fooP, "False"), live(fooBar, "True"),
				live(fooP, "False", fooBar+" False"),
			},
			after: time.Hour,
		},
		{
			name: "unknown resources are not touched",
			steps: []step{
				live(fooBar, "True"),
			},
			after: time.Hour,
		},
		{
			name:  "nothing to do",
			after: time.Hour,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &clock{t: t0}
			r, _ := New(Config{Now: c.now})
			for i, s := range tc.steps {
				pubs, err := r.Observe(s.topic, []byte(s.payload), s.retained)
				if err != nil {
					t.Fatal(err)
				}
				if got := render(pubs); !slices.Equal(got, s.want) {
					t.Fatalf("step %d: published %q, want %q", i, got, s.want)
				}
			}
			c.t = c.t.Add(tc.after)
			if got := render(r.Sweep()); !slices.Equal(got, tc.want) {
				t.Errorf("Sweep after %v = %q, want %q", tc.after, got, tc.want)
			}
			if got := r.Sweep(); len(got) != 0 {
				t.Errorf("second Sweep = %q, want nothing", render(got))
			}
		})
	}
}
