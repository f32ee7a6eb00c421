package demo

import (
	"bytes"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"
	"time"
)

var record = flag.Bool("record", false, "rewrite storm.jsonl from its seed")

// recordStart is when the recorded storm begins.
var recordStart = time.Date(2026, 7, 15, 19, 0, 0, 0, time.UTC)

// makeRecording makes the demo's storm from a fixed seed: one cell from the
// west-south-west moving east-north-east at 60 km/h, passing 2 km from the
// site, 8 strikes a minute scattered 1.5 km about a point just ahead of its
// core, from 60 km out until it dies 5 km past the site.
func makeRecording() []byte {
	rng := rand.New(rand.NewPCG(12, 2026))
	var b bytes.Buffer
	b.WriteString("# The demo's storm, made by makeRecording in record_test.go (go test ./internal/demo -record):\n")
	b.WriteString("# one cell from the WSW moving ENE at 60 km/h, passing 2 km from the site, 8 strikes a minute\n")
	b.WriteString("# scattered 1.5 km about a point 1 km ahead of its core, from 60 km out until it dies 5 km past.\n")
	const speed = 60.0 // km/h
	hd := 67.5 * math.Pi / 180
	ux, uy := math.Sin(hd), math.Cos(hd)
	cx, cy := -uy*2, ux*2 // the closest point, 2 km to the side
	tc := 60 / speed      // hours from the start to the closest point
	end := (60 + 5) / speed
	for h := 0.0; h < end; {
		h += rng.ExpFloat64() / 8 / 60
		a := speed * (h - tc)
		along, across := a+1+1.5*rng.NormFloat64(), 1.5*rng.NormFloat64()
		x, y := cx+ux*along+uy*across, cy+uy*along-ux*across
		at := recordStart.Add(time.Duration(h * float64(time.Hour))).Truncate(time.Millisecond)
		fmt.Fprintf(&b, "{\"time\": %q, \"distance_km\": %.2f, \"bearing_deg\": %.1f}\n",
			at.Format(time.RFC3339Nano), math.Hypot(x, y), math.Mod(math.Atan2(x, y)*180/math.Pi+360, 360))
	}
	return b.Bytes()
}

// TestRecording: the committed storm is the one its seed makes (-record
// rewrites it), and its first strike inside 16 km comes long enough after
// the start for a tracked countdown to end before it.
func TestRecording(t *testing.T) {
	want := makeRecording()
	if *record {
		if err := os.WriteFile("storm.jsonl", want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(recordedStorm, want) && !*record {
		t.Fatal("storm.jsonl is not what makeRecording gives; run go test ./internal/demo -record")
	}
}
