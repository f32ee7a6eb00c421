package presence

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stormguard/stormguard/wire"
)

func beat(t *testing.T, every time.Duration) []byte {
	t.Helper()
	b, err := wire.Beat{At: time.Now(), Interval: every, Seq: 1}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const fooBeat = "stormguard/heartbeat/foo"

func TestExpire(t *testing.T) {
	c := &clock{t: time.Date(2026, 12, 1, 16, 0, 0, 0, time.UTC)}
	r, err := New(Config{Now: c.now, Misses: 3})
	if err != nil {
		t.Fatal(err)
	}
	obs := func(topic string, payload []byte, retained bool) []string {
		t.Helper()
		pubs, err := r.Observe(topic, payload, retained)
		if err != nil {
			t.Fatal(err)
		}
		return render(pubs)
	}
	obs(fooP, []byte("True"), true)
	obs(fooBar, []byte("True"), true)
	obs(fooBaz, []byte("True"), false)
	obs("resourceavailable/mute/presence", []byte("True"), true) // never beats: never expires
	obs(fooBeat, beat(t, time.Second), true)

	c.t = c.t.Add(3 * time.Second)
	if got := r.Expire(); got != nil {
		t.Fatalf("Expire after 3 of 3 allowed misses = %q, want nothing", render(got))
	}
	c.t = c.t.Add(250*time.Millisecond + time.Nanosecond)
	want := []string{fooP + " False retained", fooBar + " False retained", fooBaz + " False"}
	if got := render(r.Expire()); !slices.Equal(got, want) {
		t.Fatalf("Expire after the misses = %q, want %q", got, want)
	}
	if got := r.Expire(); got != nil {
		t.Fatalf("second Expire = %q, want nothing", render(got))
	}
	st, _ := r.Status("foo")
	if st.State != Absent || !st.ByHeartbeat {
		t.Fatalf("status %+v, want absent by heartbeat", st)
	}
	if st, _ := r.Status("mute"); st.State != Present {
		t.Fatalf("a resource that never beat: %v, want present", st.State)
	}
}

func TestBeatRevives(t *testing.T) {
	c := &clock{t: time.Date(2026, 12, 1, 16, 0, 0, 0, time.UTC)}
	r, _ := New(Config{Now: c.now})
	r.Observe(fooP, []byte("True"), false)
	r.Observe(fooBar, []byte("True"), true)
	r.Observe(fooBaz, []byte("False"), false)
	r.Observe(fooBeat, beat(t, time.Second), false)
	c.t = c.t.Add(10 * time.Second)
	if got := render(r.Expire()); !slices.Equal(got, []string{fooP + " False retained", fooBar + " False retained"}) {
		t.Fatalf("Expire = %q", got)
	}
	// Our own Falses come back from the broker.
	r.Observe(fooP, []byte("False"), false)
	r.Observe(fooBar, []byte("False"), false)
	// A retained beat is old news: no revival.
	if pubs, _ := r.Observe(fooBeat, beat(t, time.Second), true); pubs != nil {
		t.Fatalf("retained beat revived: %q", render(pubs))
	}
	// A live one undoes exactly what Expire did, and nothing else.
	pubs, err := r.Observe(fooBeat, beat(t, time.Second), false)
	want := []string{fooP + " True retained", fooBar + " True retained"}
	if err != nil || !slices.Equal(render(pubs), want) {
		t.Fatalf("live beat after expiry = %q, %v; want %q", render(pubs), err, want)
	}
	if st, _ := r.Status("foo"); st.State != Present || st.ByHeartbeat {
		t.Fatalf("status %+v, want present", st)
	}
	// A resource that left by its will is not revived by a late beat.
	r.Observe(fooP, []byte("False"), false)
	if pubs, _ := r.Observe(fooBeat, beat(t, time.Second), false); pubs != nil {
		t.Fatalf("beat after the will revived: %q", render(pubs))
	}
	// The manager's own presence False coming back from the broker does
	// not cost the revival.
	r.Observe(fooP, []byte("True"), false)
	c.t = c.t.Add(10 * time.Second)
	if got := render(r.Expire()); !slices.Equal(got, []string{fooP + " False retained"}) {
		t.Fatalf("Expire = %q", got)
	}
	if pubs, _ := r.Observe(fooP, []byte("False"), false); pubs != nil {
		t.Fatalf("echo published %q", render(pubs))
	}
	if pubs, _ := r.Observe(fooBeat, beat(t, time.Second), false); !slices.Equal(render(pubs), []string{fooP + " True retained"}) {
		t.Fatalf("beat after the echo = %q, want the presence back", render(pubs))
	}
}

func TestBeatKeepsAlive(t *testing.T) {
	c := &clock{t: time.Date(2026, 12, 1, 16, 0, 0, 0, time.UTC)}
	r, _ := New(Config{Now: c.now, Misses: 2})
	r.Observe(fooP, []byte("True"), false)
	for range 100 {
		r.Observe(fooBeat, beat(t, time.Second), false)
		c.t = c.t.Add(2 * time.Second)
		if got := r.Expire(); got != nil {
			t.Fatalf("expired while beating every 2 s of 2 allowed misses: %q", render(got))
		}
	}
}

func TestBadBeat(t *testing.T) {
	r, _ := New(Config{})
	for _, p := range []string{"True", `{"v":1}`, `{"v":1,"interval_ms":1}`} {
		if _, err := r.Observe(fooBeat, []byte(p), false); !errors.Is(err, ErrPayload) {
			t.Errorf("beat %q: error %v, want ErrPayload", p, err)
		}
	}
	if r.Len() != 0 {
		t.Errorf("bad beats created %d resources", r.Len())
	}
}

func TestLimitsAreLoud(t *testing.T) {
	r, _ := New(Config{MaxResources: 2, MaxTopics: 1})
	r.Observe(fooP, []byte("True"), false)
	r.Observe(fooBar, []byte("True"), false)
	var fe *FullError
	_, err := r.Observe(fooBaz, []byte("True"), false)
	if !errors.As(err, &fe) || !fe.First || fe.Limit != "max-topics" {
		t.Fatalf("first topic over the cap: %v, want a first max-topics FullError", err)
	}
	_, err = r.Observe("commandavailable/foo/other", []byte("True"), false)
	if !errors.As(err, &fe) || fe.First {
		t.Fatalf("second topic over the cap: %v, want a FullError that is not the first", err)
	}
	r.Observe("resourceavailable/b/presence", []byte("True"), false)
	_, err = r.Observe("resourceavailable/c/presence", []byte("True"), false)
	if !errors.As(err, &fe) || !fe.First || fe.Limit != "max-resources" {
		t.Fatalf("resource over the cap: %v", err)
	}
	got := r.Limits()
	want := Limits{MaxResources: 2, MaxTopics: 1, Resources: 2, ResourcesRefused: 1, TopicsRefused: 2, FullResources: 1}
	if got != want || !got.Reached() {
		t.Errorf("Limits = %+v, want %+v", got, want)
	}
}

// TestLateEcho: Expire's Falses reach the broker after the resource, back
// by itself, announced True again; they must not have the last word.
func TestLateEcho(t *testing.T) {
	c := &clock{t: time.Date(2026, 12, 1, 16, 0, 0, 0, time.UTC)}
	r, _ := New(Config{Now: c.now})
	r.Observe(fooP, []byte("True"), false)
	r.Observe(fooBaz, []byte("True"), false)
	r.Observe(fooBeat, beat(t, time.Second), false)
	c.t = c.t.Add(10 * time.Second)
	if got := render(r.Expire()); !slices.Equal(got, []string{fooP + " False retained", fooBaz + " False"}) {
		t.Fatalf("Expire = %q", got)
	}
	// The resource reconnects and announces itself before our Falses land.
	for _, topic := range []string{fooP, fooBaz} {
		if pubs, _ := r.Observe(topic, []byte("True"), false); pubs != nil {
			t.Fatalf("announcement %s published %q", topic, render(pubs))
		}
	}
	// Now our Falses come back: each is answered with True.
	if pubs, _ := r.Observe(fooP, []byte("False"), false); !slices.Equal(render(pubs), []string{fooP + " True retained"}) {
		t.Fatalf("late presence echo answered %q", render(pubs))
	}
	if pubs, _ := r.Observe(fooBaz, []byte("False"), false); !slices.Equal(render(pubs), []string{fooBaz + " True"}) {
		t.Fatalf("late topic echo answered %q", render(pubs))
	}
	if st, _ := r.Status("foo"); st.State != Present || !st.Topics[0].Available {
		t.Fatalf("status %+v, want present with its topic True", st)
	}
	// A later real will is a will.
	if pubs, _ := r.Observe(fooP, []byte("False"), false); !slices.Equal(render(pubs), []string{fooBaz + " False"}) {
		t.Fatalf("will after the echoes published %q", render(pubs))
	}
}
