package bench

import (
	"bufio"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stormguard/stormguard/internal/mqtttest"
	"github.com/stormguard/stormguard/mqtt"
	"github.com/stormguard/stormguard/wire"
)

// BenchmarkToPower compares, in the same run, what a user waits for: one
// SHUTDOWN published until the power command has started on each of N
// hosts, for N agents, for N of the original design's Python subscribers
// (bench/testdata/original.py), and for the same subscriber with an fsync
// of its saved message before the power command (the agent's durability).
// The power command is marker, which reports its start over loopback TCP;
// every fleet runs it the same way, so process start costs the same on
// each side. On its way to the power command the agent journals the
// message and its decision (one fsync), acknowledges it, queues its acks
// without waiting for the broker, and journals that it starts (one
// fsync). cpu-ms/cmd is the CPU time the subscriber processes themselves
// used per command (the power command's own time excluded on every side).
// BENCH_AGENTS (default 10,100,200) picks the sizes; 1 is the uncontended
// single host. With -count, the three fleets run interleaved.
func BenchmarkToPower(b *testing.B) {
	bin := buildAgent(b)
	marker := filepath.Join(b.TempDir(), "marker")
	if out, err := exec.Command("go", "build", "-o", marker, "./internal/marker").CombinedOutput(); err != nil {
		b.Fatalf("go build marker: %v\n%s", err, out)
	}
	for _, n := range fleetSizes(b, 10, 100, 200) {
		b.Run(fmt.Sprintf("hosts=%d/agent", n), func(b *testing.B) {
			benchToPower(b, n, func(addr, markAddr string) []int {
				procs := startAgentsWith(b, bin, addr, n, func(name string) []string {
					return []string{"-dry-run=false", "-shutdown-cmd", marker + " " + markAddr + " " + name}
				})
				var pids []int
				for _, p := range procs {
					pids = append(pids, p.cmd.Process.Pid)
				}
				return pids
			})
		})
		for _, fsync := range []string{"", "1"} {
			name := "python"
			if fsync != "" {
				name = "python-fsync"
			}
			b.Run(fmt.Sprintf("hosts=%d/%s", n, name), func(b *testing.B) {
				b.Setenv("ORIGINAL_FSYNC", fsync)
				benchToPower(b, n, func(addr, markAddr string) []int {
					var pids []int
					for i := range n {
						cmd, _ := startPython(b, addr, i, marker, markAddr, fmt.Sprintf("h%03d", i))
						pids = append(pids, cmd.Process.Pid)
					}
					return pids
				})
			})
		}
	}
}

func benchToPower(b *testing.B, n int, startFleet func(brokerAddr, markAddr string) []int) {
	broker := mqtttest.Mosquitto(b, mqtttest.MosquittoOptions{Extra: brokerTuning})
	marks := listenMarks(b)
	pids := startFleet(broker.Addr, marks.addr)
	cpuBefore := pidsCPU(b, pids)

	c := benchClient(b, broker.URL, fmt.Sprintf("bench-power-%d", n), func(*mqtt.Client) {})

	var lat []time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		cmd := wire.Command{ID: fmt.Sprintf("power-%d-%d", time.Now().UnixNano(), i), Action: wire.Shutdown, IssuedAt: time.Now()}
		start := publishCommand(b, c, cmd)
		seen := map[string]bool{}
		timeout := time.After(30 * time.Second)
		for len(seen) < n {
			select {
			case m := <-marks.ch:
				if !seen[m.name] {
					seen[m.name] = true
					lat = append(lat, m.at.Sub(start))
				}
			case <-timeout:
				b.Fatalf("the power command started on only %d of %d hosts within 30s", len(seen), n)
			}
		}
		// Let each host finish its round (the agent's outcome record, acks
		// and presence) before the next command.
		b.StopTimer()
		time.Sleep(time.Second) // a pause between rounds, not a wait for an event
		b.StartTimer()
	}
	b.StopTimer()
	reportLatency(b, lat)
	b.ReportMetric(float64((pidsCPU(b, pids)-cpuBefore).Microseconds())/1000/float64(b.N), "cpu-ms/cmd")
}

// pidsCPU is the CPU time the processes themselves have used (their
// children, the power commands, not counted).
func pidsCPU(b testing.TB, pids []int) time.Duration {
	var sum time.Duration
	for _, pid := range pids {
		sum += cpuTime(b, pid)
	}
	return sum
}

type mark struct {
	name string
	at   time.Time
}

type marks struct {
	addr string
	ch   chan mark
}

// listenMarks takes the markers' reports on a loopback port, timed as they
// arrive.
func listenMarks(b testing.TB) marks {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	m := marks{addr: ln.Addr().String(), ch: make(chan mark, 4096)}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			at := time.Now()
			go func() {
				defer conn.Close()
				conn.SetReadDeadline(time.Now().Add(10 * time.Second))
				if line, err := bufio.NewReader(conn).ReadString('\n'); err == nil {
					m.ch <- mark{name: strings.TrimSpace(line), at: at}
				}
			}()
		}
	}()
	return m
}
