package storm

import (
	"testing"
)

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
