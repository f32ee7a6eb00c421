package wire

import (
	"encoding/json"
	"time"
)

// ManagerState is the servicemanager's retained report on
// Topics.State(<its name>): how many resources it tracks and whether a
// limit has refused anything, so a cap that is reached shows on the broker
// and not only in a log.
type ManagerState struct {
	V         int       `json:"v"`
	Name      string    `json:"name"`
	Version   string    `json:"version,omitempty"`
	At        time.Time `json:"at"`
	Resources int       `json:"resources"`
	// MaxResources and MaxTopics are the caps in force.
	MaxResources int `json:"max_resources"`
	MaxTopics    int `json:"max_topics"`
	// LimitReached is set once a cap has refused anything since start;
	// the counts say what.
	LimitReached     bool   `json:"limit_reached"`
	ResourcesRefused uint64 `json:"resources_refused,omitempty"`
	TopicsRefused    uint64 `json:"topics_refused,omitempty"`
	FullResources    int    `json:"full_resources,omitempty"`
	// HeartbeatMisses is how many beats a resource may miss before the
	// manager marks it gone; GoneByHeartbeat counts the times it has.
	HeartbeatMisses int    `json:"heartbeat_misses"`
	GoneByHeartbeat uint64 `json:"gone_by_heartbeat,omitempty"`
}

// Encode returns the JSON payload of s.
func (s ManagerState) Encode() ([]byte, error) {
	s.V = Version
	return json.Marshal(s)
}

// DecodeManagerState parses a servicemanager's state.
func DecodeManagerState(b []byte) (ManagerState, error) {
	var s ManagerState
	err := json.Unmarshal(b, &s)
	return s, err
}
