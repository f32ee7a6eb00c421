package wire

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// AvailabilityKind says what an availability topic announces: a data
// stream or a command a resource offers.
type AvailabilityKind uint8

// The availability kinds.
const (
	DataKind    AvailabilityKind = iota + 1 // dataavailable/<res>/<name>
	CommandKind                             // commandavailable/<res>/<name>
)

// String returns "data" or "command".
func (k AvailabilityKind) String() string {
	switch k {
	case DataKind:
		return "data"
	case CommandKind:
		return "command"
	}
	return "unknown"
}

// Availability names one data or command topic of a resource.
type Availability struct {
	Kind     AvailabilityKind
	Resource string
	Name     string
}

// Availability is the topic of a: DataAvailable or CommandAvailable.
func (t Topics) Availability(a Availability) string {
	if a.Kind == CommandKind {
		return t.CommandAvailable(a.Resource, a.Name)
	}
	return t.DataAvailable(a.Resource, a.Name)
}

// PresenceFilter matches every resource's presence topic.
func (t Topics) PresenceFilter() string { return t.Presence("+") }

// AvailabilityFilters match every data and command availability topic, at
// any depth below the resource, as the original Service Manager subscribes.
func (t Topics) AvailabilityFilters() []string {
	return []string{t.DataAvailable("+", "#"), t.CommandAvailable("+", "#")}
}

// ParsePresenceTopic returns the resource of a presence topic. The resource
// may be any topic level the broker accepts (see ValidLevel): spaces, "$",
// "group", any length, even empty. A topic with another shape or depth is
// not one.
func (t Topics) ParsePresenceTopic(topic string) (string, bool) {
	parts, ok := t.levels(topic)
	if !ok || len(parts) != 3 || parts[0] != "resourceavailable" || parts[2] != "presence" || ValidLevel(parts[1]) != nil {
		return "", false
	}
	return parts[1], true
}

// ParseAvailability splits a data or command availability topic:
// "dataavailable/<res>/<name>", where name is everything after the
// resource and may itself have levels ("a/b"). Each level may be anything
// ValidLevel accepts.
func (t Topics) ParseAvailability(topic string) (Availability, bool) {
	parts, ok := t.levels(topic)
	if !ok || len(parts) < 3 {
		return Availability{}, false
	}
	var k AvailabilityKind
	switch parts[0] {
	case "dataavailable":
		k = DataKind
	case "commandavailable":
		k = CommandKind
	default:
		return Availability{}, false
	}
	for _, p := range parts[1:] {
		if ValidLevel(p) != nil {
			return Availability{}, false
		}
	}
	return Availability{Kind: k, Resource: parts[1], Name: strings.Join(parts[2:], "/")}, true
}

// ValidLevel reports why s cannot be one level of a topic name a client
// publishes to: it is not UTF-8, or it holds "/", a wildcard ("+", "#") or
// the NUL character, which MQTT forbids in every string. Everything else is
// a level: empty, white space, "$" after the first level, any length within
// the 65,535 bytes of a whole topic. A broker may refuse more (nats-server
// refuses spaces); that is the broker's contract, not ours.
func ValidLevel(s string) error {
	switch {
	case !utf8.ValidString(s):
		return fmt.Errorf("topic level %s is not UTF-8", short(s))
	case strings.ContainsAny(s, "/+#\x00"):
		return fmt.Errorf("topic level %s has \"/\", a wildcard or NUL", short(s))
	case len(s) > maxTopic:
		return fmt.Errorf("topic level of %d bytes is longer than a topic may be", len(s))
	}
	return nil
}

// maxTopic is the longest topic name MQTT 3.1.1 can carry.
const maxTopic = 65535

// short quotes s for an error, cut to a readable length.
func short(s string) string {
	if len(s) > 40 {
		return fmt.Sprintf("%.40q... (%d bytes)", s, len(s))
	}
	return fmt.Sprintf("%q", s)
}

// levels splits topic after the prefix; ok is false when the prefix is missing.
func (t Topics) levels(topic string) ([]string, bool) {
	rest := topic
	if t.Prefix != "" {
		var ok bool
		if rest, ok = strings.CutPrefix(topic, t.Prefix+"/"); !ok {
			return nil, false
		}
	}
	return strings.Split(rest, "/"), true
}
