package weather

import (
	"context"
	"errors"
	"github.com/stormguard/stormguard/internal/mqtttest"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestBlitzortungFilters(t *testing.T) {
	b, err := NewBlitzortung(BlitzortungConfig{Subscriber: &pahoSubscriber{}, Site: fixtureSite})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"9/w/u", "9/w/v", "9/w/y", "9/x/h", "9/x/j", "9/x/k", "9/x/m", "9/x/n", "9/x/q"}
	for i := range want {
		want[i] = "blitzortung/1.1/" + want[i] + "/#"
	}
	if got := b.Filters(); !slices.Equal(got, want) {
		t.Errorf("Filters() = %v, want %v", got, want)
	}
}

// streamBlitzortung publishes the fixture storm to a real broker and returns
// the strikes a source with the given radius emits.
func streamBlitzortung(t *testing.T, radiusKM float64, want int) []Strike {
	t.Helper()
	url := broker(t)
	sub := newPahoSubscriber(t, url)
	b, err := NewBlitzortung(BlitzortungConfig{Subscriber: sub, Site: fixtureSite, RadiusKM: radiusKM})
	if err != nil {
		t.Fatal(err)
	}
	pub := newPahoClient(t, url, "pub")
	// A retained strike is stale by definition and must be ignored.
	const stale = `{"lat":40.0001,"lon":-105.0001,"status":0,"region":3,"time":1784100000000000000}`
	publish(t, pub, "blitzortung/1.1/9/x/j/7/d/9/v/2/f/s/m/q", stale, true)
	mqtttest.WaitRetained(t, url, nil, "blitzortung/1.1/9/x/j/7/d/9/v/2/f/s/m/q", stale)
	col := runStream(t, b)
	sub.waitGranted(t, len(b.Filters()))
	for _, m := range fixtureMessages(t, "blitzortung-strikes.jsonl") {
		publish(t, pub, m.Topic, m.Payload, false)
	}
	publish(t, pub, "blitzortung/1.1/9/x/j/7/d/9/v/2/f/s/m/q", "not json", false)
	// A last strike at the site marks the end of the run.
	const marker = int64(1784145700000000001)
	publish(t, pub, "blitzortung/1.1/9/x/j/7/d/9/v/2/f/s/m/q", `{"lat":40.0,"lon":-105.0,"status":0,"region":3,"time":1784145700000000001}`, false)
	// The broker may deliver across tile subscriptions in any order: wait
	// for the marker and for as many strikes as the radius lets through.
	got := strikesOf(col.waitFor(t, "the marker strike", func(r []Report) bool {
		s := strikesOf(r)
		return len(s) >= want+1 && slices.ContainsFunc(s, func(s Strike) bool { return s.Time.UnixNano() == marker })
	}))
	got = slices.DeleteFunc(got, func(s Strike) bool { return s.Time.UnixNano() == marker })
	slices.SortFunc(got, func(a, b Strike) int { return a.Time.Compare(b.Time) })
	return got
}

func TestBlitzortungStorm100km(t *testing.T) {
	got := streamBlitzortung(t, 100, 9)
	// Lines 3..11 of the fixture; line 2 (128.3 km) lies in a subscribed tile
	// but outside the radius.
	want := []struct {
		km, az float64
	}{{95.2, 290}, {61.1, 292}, {38.0, 295}, {51.9, 250}, {24.0, 300}, {15.5, 305}, {9.2, 310}, {4.1, 330}, {1.6, 20}}
	if len(got) != len(want) {
		t.Fatalf("got %d strikes, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		s := got[i]
		if math.Round(s.DistanceKM*10)/10 != w.km || math.Round(s.BearingDeg) != w.az || !s.HasBearing || s.Estimate {
			t.Errorf("strike %d = %.2f km at %.1f°, want %v km at %v°", i, s.DistanceKM, s.BearingDeg, w.km, w.az)
		}
	}
	// The 19-digit nanosecond times survive exactly, legacy payload included.
	if got[3].Time.UnixNano() != 1784144900560017342 || got[8].Time.UnixNano() != 1784145596998100263 {
		t.Errorf("times lost precision: %d, %d", got[3].Time.UnixNano(), got[8].Time.UnixNano())
	}
}

func TestBlitzortungStormTenMiles(t *testing.T) {
	got := streamBlitzortung(t, 16.09, 4)
	var kms []float64
	for _, s := range got {
		kms = append(kms, math.Round(s.DistanceKM*10)/10)
	}
	if !slices.Equal(kms, []float64{15.5, 9.2, 4.1, 1.6}) {
		t.Fatalf("distances = %v, want 15.5, 9.2, 4.1, 1.6", kms)
	}
	if at := got[0].Time.Format(time.TimeOnly); at != "19:56:00" {
		t.Errorf("threat starts at %s, want 19:56:00", at)
	}
}

func TestDecodeBlitzortung(t *testing.T) {
	msgs := fixtureMessages(t, "blitzortung-strikes.jsonl")
	// Line 6 is the legacy payload with spaces and extra fields.
	s, err := decodeBlitzortung([]byte(msgs[5].Payload), fixtureSite)
	if err != nil || math.Round(s.DistanceKM*10)/10 != 51.9 || Compass(s.BearingDeg) != "WSW" {
		t.Errorf("legacy payload: %+v, %v", s, err)
	}
	for _, bad := range []string{
		`{"latest_version": "1.7.2"}`,
		`{"lat":40,"lon":-105,"time":1.7841455969981003e18}`,
		`{"lat":"40","lon":-105,"time":1784145596998100263}`,
		`{"lat":140,"lon":-105,"time":1784145596998100263}`,
		`{"lat":40,"lon":-105,"time":17841455969981002630}`,
		`{"lat":40,"lon":-105`,
	} {
		if _, err := decodeBlitzortung([]byte(bad), fixtureSite); !errors.Is(err, ErrMalformed) {
			t.Errorf("decode %s: err = %v, want ErrMalformed", bad, err)
		}
	}
}

func TestBlitzortungConfig(t *testing.T) {
	for _, tc := range []struct {
		field string
		cfg   BlitzortungConfig
	}{
		{"Subscriber", BlitzortungConfig{Site: fixtureSite}},
		{"RadiusKM", BlitzortungConfig{Subscriber: &pahoSubscriber{}, Site: fixtureSite, RadiusKM: 5000}},
		{"TopicPrefix", BlitzortungConfig{Subscriber: &pahoSubscriber{}, Site: fixtureSite, TopicPrefix: "blitzortung/#"}},
	} {
		if _, err := NewBlitzortung(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: err = %v", tc.field, err)
		}
	}
}

// failingSubscriber refuses every subscription.
type failingSubscriber struct{}

func (failingSubscriber) Subscribe(context.Context, string, byte, func(string, []byte, bool)) error {
	return errors.New("not authorized")
}

func TestBlitzortungSubscribeFailure(t *testing.T) {
	b, err := NewBlitzortung(BlitzortungConfig{Subscriber: failingSubscriber{}, Site: fixtureSite})
	if err != nil {
		t.Fatal(err)
	}
	err = b.Stream(context.Background(), func(Report) { t.Error("emitted without a subscription") })
	if err == nil || !strings.Contains(err.Error(), "not authorized") {
		t.Errorf("Stream = %v, want the subscribe error", err)
	}
}

func FuzzDecodeBlitzortung(f *testing.F) {
	for _, m := range fixtureMessages(f, "blitzortung-strikes.jsonl") {
		f.Add([]byte(m.Payload))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := decodeBlitzortung(b, fixtureSite)
		if err == nil && (!finite(s.DistanceKM) || s.BearingDeg < 0 || s.BearingDeg >= 360) {
			t.Fatalf("bad strike %+v", s)
		}
	})
}
