package deploy

import (
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// shippedPrograms reads the programs scripts/build-release.sh builds for
// Linux, the fullest list, from its programs_for.
func shippedPrograms(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../scripts/build-release.sh")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*\*\) echo ([a-z ]+) ;;`).FindSubmatch(b)
	if m == nil {
		t.Fatal("scripts/build-release.sh: no programs_for default list")
	}
	return strings.Fields(string(m[1]))
}

// The embedded broker is for tests and the demo: a shipped binary that
// linked it would be twice the size on a Raspberry Pi.
func TestNoShippedBinaryLinksNATSServer(t *testing.T) {
	progs := shippedPrograms(t)
	if !slices.Contains(progs, "stormguard") || !slices.Contains(progs, "agent") {
		t.Fatalf("build-release.sh ships %v; expected the four programs", progs)
	}
	for _, p := range progs {
		out, err := exec.Command("go", "list", "-deps", "../cmd/"+p).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps ./cmd/%s: %v\n%s", p, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			if strings.HasPrefix(dep, "github.com/nats-io/nats-server") || strings.HasSuffix(dep, "/internal/demo") || strings.HasSuffix(dep, "/internal/mqtttest") {
				t.Errorf("./cmd/%s links %s", p, dep)
			}
		}
	}
}
