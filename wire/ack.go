package wire

import (
	"encoding/json"
	"fmt"
	"time"
)

// AckState is where a host is with a command.
type AckState string

// The states a host reports, in the order they usually happen.
const (
	Received  AckState = "received"  // journaled, about to be decided
	Scheduled AckState = "scheduled" // counting down to the deadline
	Cancelled AckState = "cancelled" // a pending countdown was called off
	Executing AckState = "executing" // the power command is starting now
	Done      AckState = "done"      // the power command returned success (a dry run, or the host is still going down)
	Stopping  AckState = "stopping"  // the operating system stopped the agent after it started the power command: the host is going down
	Failed    AckState = "failed"    // the power command failed
	Rejected  AckState = "rejected"  // bad payload, bad signature, not for us
	Expired   AckState = "expired"   // arrived too late to obey
	Duplicate AckState = "duplicate" // already seen; nothing done
)

var ackStates = map[AckState]bool{
	Received: true, Scheduled: true, Cancelled: true, Executing: true, Done: true,
	Failed: true, Rejected: true, Expired: true, Duplicate: true, Stopping: true,
}

// Final reports whether s ends the host's handling of a command from the
// point of view of someone waiting for acks.
func (s AckState) Final() bool {
	switch s {
	case Received:
		return false
	}
	return ackStates[s]
}

// Ack is a host's answer to a command, published on Topics.Ack(host).
type Ack struct {
	V      int       `json:"v"`
	ID     string    `json:"id"`
	Host   string    `json:"host"`
	Action Action    `json:"action,omitempty"`
	State  AckState  `json:"state"`
	Detail string    `json:"detail,omitempty"`
	At     time.Time `json:"at"`
	// Deadline is when a scheduled command will run.
	Deadline time.Time `json:"deadline,omitzero"`
}

// Encode returns the JSON payload of a.
func (a Ack) Encode() ([]byte, error) {
	a.V = Version
	return json.Marshal(a)
}

// DecodeAck parses an ack payload.
func DecodeAck(payload []byte) (Ack, error) {
	if len(payload) > MaxPayload {
		return Ack{}, fmt.Errorf("decode ack: %w", ErrTooLarge)
	}
	var a Ack
	if err := json.Unmarshal(payload, &a); err != nil {
		return Ack{}, fmt.Errorf("decode ack: %s", jsonProblem(err))
	}
	if !ackStates[a.State] {
		return Ack{}, fmt.Errorf("decode ack: unknown state %q", a.State)
	}
	if err := ValidName(a.Host); err != nil {
		return Ack{}, fmt.Errorf("decode ack: host: %w", err)
	}
	return a, nil
}
