package wire

import "strings"

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

// AvailabilityFilters match every data and command availability topic.
func (t Topics) AvailabilityFilters() []string {
	return []string{t.DataAvailable("+", "+"), t.CommandAvailable("+", "+")}
}

// ParsePresenceTopic returns the resource of a presence topic. A topic with
// another shape, another depth or a name ValidName refuses is not one.
func (t Topics) ParsePresenceTopic(topic string) (string, bool) {
	parts, ok := t.levels(topic)
	if !ok || len(parts) != 3 || ValidName(parts[1]) != nil {
		return "", false
	}
	if t.Presence(parts[1]) != topic {
		return "", false
	}
	return parts[1], true
}

// ParseAvailability splits a data or command availability topic.
func (t Topics) ParseAvailability(topic string) (Availability, bool) {
	parts, ok := t.levels(topic)
	if !ok || len(parts) != 3 || ValidName(parts[1]) != nil || ValidName(parts[2]) != nil {
		return Availability{}, false
	}
	for _, k := range []AvailabilityKind{DataKind, CommandKind} {
		a := Availability{Kind: k, Resource: parts[1], Name: parts[2]}
		if t.Availability(a) == topic {
			return a, true
		}
	}
	return Availability{}, false
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
