package wire

import (
	"strings"
	"testing"
)

func TestParseAvailabilityTopics(t *testing.T) {
	for _, tc := range []struct {
		name, prefix, topic string
		presence            string // resource when it is a presence topic
		avail               Availability
	}{
		{name: "presence", topic: "resourceavailable/nas/presence", presence: "nas"},
		{name: "presence with prefix", prefix: "site1", topic: "site1/resourceavailable/nas/presence", presence: "nas"},
		{name: "data", topic: "dataavailable/foo/bar", avail: Availability{DataKind, "foo", "bar"}},
		{name: "command", topic: "commandavailable/foo/baz", avail: Availability{CommandKind, "foo", "baz"}},
		{name: "command with prefix", prefix: "a/b", topic: "a/b/commandavailable/nas/shutdown", avail: Availability{CommandKind, "nas", "shutdown"}},
		{name: "prefix missing", prefix: "site1", topic: "dataavailable/foo/bar"},
		{name: "prefix expected absent", topic: "site1/dataavailable/foo/bar"},
		{name: "deeper", topic: "dataavailable/foo/bar/baz", avail: Availability{DataKind, "foo", "bar/baz"}},
		{name: "deeper command", topic: "commandavailable/foo/a/b/c", avail: Availability{CommandKind, "foo", "a/b/c"}},
		{name: "too shallow", topic: "dataavailable/foo"},
		{name: "empty resource", topic: "dataavailable//bar", avail: Availability{DataKind, "", "bar"}},
		{name: "empty name", topic: "dataavailable/foo/", avail: Availability{DataKind, "foo", ""}},
		{name: "empty inner level", topic: "dataavailable/foo//x", avail: Availability{DataKind, "foo", "/x"}},
		{name: "presence of empty name", topic: "resourceavailable//presence", presence: "\x00empty"},
		{name: "presence with other last word", topic: "resourceavailable/nas/absence"},
		{name: "presence too deep", topic: "resourceavailable/nas/x/presence"},
		{name: "unknown first word", topic: "weatheravailable/foo/bar"},
		{name: "wildcard in resource", topic: "dataavailable/+/bar"},
		{name: "wildcard in name", topic: "dataavailable/foo/#"},
		{name: "NUL in name", topic: "dataavailable/foo/a\x00b"},
		{name: "not UTF-8", topic: "dataavailable/\xff/bar"},
		{name: "space", topic: "dataavailable/living room/lamp 1", avail: Availability{DataKind, "living room", "lamp 1"}},
		{name: "dollar", topic: "resourceavailable/$pi/presence", presence: "$pi"},
		{name: "long name", topic: "dataavailable/" + strings.Repeat("x", 300) + "/bar", avail: Availability{DataKind, strings.Repeat("x", 300), "bar"}},
		{name: "group is a resource", topic: "resourceavailable/group/presence", presence: "group"},
		{name: "group in data", topic: "commandavailable/group/shutdown", avail: Availability{CommandKind, "group", "shutdown"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tp := Topics{Prefix: tc.prefix}
			want := tc.presence
			if want == "\x00empty" {
				want = ""
			}
			res, ok := tp.ParsePresenceTopic(tc.topic)
			if ok != (tc.presence != "") || res != want {
				t.Errorf("ParsePresenceTopic(%q) = %q, %v; want %q", tc.topic, res, ok, tc.presence)
			}
			a, ok := tp.ParseAvailability(tc.topic)
			if ok != (tc.avail.Kind != 0) || a != tc.avail {
				t.Errorf("ParseAvailability(%q) = %+v, %v; want %+v", tc.topic, a, ok, tc.avail)
			}
			if ok && tp.Availability(a) != tc.topic {
				t.Errorf("Availability(%+v) = %q, want %q back", a, tp.Availability(a), tc.topic)
			}
			if ok && tp.Presence(want) != tc.topic && tc.presence != "" {
				t.Errorf("Presence(%q) = %q, want %q back", want, tp.Presence(want), tc.topic)
			}
		})
	}
}

func TestAvailabilityFilters(t *testing.T) {
	tp := Topics{Prefix: "site1"}
	want := []string{"site1/dataavailable/+/#", "site1/commandavailable/+/#"}
	got := tp.AvailabilityFilters()
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("AvailabilityFilters = %q, want %q", got, want)
	}
	if got := tp.PresenceFilter(); got != "site1/resourceavailable/+/presence" {
		t.Errorf("PresenceFilter = %q", got)
	}
}
