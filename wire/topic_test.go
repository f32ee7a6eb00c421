package wire

import (
	"errors"
	"testing"
)

func TestParseCommandTopic(t *testing.T) {
	tests := []struct {
		prefix, topic string
		action        Action
		target        Target
		bad           bool
	}{
		{topic: "SHUTDOWN", action: Shutdown, target: Target{Kind: AllHosts}},
		{topic: "REBOOT/nas", action: Reboot, target: Target{Kind: OneHost, Name: "nas"}},
		{topic: "CANCEL/group/office", action: Cancel, target: Target{Kind: OneGroup, Name: "office"}},
		{prefix: "home", topic: "home/SHUTDOWN/pi3", action: Shutdown, target: Target{Kind: OneHost, Name: "pi3"}},
		{prefix: "home", topic: "SHUTDOWN", bad: true},
		{topic: "shutdown", bad: true},
		{topic: "SHUTDOWN/", bad: true},
		{topic: "SHUTDOWN/group", bad: true},
		{topic: "SHUTDOWN/a/b", bad: true},
		{topic: "SHUTDOWN/group/office/x", bad: true},
		{topic: "stormguard/ack/nas", bad: true},
	}
	for _, tc := range tests {
		t.Run(tc.topic, func(t *testing.T) {
			a, tgt, err := Topics{Prefix: tc.prefix}.ParseCommand(tc.topic)
			if tc.bad {
				if !errors.Is(err, ErrTopic) {
					t.Fatalf("ParseCommand(%q) = %v, %v, %v; want ErrTopic", tc.topic, a, tgt, err)
				}
				return
			}
			if err != nil || a != tc.action || tgt != tc.target {
				t.Fatalf("ParseCommand(%q) = %v, %+v, %v; want %v, %+v", tc.topic, a, tgt, err, tc.action, tc.target)
			}
		})
	}
}

func TestTopicBuildersRoundTrip(t *testing.T) {
	for _, p := range []string{"", "site1"} {
		tp := Topics{Prefix: p}
		for _, f := range tp.AgentFilters("nas", []string{"office"}) {
			if _, _, err := tp.ParseCommand(f); err != nil {
				t.Errorf("prefix %q: agent filter %q does not parse back: %v", p, f, err)
			}
		}
		if h, ok := tp.ParseAck(tp.Ack("pi3")); !ok || h != "pi3" {
			t.Errorf("prefix %q: ParseAck(Ack(pi3)) = %q, %v", p, h, ok)
		}
		if h, ok := tp.ParseState(tp.State("pi3")); !ok || h != "pi3" {
			t.Errorf("prefix %q: ParseState(State(pi3)) = %q, %v", p, h, ok)
		}
	}
	if got := (Topics{}).Presence("nas"); got != "resourceavailable/nas/presence" {
		t.Errorf("Presence = %q", got)
	}
	if got := (Topics{}).CommandAvailable("nas", "shutdown"); got != "commandavailable/nas/shutdown" {
		t.Errorf("CommandAvailable = %q", got)
	}
}

func TestValidName(t *testing.T) {
	for _, ok := range []string{"nas", "pi-3", "hot_tub.local", "büro"} {
		if err := ValidName(ok); err != nil {
			t.Errorf("ValidName(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a/b", "a+b", "a#", "a b", "group", "$SYS", "x\x00", string(make([]byte, 65))} {
		if ValidName(bad) == nil {
			t.Errorf("ValidName(%q) accepted", bad)
		}
	}
}

func TestParsePresence(t *testing.T) {
	for in, want := range map[string]bool{"True": true, "False": false, " true\n": true, "OFF": false, "1": true, "online": true} {
		got, ok := ParsePresence([]byte(in))
		if !ok || got != want {
			t.Errorf("ParsePresence(%q) = %v, %v; want %v", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "maybe", "tr ue", "\xff", "TrueTrueTrueTrueTrue"} {
		if _, ok := ParsePresence([]byte(in)); ok {
			t.Errorf("ParsePresence(%q) accepted", in)
		}
	}
}
