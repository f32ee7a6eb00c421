package sim

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

var (
	update = flag.Bool("update", false, "rewrite the score tables in docs/stormguard.md")
	curve  = flag.Bool("curve", false, "also play the trade-off curve (a minute or so) and check or rewrite its table")
)

const scoreTick = ScoreTick

const docPath = "../../docs/stormguard.md"

// TestScore plays PerKind storms of every kind through the pure engine
// under the reactive rule and the tracking rule, prints the table, checks
// the targets and that the table committed in docs/stormguard.md
// is what the seeds give (-update rewrites it).
func TestScore(t *testing.T) {
	rules := Rules()
	started := time.Now()
	res, err := Score(rules, Seeds(PerKind), scoreTick)
	if err != nil {
		t.Fatal(err)
	}
	var sums []Summary
	calls := 0
	for _, rs := range res {
		sums = append(sums, Summarize(rs))
		for _, r := range rs {
			calls += r.Outcome.Calls
		}
	}
	t.Logf("%d storms, %d engine calls, %v", len(res[0])*len(rules), calls, time.Since(started).Round(time.Millisecond))
	table := Table(rules, sums)
	t.Log("\n" + table)

	react, trk := sums[0], sums[1]
	// No storm the reactive rule caught is missed, and none is missed that
	// either rule could have seen: the misses left are storms whose
	// lightning inside was a stray strike the network did not place inside.
	for i, r := range res[1] {
		if r.Missed && !res[0][i].Missed {
			t.Errorf("%s seed %d: missed by tracking, caught by the reactive rule", r.Kind, r.Seed)
		}
	}
	if trk.Missed+trk.OverheadMissed > react.Missed+react.OverheadMissed {
		t.Errorf("tracking missed %d storms, the reactive rule %d", trk.Missed+trk.OverheadMissed, react.Missed+react.OverheadMissed)
	}
	if 10*trk.FromOutsideOK < 9*trk.FromOutside {
		t.Errorf("hosts down in time for %d of %d storms first seen beyond the watch radius, want 90%%", trk.FromOutsideOK, trk.FromOutside)
	}
	// Passes at 25 to 35 km: tracking may start no more than one
	// countdown in ten by a prediction, and no more than one in ten from
	// a strike the doubt rules could have held back (outside the close
	// radius): the strikes a passing storm's scatter and the network's
	// errors put inside 16 km wait for confirmation. The reactive rule
	// counts down more than half of them.
	c, r := trk.Outside[OutKey{Pass, bucket(25)}], react.Outside[OutKey{Pass, bucket(25)}]
	if 10*c.Predicted > c.Storms {
		t.Errorf("passes at 25-35 km: %d of %d got a predicted countdown, want at most 10%%", c.Predicted, c.Storms)
	}
	if other := c.Counted - c.Predicted - c.Close; 10*other > c.Storms {
		t.Errorf("passes at 25-35 km: %d of %d got a countdown from a strike beyond the close radius, want at most 10%%", other, c.Storms)
	}
	if 5*c.Counted > 3*r.Counted {
		t.Errorf("passes at 25-35 km: %d countdowns, the reactive rule %d; want at most 60%% of that", c.Counted, r.Counted)
	}
	// Doubting lone strikes costs storms that form overhead nothing: a
	// lone strike is doubted only while another storm is tracked.
	if trk.OverheadMissed > react.OverheadMissed || trk.OverheadMedianLead < react.OverheadMedianLead-30*time.Second {
		t.Errorf("formed overhead: tracking missed %d, median lead %v; reactive %d, %v", trk.OverheadMissed, trk.OverheadMedianLead, react.OverheadMissed, react.OverheadMedianLead)
	}
	checkDoc(t, "score", table)
}

// TestScoreCurve plays the trade-off between lead time and countdowns for
// storms that stay outside, over the settings that shape the prediction,
// with -curve.
func TestScoreCurve(t *testing.T) {
	if !*curve {
		t.Skip("run with -curve")
	}
	rules := CurveRules()
	res, err := Score(rules, Seeds(PerKind), scoreTick)
	if err != nil {
		t.Fatal(err)
	}
	var sums []Summary
	for _, rs := range res {
		sums = append(sums, Summarize(rs))
	}
	table := CurveTable(rules, sums)
	t.Log("\n" + table)
	checkDoc(t, "curve", table)
}

// checkDoc compares a table with the one between its markers in
// docs/stormguard.md, or writes it there with -update.
func checkDoc(t *testing.T, name, table string) {
	t.Helper()
	b, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	begin := fmt.Sprintf("<!-- %s table: go test ./internal/sim -update -->\n", name)
	end := fmt.Sprintf("<!-- end %s table -->", name)
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatalf("%s has no %s table markers", docPath, name)
	}
	if *update {
		doc = doc[:i+len(begin)] + table + doc[j:]
		if err := os.WriteFile(docPath, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if got := doc[i+len(begin) : j]; got != table {
		t.Errorf("the %s table in %s is not what the seeds give; run go test ./internal/sim -update\nwant:\n%s", name, docPath, table)
	}
}

// TestGenerateIsDeterministic: a seed is a storm.
func TestGenerateIsDeterministic(t *testing.T) {
	for _, k := range Kinds {
		a, b := Generate(Params{Seed: 3, Kind: k}), Generate(Params{Seed: 3, Kind: k})
		if len(a.Detected) == 0 || len(a.Detected) != len(b.Detected) || len(a.Truth) != len(b.Truth) {
			t.Fatalf("%s: %d and %d detections", k, len(a.Detected), len(b.Detected))
		}
		for i := range a.Detected {
			if a.Detected[i] != b.Detected[i] {
				t.Fatalf("%s: detection %d differs", k, i)
			}
		}
	}
}

// TestStormsAreWhatTheySay: each kind does what its name says, and the
// network sees less than the truth, with errors.
func TestStormsAreWhatTheySay(t *testing.T) {
	for _, k := range Kinds {
		inside, n := 0, 0
		for _, seed := range Seeds(20) {
			s := Generate(Params{Seed: seed, Kind: k})
			n++
			for _, c := range s.Cells {
				if c.SpeedKMH < 10 || c.SpeedKMH > 80 {
					t.Errorf("%s seed %d: speed %.0f km/h", k, seed, c.SpeedKMH)
				}
			}
			c := s.Cells[0]
			switch k {
			case Hit, Two:
				if c.ClosestKM > 10.5 {
					t.Errorf("%s seed %d: closest %.1f km", k, seed, c.ClosestKM)
				}
			case NearMiss:
				if c.ClosestKM < 16.5 || c.ClosestKM > 22.5 {
					t.Errorf("%s seed %d: closest %.1f km", k, seed, c.ClosestKM)
				}
			case Pass:
				if c.ClosestKM < 24.5 || c.ClosestKM > 35.5 {
					t.Errorf("%s seed %d: closest %.1f km", k, seed, c.ClosestKM)
				}
			case Overhead:
				if c.ClosestKM > 12.5 {
					t.Errorf("%s seed %d: closest %.1f km", k, seed, c.ClosestKM)
				}
			case Dies:
				if c.ClosestKM < 19 {
					t.Errorf("%s seed %d: died %.1f km out, want 20 or more", k, seed, c.ClosestKM)
				}
			}
			if k == Two && len(s.Cells) != 2 {
				t.Errorf("%s seed %d: %d cells", k, seed, len(s.Cells))
			}
			if got := float64(len(s.Detected)) / float64(len(s.Truth)); got > 1 || got < 0.4 {
				t.Errorf("%s seed %d: %d detections of %d strikes", k, seed, len(s.Detected), len(s.Truth))
			}
			for _, tr := range s.Truth {
				if tr.Dist() < 16 {
					inside++
					break
				}
			}
		}
		switch {
		case (k == Hit || k == Two || k == Overhead) && inside != n:
			t.Errorf("%s: %d of %d came inside 16 km", k, inside, n)
		case k == Pass && inside > n/4:
			t.Errorf("%s: %d of %d came inside 16 km", k, inside, n)
		}
	}
}

// TestPlayMatchesTheEngine: a storm played twice gives the same outcome,
// and the reactive rule's countdown comes at the first detection inside.
func TestPlayMatchesTheEngine(t *testing.T) {
	s := Generate(Params{Seed: 5, Kind: Hit})
	cfg := Rules()[0].Cfg
	a, err := Play(s, cfg, scoreTick)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Play(s, cfg, scoreTick)
	if a != b {
		t.Fatalf("two plays: %+v and %+v", a, b)
	}
	var first time.Time
	for _, d := range s.Detected {
		if d.Dist() < 16 {
			first = d.At
			break
		}
	}
	if !a.Countdown.Equal(first) || a.Predicted {
		t.Errorf("reactive countdown at %v (predicted %v), want the first detection inside at %v", a.Countdown, a.Predicted, first)
	}
}
