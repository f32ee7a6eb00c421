package weather

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

// stepReplay plays r on a fake clock, advancing it to each expected moment,
// and checks that no strike comes early and each comes exactly then.
func stepReplay(t *testing.T, r *Replay, clock *clockwork.FakeClock, offsets []time.Duration) []Strike {
	t.Helper()
	start := clock.Now()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	col := newCollector()
	done := make(chan error, 1)
	go func() { done <- r.Stream(ctx, col.emit) }()
	for i, off := range offsets {
		if off > 0 {
			// Stream is waiting on the clock; nothing is due before off.
			if err := clock.BlockUntilContext(ctx, 1); err != nil {
				t.Fatal(err)
			}
			if n := len(strikesOf(col.waitFor(t, "", func([]Report) bool { return true }))); n != i {
				t.Fatalf("before %v: %d strikes emitted, want %d", off, n, i)
			}
			clock.Advance(start.Add(off).Sub(clock.Now()))
		}
		col.waitFor(t, "strike", func(r []Report) bool { return len(strikesOf(r)) > i })
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Stream = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Stream did not end after the last strike")
	}
	return strikesOf(col.waitFor(t, "", func([]Report) bool { return true }))
}

func TestReplayBlitzortungFixture(t *testing.T) {
	start := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	clock := clockwork.NewFakeClockAt(start)
	r, err := NewReplay(ReplayConfig{Path: filepath.Join("testdata", "blitzortung-strikes.jsonl"), Site: fixtureSite, Speed: 60, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	// t0 is line 2 (19:30:10.412873911), which lies outside 100 km and is
	// dropped; lines 3..11 play at 60x.
	recT0 := time.Unix(0, 1784143810412873911)
	var offsets []time.Duration
	for _, ns := range []int64{1784144100088120455, 1784144460731004518, 1784144820250913377, 1784144900560017342,
		1784145180903318046, 1784145360017552893, 1784145505640298731, 1784145569325671004, 1784145596998100263} {
		offsets = append(offsets, time.Duration(float64(time.Unix(0, ns).Sub(recT0))/60))
	}
	got := stepReplay(t, r, clock, offsets)
	if len(got) != 9 {
		t.Fatalf("got %d strikes, want 9", len(got))
	}
	for i, s := range got {
		if want := start.Add(offsets[i]); !s.Time.Equal(want) {
			t.Errorf("strike %d time = %v, want %v", i, s.Time, want)
		}
	}
	// The last strike, 1.6 km NNE, was recorded 29m46.585s after line 2: at
	// 60x it comes 29.776 s after the start.
	last := got[8]
	if math.Round(last.DistanceKM*10)/10 != 1.6 || Compass(last.BearingDeg) != "NNE" || last.Source != "replay" {
		t.Errorf("last strike = %+v", last)
	}
	if d := last.Time.Sub(start).Round(time.Millisecond); d != 29776*time.Millisecond {
		t.Errorf("last strike after %v, want 29.776s", d)
	}
}

func TestReplaySimpleForms(t *testing.T) {
	path := filepath.Join(t.TempDir(), "drill.jsonl")
	lines := strings.Join([]string{
		`# a drill`,
		`{"time":"2026-07-15T19:59:00Z","distance_km":150}`,
		`{"time":"2026-07-15T19:58:00Z","lat":40.079858,"lon":-105.149233}`,
		``,
		`{"time":"2026-07-15T19:58:30Z","distance_km":8,"bearing_deg":300}`,
		`{"time":"2026-07-15T20:00:00-00:00","distance_km":3}`,
	}, "\n")
	if err := os.WriteFile(path, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	clock := clockwork.NewFakeClockAt(t0)
	r, err := NewReplay(ReplayConfig{Path: path, Site: fixtureSite, RadiusKM: 100, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	// Sorted by time; the 150 km line is outside the radius.
	got := stepReplay(t, r, clock, []time.Duration{0, 30 * time.Second, 2 * time.Minute})
	if len(got) != 3 {
		t.Fatalf("strikes = %+v", got)
	}
	if math.Round(got[0].DistanceKM*10)/10 != 15.5 || !got[0].HasBearing {
		t.Errorf("lat/lon line = %+v, want 15.5 km with bearing", got[0])
	}
	if got[1].DistanceKM != 8 || !got[1].HasBearing || got[1].BearingDeg != 300 {
		t.Errorf("distance+bearing line = %+v", got[1])
	}
	if got[2].DistanceKM != 3 || got[2].HasBearing || !got[2].Time.Equal(t0.Add(2*time.Minute)) {
		t.Errorf("distance-only line = %+v", got[2])
	}
}

func TestReplayStopsOnCancel(t *testing.T) {
	clock := clockwork.NewFakeClockAt(t0)
	r, err := NewReplay(ReplayConfig{Path: filepath.Join("testdata", "blitzortung-strikes.jsonl"), Site: fixtureSite, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Stream(ctx, func(Report) {}) }()
	if err := clock.BlockUntilContext(ctx, 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Stream = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Stream kept waiting after cancel")
	}
}

func TestReplayBadFile(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, body, want string
	}{
		{"no time", `{"distance_km":3}`, "line 1"},
		{"bad json", "{\"time\":\"2026-07-15T20:00:00Z\",\"distance_km\":3}\n{\"time\":", "line 2"},
		{"no place", `{"time":"2026-07-15T20:00:00Z"}`, "neither"},
		{"bad payload", `{"topic":"blitzortung/1.1/9","payload":"{\"lat\":1}"}`, "line 1"},
	} {
		path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-"))
		os.WriteFile(path, []byte(tc.body), 0o644)
		_, err := NewReplay(ReplayConfig{Path: path, Site: fixtureSite})
		if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want ErrMalformed mentioning %q", tc.name, err, tc.want)
		}
	}
	if _, err := NewReplay(ReplayConfig{Path: filepath.Join(dir, "missing"), Site: fixtureSite}); err == nil {
		t.Error("missing file: no error")
	}
	if _, err := NewReplay(ReplayConfig{Path: "x", Site: fixtureSite, Speed: -2}); err == nil || !strings.Contains(err.Error(), "Speed") {
		t.Errorf("negative Speed: %v", err)
	}
}

func FuzzParseReplayLine(f *testing.F) {
	for _, l := range fixtureLines(f, "blitzortung-strikes.jsonl") {
		f.Add(l)
	}
	f.Add([]byte(`{"time":"2026-07-15T19:58:30Z","distance_km":8,"bearing_deg":300}`))
	f.Add([]byte(`{"time":"2026-07-15T19:58:00Z","lat":40.079858,"lon":-105.149233}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, ok, err := parseReplayLine(b, fixtureSite)
		if ok && (err != nil || ev.strike.DistanceKM < 0 || !finite(ev.strike.DistanceKM)) {
			t.Fatalf("accepted %+v, %v", ev, err)
		}
	})
}
