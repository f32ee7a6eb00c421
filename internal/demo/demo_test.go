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
		`strike 38\.0 km WNW, inside the watch radius`,
		`stormguard state: phase watch`,
		`SHUTDOWN storm-\S+-1 published, deadline \S+: "lightning 15\.5 km NW at \d\d:\d\dZ \(replay\); powering down at \d\d:\d\dZ unless cancelled on CANCEL"`,
		`ack \S+\s+scheduled storm-\S+-1`,
		`a person publishes CANCEL`,
		`stormguard cancelled: countdown for storm-\S+ cancelled by a CANCEL`,
		`SHUTDOWN storm-\S+-2 published, deadline \S+: "lightning \S+ km \w+ at \S+ \(replay\), closer than`,
		`ack \S+\s+executing storm-\S+-2`,
		`ack \S+\s+done\s+storm-\S+-2 \(dry run: would run shutdown -h now\)`,
		`stormguard allclear: all clear for storm-`,
		`story complete`,
	}
	at := 0
	for _, s := range steps {
		loc := regexp.MustCompile(s).FindStringIndex(text[at:])
		if loc == nil {
			t.Fatalf("timeline lacks %q after offset %d:\n%s", s, at, text)
		}
		at += loc[1]
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
	if !strings.Contains(err.Error(), "missing first SHUTDOWN") {
		t.Errorf("error %q does not name the missing step", err)
	}
}
