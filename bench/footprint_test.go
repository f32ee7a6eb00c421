package bench

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stormguard/stormguard/internal/mqtttest"
)

const python = "/usr/bin/python3"

// startPython runs the original design's Python subscriber, with power as
// its power command ("true" when empty), and returns it once subscribed,
// with the time that took.
func startPython(b testing.TB, addr string, i int, power ...string) (*exec.Cmd, time.Duration) {
	b.Helper()
	if err := exec.Command(python, "-c", "import paho.mqtt.client").Run(); err != nil {
		b.Skip("python3-paho-mqtt not installed (apt-get install python3-paho-mqtt)")
	}
	host, port, _ := strings.Cut(addr, ":")
	dir := b.TempDir()
	if len(power) == 0 {
		power = []string{"true"}
	}
	args := append([]string{"testdata/original.py", host, port, fmt.Sprint(i), filepath.Join(dir, "saved")}, power...)
	cmd := exec.Command(python, args...)
	stderr, _ := cmd.StderrPipe()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		if strings.Contains(sc.Text(), "subscribed") {
			go func() {
				for sc.Scan() {
				}
			}()
			return cmd, time.Since(start)
		}
	}
	b.Fatal("python subscriber exited before subscribing")
	return nil, 0
}

// cpuTime is the process's user+system CPU time so far.
func cpuTime(b testing.TB, pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the command name, which is in parentheses.
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ is 100 on Linux
}

// BenchmarkFootprint compares, in the same run, one idle agent with the
// original design's Python subscriber: start to subscribed, resident memory
// and CPU time over an idle minute (scaled to an hour), and binary size.
func BenchmarkFootprint(b *testing.B) {
	broker := mqtttest.Mosquitto(b, mqtttest.MosquittoOptions{})
	bin := buildAgent(b)
	idle := time.Minute
	if s := os.Getenv("BENCH_IDLE"); s != "" {
		idle, _ = time.ParseDuration(s)
	}
	var aStart, pStart []time.Duration
	var aRSS, pRSS []float64
	var aCPU, pCPU []time.Duration
	i := 0
	for b.Loop() {
		i++
		a := startAgents(b, bin, broker.Addr, 1)[0]
		p, ps := startPython(b, broker.Addr, i)
		aStart, pStart = append(aStart, a.subscribed), append(pStart, ps)
		b.StopTimer()
		a0, p0 := cpuTime(b, a.cmd.Process.Pid), cpuTime(b, p.Process.Pid)
		time.Sleep(idle) // idle on purpose: this measures what idling costs
		aCPU = append(aCPU, cpuTime(b, a.cmd.Process.Pid)-a0)
		pCPU = append(pCPU, cpuTime(b, p.Process.Pid)-p0)
		aRSS, pRSS = append(aRSS, vmRSS(b, a.cmd.Process.Pid)), append(pRSS, vmRSS(b, p.Process.Pid))
		a.cmd.Process.Signal(os.Interrupt)
		a.cmd.Wait()
		p.Process.Kill()
		p.Wait()
		b.StartTimer()
	}
	perHour := func(d time.Duration) float64 {
		return float64(d) / float64(idle) * float64(time.Hour) / float64(time.Millisecond)
	}
	b.ReportMetric(float64(percentile(aStart, 0.5).Microseconds())/1000, "agent-start-ms")
	b.ReportMetric(float64(percentile(pStart, 0.5).Microseconds())/1000, "python-start-ms")
	b.ReportMetric(median(aRSS), "agent-rss-MB")
	b.ReportMetric(median(pRSS), "python-rss-MB")
	b.ReportMetric(perHour(percentile(aCPU, 0.5)), "agent-cpu-ms/h")
	b.ReportMetric(perHour(percentile(pCPU, 0.5)), "python-cpu-ms/h")
	if fi, err := os.Stat(bin); err == nil {
		b.ReportMetric(float64(fi.Size())/(1<<20), "agent-binary-MB")
	}
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}
