package wire

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Action is what a command asks for.
type Action string

// The actions; the topic of each is the upper-case word.
const (
	Shutdown Action = "shutdown"
	Reboot   Action = "reboot"
	Cancel   Action = "cancel"
)

// Valid reports whether a is one of the known actions.
func (a Action) Valid() bool { return a == Shutdown || a == Reboot || a == Cancel }

func (a Action) word() string { return strings.ToUpper(string(a)) }

// groupWord separates the group form SHUTDOWN/group/<name> from the host form.
const groupWord = "group"

// Presence payloads, in the Service Manager's spelling.
const (
	PresenceTrue  = "True"
	PresenceFalse = "False"
)

// ErrTopic marks a topic that is not part of the contract.
var ErrTopic = errors.New("not a command topic")

// TargetKind says who a command topic addresses.
type TargetKind int

// The target kinds.
const (
	AllHosts TargetKind = iota
	OneHost
	OneGroup
)

// Target is who a command topic addresses.
type Target struct {
	Kind TargetKind
	Name string // host or group name; empty for AllHosts
}

// Topics builds and parses every topic name. The zero value gives the
// default names; Prefix, when set, is put in front of every topic with a "/".
type Topics struct {
	Prefix string
}

func (t Topics) join(parts ...string) string {
	s := strings.Join(parts, "/")
	if t.Prefix != "" {
		return t.Prefix + "/" + s
	}
	return s
}

// Command is the fleet-wide topic of a: "SHUTDOWN", "REBOOT" or "CANCEL".
func (t Topics) Command(a Action) string { return t.join(a.word()) }

// HostCommand is the topic that addresses one host: "SHUTDOWN/<host>".
func (t Topics) HostCommand(a Action, host string) string { return t.join(a.word(), host) }

// GroupCommand is the topic that addresses a named group: "SHUTDOWN/group/<group>".
func (t Topics) GroupCommand(a Action, group string) string {
	return t.join(a.word(), groupWord, group)
}

// AgentFilters lists the subscriptions an agent needs: every action's fleet,
// host and group topics.
func (t Topics) AgentFilters(host string, groups []string) []string {
	var out []string
	for _, a := range []Action{Shutdown, Reboot, Cancel} {
		out = append(out, t.Command(a), t.HostCommand(a, host))
		for _, g := range groups {
			out = append(out, t.GroupCommand(a, g))
		}
	}
	return out
}

// ParseCommand splits a command topic into its action and target.
func (t Topics) ParseCommand(topic string) (Action, Target, error) {
	rest := topic
	if t.Prefix != "" {
		var ok bool
		rest, ok = strings.CutPrefix(topic, t.Prefix+"/")
		if !ok {
			return "", Target{}, fmt.Errorf("%w: %q", ErrTopic, topic)
		}
	}
	parts := strings.Split(rest, "/")
	var a Action
	switch parts[0] {
	case "SHUTDOWN":
		a = Shutdown
	case "REBOOT":
		a = Reboot
	case "CANCEL":
		a = Cancel
	default:
		return "", Target{}, fmt.Errorf("%w: %q", ErrTopic, topic)
	}
	switch {
	case len(parts) == 1:
		return a, Target{Kind: AllHosts}, nil
	case len(parts) == 2 && ValidName(parts[1]) == nil:
		return a, Target{Kind: OneHost, Name: parts[1]}, nil
	case len(parts) == 3 && parts[1] == groupWord && ValidName(parts[2]) == nil:
		return a, Target{Kind: OneGroup, Name: parts[2]}, nil
	}
	return "", Target{}, fmt.Errorf("%w: %q", ErrTopic, topic)
}

// Ack is the topic on which host acknowledges commands.
func (t Topics) Ack(host string) string { return t.join("stormguard", "ack", host) }

// AckFilter matches every host's ack topic.
func (t Topics) AckFilter() string { return t.join("stormguard", "ack", "+") }

// ParseAck returns the host of an ack topic.
func (t Topics) ParseAck(topic string) (string, bool) {
	return t.lastOf(topic, "stormguard", "ack")
}

// State is the retained state topic of a host or of the stormguard daemon.
func (t Topics) State(name string) string { return t.join("stormguard", "state", name) }

// StateFilter matches every state topic.
func (t Topics) StateFilter() string { return t.join("stormguard", "state", "+") }

// ParseState returns the name of a state topic.
func (t Topics) ParseState(topic string) (string, bool) {
	return t.lastOf(topic, "stormguard", "state")
}

// Event is the topic of name's events (not retained).
func (t Topics) Event(name string) string { return t.join("stormguard", "event", name) }

func (t Topics) lastOf(topic string, first, second string) (string, bool) {
	rest, ok := strings.CutPrefix(topic, t.join(first, second)+"/")
	if !ok || ValidName(rest) != nil {
		return "", false
	}
	return rest, true
}

// Presence is a resource's presence topic: "resourceavailable/<res>/presence".
func (t Topics) Presence(res string) string { return t.join("resourceavailable", res, "presence") }

// DataAvailable is "dataavailable/<res>/<name>".
func (t Topics) DataAvailable(res, name string) string {
	return t.join("dataavailable", res, name)
}

// CommandAvailable is "commandavailable/<res>/<name>".
func (t Topics) CommandAvailable(res, name string) string {
	return t.join("commandavailable", res, name)
}

// ValidName reports why name cannot be a host, group or resource name in a
// topic: it must be 1 to 64 characters of UTF-8 with no MQTT wildcard, no
// "/", no white space or control character, and not the word "group".
func ValidName(name string) error {
	switch {
	case name == "":
		return errors.New("name is empty")
	case len(name) > 64:
		return fmt.Errorf("name %.20q... is longer than 64 bytes", name)
	case !utf8.ValidString(name):
		return fmt.Errorf("name %q is not UTF-8", name)
	case name == groupWord:
		return fmt.Errorf("name %q is reserved", name)
	}
	for _, r := range name {
		if r == '/' || r == '+' || r == '#' || r == '$' || r <= ' ' || r == 0x7f {
			return fmt.Errorf("name %q has %q, which topics cannot carry", name, r)
		}
	}
	return nil
}
