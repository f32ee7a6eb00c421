//go:build faultinject

package agent

import "os"

// With -tags faultinject, STORMGUARD_FAULT=<step> makes the process exit
// at once (no clean disconnect, no deferred work: like SIGKILL) when it
// reaches that step: received, journaled, started or ran.
func init() {
	at := os.Getenv("STORMGUARD_FAULT")
	if at == "" {
		return
	}
	fault = func(step string) {
		if step == at {
			os.Exit(86)
		}
	}
}
