package storm

import "testing"

func TestCompass(t *testing.T) {
	tests := []struct {
		deg  float64
		want string
	}{
		{0, "N"}, {11.24, "N"}, {11.25, "NNE"}, {90, "E"}, {180, "S"}, {292.5, "WNW"},
		{305, "NW"}, {348.75, "N"}, {359.9, "N"}, {360, "N"}, {-22.5, "NNW"}, {720 + 45, "NE"},
	}
	for _, tc := range tests {
		if got := Compass(tc.deg); got != tc.want {
			t.Errorf("Compass(%v) = %s, want %s", tc.deg, got, tc.want)
		}
	}
}

func TestReasonText(t *testing.T) {
	tests := []struct {
		name string
		s    Strike
		want string
	}{
		{"located strike", Strike{DistanceKM: 9.23, BearingDeg: 292.5, HasBearing: true, Time: at("19:58:25"), Source: "blitzortung"},
			"lightning 9.2 km WNW at 19:58Z (blitzortung); powering down at 20:03Z unless cancelled on CANCEL"},
		{"single sensor without bearing", Strike{DistanceKM: 12, Estimate: true, Time: at("19:59:16"), Source: "tempest"},
			"lightning 12.0 km (estimated) at 19:59Z (tempest); powering down at 20:03Z unless cancelled on CANCEL"},
	}
	e := newEngine(t, nil)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := e.countdownReason(describe(tc.s), at("20:03:25")); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}
