package presence

// State is what the registry knows of a resource's presence.
type State uint8

// The states. A resource is Unknown until its presence topic is seen.
const (
	Unknown State = iota
	Present
	Absent
)

// String returns "unknown", "present" or "absent".
func (s State) String() string {
	switch s {
	case Present:
		return "present"
	case Absent:
		return "absent"
	}
	return "unknown"
}
