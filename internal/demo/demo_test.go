package demo

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestDemoTellsTheWholeStory(t *testing.T) {
	var out bytes.Buffer
	err := Run(context.Background(), &out, Options{Speed: 240, Grace: 3 * time.Second})
	if err != nil {
		t.Fatalf("demo failed: %v\n%s", err, out.String())
	}
	text := out.String()
	// The story's key moments, in the order a viewer must see them.
	steps := []string{
		`the storm's first strike: 5\d\.\d km WSW, far away`,
		`SHUTDOWN storm-\S+-1 published, deadline \S+: "storm cell \d\d km WSW moving ENE at [56]\d km/h, lightning expected inside 16 km at \d\d:\d\dZ; powering down at \d\d:\d\dZ unless cancelled on CANCEL"`,
		`ack \S+\s+scheduled storm-\S+-1`,
		`a person publishes CANCEL`,
		`SHUTDOWN storm-\S+-2 published, deadline \S+: "storm cell \d\d km WSW moving ENE at [56]\d km/h, lightning expected inside 16 km`,
		`ack \S+\s+done\s+storm-\S+-2 \(dry run: would run shutdown -h now\)`,
		`every host is down \(dry run\); the storm's lightning is not inside 16 km yet`,
		`first strike inside the shutdown radius: 1\d\.\d km WSW, inside the shutdown radius; the hosts have been down for \d+\.\d s`,
		`stormguard allclear: all clear for storm-`,
		`story complete: a tracked storm`,
	}
	at := 0
	for _, s := range steps {
		loc := regexp.MustCompile(s).FindStringIndex(text[at:])
		if loc == nil {
			t.Fatalf("timeline lacks %q after offset %d:\n%s", s, at, text)
		}
		at += loc[1]
	}
	// Between the cancel and the second countdown: the cancelled event and
	// the state back on watch. They come on two topics, so in either order.
	between := text[strings.Index(text, "a person publishes CANCEL"):strings.Index(text, "-2 published")]
	for _, s := range []string{`stormguard cancelled: countdown for storm-\S+ cancelled by a CANCEL`, `stormguard state: phase watch`} {
		if !regexp.MustCompile(s).MatchString(between) {
			t.Errorf("timeline lacks %q between the cancel and the second countdown:\n%s", s, text)
		}
	}
	// The first strike inside the watch radius may come before the first
	// countdown or after it, as the speed and grace make it.
	if !regexp.MustCompile(`first strike inside the watch radius: 3\d\.\d km WSW`).MatchString(text) {
		t.Errorf("timeline lacks the first strike inside the watch radius")
	}
	// The cell as the events and the retained state carry it.
	for _, s := range []string{
		`stormguard watch: tracking storm cell \d\d km WSW moving ENE at [56]\d km/h, lightning expected inside 16 km at \d\d:\d\dZ`,
		`stormguard state: phase countdown, .*tracking cell \d+: \d\d km WSW moving ENE at [56]\d ± \d km/h`,
	} {
		if !regexp.MustCompile(s).MatchString(text) {
			t.Errorf("timeline lacks %q", s)
		}
	}
	for _, h := range Hosts {
		for _, state := range []string{"scheduled", "cancelled", "executing", "done"} {
			if !regexp.MustCompile(`ack ` + h + `\s+` + state).MatchString(text) {
				t.Errorf("no %s ack from %s in the timeline", state, h)
			}
		}
	}
	if n := strings.Count(text, " published, deadline"); n != 2 {
		t.Errorf("%d SHUTDOWNs published, want 2 (one cancelled, one carried out)", n)
	}
}

func TestDemoFailsWhenTheStoryIsCutShort(t *testing.T) {
	var out bytes.Buffer
	err := Run(context.Background(), &out, Options{Speed: 240, Timeout: 3 * time.Second})
	if err == nil {
		t.Fatalf("demo cut off after 3s succeeded:\n%s", out.String())
	}
	if !strings.Contains(err.Error(), "missing ") || !strings.Contains(err.Error(), "lightning inside the shutdown radius, all clear") {
		t.Errorf("error %q does not name the missing step", err)
	}
}
