package faults

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var (
	buildMu  sync.Mutex
	buildDir string
	built    = map[string]string{}
)

// binary builds ../cmd/<name> once per test run and returns its path. The
// agent is built with -tags faultinject, so STORMGUARD_FAULT can stop it at
// a chosen step; without that variable it behaves as the real one.
func binary(t *testing.T, name string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := built[name]; ok {
		return p
	}
	if buildDir == "" {
		d, err := os.MkdirTemp("", "faultbins")
		if err != nil {
			t.Fatal(err)
		}
		buildDir = d
	}
	p := filepath.Join(buildDir, name)
	args := []string{"build", "-o", p}
	if name == "agent" {
		args = append(args, "-tags", "faultinject")
	}
	out, err := exec.Command("go", append(args, "../cmd/"+name)...).CombinedOutput()
	if err != nil {
		t.Fatal(fmt.Errorf("go build %s: %v\n%s", name, err, out))
	}
	built[name] = p
	return p
}
