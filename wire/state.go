package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// HostState is an agent's retained report on Topics.State(host): what it
// last received and what it has pending. shutdownall -status reads it.
type HostState struct {
	V       int       `json:"v"`
	Host    string    `json:"host"`
	Groups  []string  `json:"groups,omitempty"`
	Version string    `json:"version,omitempty"`
	At      time.Time `json:"at"`
	// Online is false in the last state an agent publishes before it runs
	// the power command; Reason then says why it is going away.
	Online  bool      `json:"online"`
	Reason  string    `json:"reason,omitempty"`
	Pending []Pending `json:"pending,omitempty"`
	Last    *Ack      `json:"last,omitempty"`
	DryRun  bool      `json:"dry_run,omitempty"`
	// Clock reports the last disagreement between this host's clock and a
	// command's sender, when there was one.
	Clock string `json:"clock,omitempty"`
	// Journal reports a journal the disk would not take (full or
	// read-only): what the host decided is then held in memory only.
	Journal string `json:"journal,omitempty"`
	// Stage is the host's place in a staged power-down (1 goes first,
	// StageLast last); 0 in a state from an agent that predates stages,
	// read as StageDefault. Broker says the host runs the broker.
	Stage  int  `json:"stage,omitempty"`
	Broker bool `json:"broker,omitempty"`
	// Waiting says what a countdown whose deadline has passed still waits
	// for: the hosts of earlier stages that have not gone yet.
	Waiting string `json:"waiting,omitempty"`
	// Wake is where a Wake-on-LAN packet reaches this host, when it opted in.
	Wake *Wake `json:"wake,omitempty"`
}

// The stages of a staged power-down.
const (
	StageFirst   = 1
	StageDefault = 5
	StageLast    = 9
)

// StageOf is s's stage, StageDefault when it states none.
func (s HostState) StageOf() int {
	if s.Stage < StageFirst || s.Stage > StageLast {
		return StageDefault
	}
	return s.Stage
}

// Wake is a host's Wake-on-LAN address: its network card's MAC and the
// broadcast address of the network it is on.
type Wake struct {
	MAC       string `json:"mac"`
	Broadcast string `json:"broadcast"`
}

// Pending is a countdown a host holds.
type Pending struct {
	ID       string    `json:"id"`
	Action   Action    `json:"action"`
	Reason   string    `json:"reason,omitempty"`
	Deadline time.Time `json:"deadline"`
}

// Encode returns the JSON payload of s.
func (s HostState) Encode() ([]byte, error) {
	s.V = Version
	return json.Marshal(s)
}

// DecodeHostState parses a host state payload.
func DecodeHostState(payload []byte) (HostState, error) {
	if len(payload) > MaxPayload {
		return HostState{}, fmt.Errorf("decode host state: %w", ErrTooLarge)
	}
	var s HostState
	if err := json.Unmarshal(payload, &s); err != nil {
		return HostState{}, fmt.Errorf("decode host state: %s", jsonProblem(err))
	}
	return s, nil
}

// ParsePresence reads a presence, data or command availability payload.
// It accepts the Service Manager's True/False and the common spellings
// true/false, 1/0, online/offline, ON/OFF (any case, surrounding space
// ignored); anything else is not a presence value.
func ParsePresence(payload []byte) (present bool, ok bool) {
	if len(payload) > 16 {
		return false, false
	}
	switch string(bytesLowerTrim(payload)) {
	case "true", "1", "online", "on", "yes":
		return true, true
	case "false", "0", "offline", "off", "no":
		return false, true
	}
	return false, false
}

func bytesLowerTrim(b []byte) []byte { return bytes.ToLower(bytes.TrimSpace(b)) }
