package main

import (
	"testing"
	"time"

	"github.com/stormguard/stormguard/weather"
)

// TestSummarizeFeed: check says whether a quiet event feed is connected,
// and counts the messages it rejected, rather than calling it quiet.
func TestSummarizeFeed(t *testing.T) {
	at := time.Date(2026, 7, 15, 19, 58, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		rs   []weather.Report
		want string
	}{
		{"nothing at all", nil, "no reports (quiet, or nothing within range)"},
		{"connected and quiet", []weather.Report{{Link: weather.LinkUp, Detail: "connected"}},
			"connected; no reports (quiet, or nothing within range)"},
		{"connection lost", []weather.Report{{Link: weather.LinkUp}, {Link: weather.LinkDown, Detail: "connection lost: EOF"}},
			"connection down: connection lost: EOF; no reports (quiet, or nothing within range)"},
		{"a strike and a rejected message", []weather.Report{
			{Link: weather.LinkUp},
			{Rejected: 1, RejectedWhy: "a 5242880-byte message on blitzortung/1.1/9, over the 4096-byte limit"},
			{Strikes: []weather.Strike{{Time: at, DistanceKM: 9.2, BearingDeg: 292.5, HasBearing: true}}},
		}, "connected; ok, 1 strikes, nearest 9.2 km WNW at 19:58:00Z; 1 messages rejected (last: a 5242880-byte message on blitzortung/1.1/9, over the 4096-byte limit)"},
	} {
		if got := summarize(tc.rs); got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}
