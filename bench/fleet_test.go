// Package bench holds the load measurements that need whole programs:
// real agent processes, each with its own connection, on one Mosquitto.
// Nothing here runs in a plain go test; run with -bench (docs/benchmarks.md).
package bench

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stormguard/stormguard/internal/mqtttest"
	"github.com/stormguard/stormguard/keys"
	"github.com/stormguard/stormguard/mqtt"
	"github.com/stormguard/stormguard/wire"
)

func buildAgent(b testing.TB) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "agent")
	out, err := exec.Command("go", "build", "-o", bin, "../cmd/agent").CombinedOutput()
	if err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

type agentProc struct {
	cmd        *exec.Cmd
	subscribed time.Duration // exec to subscribed
}

// startAgents starts n agent processes in dry-run and waits until each is subscribed.
func startAgents(b testing.TB, bin, addr string, n int, extra ...string) []*agentProc {
	b.Helper()
	return startAgentsWith(b, bin, addr, n, func(string) []string { return extra })
}

// startAgentsWith is startAgents with flags per agent, by host name; they
// come after the dry-run defaults and so override them.
func startAgentsWith(b testing.TB, bin, addr string, n int, extra func(name string) []string) []*agentProc {
	b.Helper()
	host, port, _ := strings.Cut(addr, ":")
	procs := make([]*agentProc, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		dir := filepath.Join(stateRoot(b), fmt.Sprint(i))
		name := fmt.Sprintf("h%03d", i)
		args := []string{"-host", host, "-port", port, "-name", name,
			"-state-dir", dir, "-dry-run", "-warn-cmd", "", "-shutdown-cmd", "true", "-reboot-cmd", "true"}
		cmd := exec.Command(bin, append(args, extra(name)...)...)
		if v := os.Getenv("BENCH_AGENT_ENV"); v != "" {
			// For comparisons, e.g. BENCH_AGENT_ENV=GOMAXPROCS=2.
			cmd.Env = append(os.Environ(), v)
		}
		stderr, _ := cmd.StderrPipe()
		start := time.Now()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		p := &agentProc{cmd: cmd}
		procs[i] = p
		wg.Add(1)
		go func() {
			sc := bufio.NewScanner(stderr)
			signalled := false
			for sc.Scan() {
				if !signalled && strings.Contains(sc.Text(), "msg=subscribed") {
					p.subscribed = time.Since(start)
					signalled = true
					wg.Done()
				}
			}
			if !signalled {
				errs <- fmt.Errorf("agent %d exited before subscribing", i)
				wg.Done()
			}
		}()
	}
	b.Cleanup(func() {
		for _, p := range procs {
			p.cmd.Process.Signal(os.Interrupt)
		}
		for _, p := range procs {
			p.cmd.Wait()
		}
	})
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	return procs
}

func percentile(ds []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

// BenchmarkFanout publishes one SHUTDOWN to N agent processes and measures
// until every agent's first ack arrived; each iteration is one command to
// the whole fleet. BENCH_AGENTS (default 10,100,200,500) picks the sizes.
// The signed variant signs every command and runs the agents with
// -require-signed.
func BenchmarkFanout(b *testing.B) {
	bin := buildAgent(b)
	for _, n := range fleetSizes(b, 10, 100, 200, 500) {
		for _, signed := range []bool{false, true} {
			name := fmt.Sprintf("agents=%d/plain", n)
			if signed {
				name = fmt.Sprintf("agents=%d/signed", n)
			}
			b.Run(name, func(b *testing.B) { benchFanout(b, bin, n, signed) })
		}
	}
}

// brokerTuning lifts the connection limit and keeps Mosquitto's periodic
// database save out of the measurement.
// set_tcp_nodelay as in deploy/mosquitto: without it back-to-back PUBACKs wait ~40 ms.
const brokerTuning = "max_connections -1\nautosave_interval 3600\nset_tcp_nodelay true\n"

func benchFanout(b *testing.B, bin string, n int, signed bool) {
	broker := mqtttest.Mosquitto(b, mqtttest.MosquittoOptions{Extra: brokerTuning})
	var key ed25519.PrivateKey
	var extra []string
	if signed {
		dir := b.TempDir()
		privPath, pubPath, err := keys.Generate(dir)
		if err != nil {
			b.Fatal(err)
		}
		if key, err = keys.LoadPrivate(privPath); err != nil {
			b.Fatal(err)
		}
		extra = []string{"-public-key", pubPath, "-require-signed"}
	}
	procs := startAgents(b, bin, broker.Addr, n, extra...)
	acks := make(chan wire.Ack, 10*n)
	c := benchClient(b, broker.URL, fmt.Sprintf("bench-%d", n), func(c *mqtt.Client) {
		c.Handle(wire.Topics{}.AckFilter(), 1, func(m mqtt.Message) {
			if a, err := wire.DecodeAck(m.Payload); err == nil {
				acks <- a
			}
		})
	})
	var lat []time.Duration
	cpu0 := fleetCPU(b, procs)
	rounds := 0
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		rounds++
		id := fmt.Sprintf("bench-%d-%d", time.Now().UnixNano(), i)
		cmd := wire.Command{ID: id, Action: wire.Shutdown, IssuedAt: time.Now()}
		if key != nil {
			cmd.Sign(key)
		}
		start := publishCommand(b, c, cmd)
		seen := map[string]bool{}
		timeout := time.After(30 * time.Second)
		for len(seen) < n {
			select {
			case a := <-acks:
				if a.ID == id && !seen[a.Host] {
					seen[a.Host] = true
					lat = append(lat, time.Since(start))
				}
			case <-timeout:
				b.Fatalf("only %d of %d agents acked within 30s", len(seen), n)
			}
		}
		// Let the done acks and presence flips of this round drain.
		drain := time.After(500 * time.Millisecond)
	drainLoop:
		for {
			select {
			case <-acks:
			case <-drain:
				break drainLoop
			}
		}
	}
	b.StopTimer()
	reportLatency(b, lat)
	// CPU time each agent spent per command, the done acks and presence
	// flips after it included: n agents need n times this on shared cores.
	cpu := fleetCPU(b, procs) - cpu0
	b.ReportMetric(float64(cpu)/float64(time.Millisecond)/float64(rounds*n), "agent-cpu-ms/cmd")
}

// fleetCPU is the CPU time the agent processes have used so far.
func fleetCPU(b testing.TB, procs []*agentProc) time.Duration {
	var sum time.Duration
	for _, p := range procs {
		sum += cpuTime(b, p.cmd.Process.Pid)
	}
	return sum
}

// benchClient connects the benchmark's own client, with setup's handlers.
// A persistent session and a long keepalive: with hundreds of processes on
// two cores, a missed ping must not cost a round.
func benchClient(b *testing.B, url, id string, setup func(*mqtt.Client)) *mqtt.Client {
	c, err := mqtt.New(mqtt.Config{Brokers: []string{url}, ClientID: id, KeepAlive: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	setup(c)
	c.Start()
	b.Cleanup(func() { c.Close(100 * time.Millisecond) })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.WaitReady(ctx); err != nil {
		b.Fatal(err)
	}
	return c
}

// publishCommand publishes one command on SHUTDOWN and returns when the
// broker has it, with the time the publish began.
func publishCommand(b *testing.B, c *mqtt.Client, cmd wire.Command) time.Time {
	payload, err := cmd.Encode()
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	if err := c.Publish(ctx, "SHUTDOWN", 1, false, payload); err != nil {
		b.Fatalf("publish SHUTDOWN: %v", err)
	}
	return start
}

// fleetSizes is BENCH_AGENTS (a comma-separated list of fleet sizes), or
// the given defaults.
func fleetSizes(b *testing.B, defaults ...int) []int {
	s := os.Getenv("BENCH_AGENTS")
	if s == "" {
		return defaults
	}
	var sizes []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(f)
		if err != nil {
			b.Fatalf("BENCH_AGENTS: %v", err)
		}
		sizes = append(sizes, n)
	}
	return sizes
}

// reportLatency reports the median, 99th percentile and maximum of lat.
func reportLatency(b *testing.B, lat []time.Duration) {
	b.ReportMetric(float64(percentile(lat, 0.50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(percentile(lat, 0.99).Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(percentile(lat, 1).Microseconds())/1000, "max-ms")
}

func vmRSS(b testing.TB, pid int) float64 { return vmField(b, pid, "VmRSS:") }

// stateRoot is where the agents keep their journals: BENCH_STATE_DIR, or a
// temporary directory on the test's disk.
func stateRoot(b testing.TB) string {
	if d := os.Getenv("BENCH_STATE_DIR"); d != "" {
		dir, err := os.MkdirTemp(d, "bench")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { os.RemoveAll(dir) })
		return dir
	}
	return b.TempDir()
}
