package fleettest

import (
	"testing"
	"time"

	"github.com/stormguard/stormguard/agent"
	"github.com/stormguard/stormguard/mqtt"
)

// AgentOptions configure DryRunAgentOn.
type AgentOptions struct {
	// Brokers are tried in order on every (re)connect.
	Brokers []string
	Host    string
	Groups  []string
	// Heartbeat is the agent's heartbeat interval; zero is off.
	Heartbeat time.Duration
}

// DryRunAgentOn is DryRunAgent with several broker URLs and a heartbeat:
// a dry-run agent that journals and acks every command and runs nothing.
// It returns once the agent is subscribed and stops it when the test ends.
func DryRunAgentOn(t testing.TB, o AgentOptions) {
	t.Helper()
	RunAgent(t, agent.Config{
		Policy:      agent.Policy{Host: o.Host, Groups: o.Groups, MaxAge: 5 * time.Minute},
		MQTT:        mqtt.Config{Brokers: o.Brokers},
		QoS:         1,
		StateDir:    t.TempDir(),
		ShutdownCmd: []string{"shutdown", "-h", "now"},
		RebootCmd:   []string{"shutdown", "-r", "now"},
		WarnBefore:  time.Second,
		RunTimeout:  5 * time.Second,
		DryRun:      true,
		Heartbeat:   o.Heartbeat,
	})
}
