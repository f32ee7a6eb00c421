package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stormguard/stormguard/internal/mqtttest"
	"github.com/stormguard/stormguard/mqtt"
	"github.com/stormguard/stormguard/wire"
)

// runMainEnv makes the test binary act as the servicemanager program, so
// the benchmark can measure it as a process of its own.
const runMainEnv = "SERVICEMANAGER_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	mqtttest.RunNode() // a node of TestClusterFailover's cluster, when asked
	if os.Getenv(runMainEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

const (
	benchResources = 10_000
	benchTopics    = 10 // 5 data and 5 command topics each
)

// BenchmarkDepartureEndToEnd: a servicemanager process knows 10,000
// resources of 10 topics each, registered through an embedded nats-server;
// one presence False is published, and the clock stops when a subscriber
// has received all 10 of the manager's False messages for it. It reports
// the percentiles of that time and the manager process's resident memory.
func BenchmarkDepartureEndToEnd(b *testing.B) { benchDeparture(b, 0) }

// BenchmarkDepartureEndToEndHeartbeats is BenchmarkDepartureEndToEnd with
// every one of the 10,000 resources beating every 10 s (the default), as
// retained QoS 0 messages spread evenly: 1,000 beats a second through the
// broker and the manager while the departures are timed. It also reports
// how many beats a second were sent.
func BenchmarkDepartureEndToEndHeartbeats(b *testing.B) { benchDeparture(b, 10*time.Second) }

func benchDeparture(b *testing.B, every time.Duration) {
	broker := mqtttest.NATS(b)
	tp := wire.Topics{}

	// falses delivers each resource whose 10th False arrived.
	falses := make(chan string, 64)
	counts := map[string]int{}
	countCh := make(chan string, 4096)
	go func() {
		for res := range countCh {
			counts[res]++
			if counts[res] == benchTopics {
				delete(counts, res)
				falses <- res
			}
		}
	}()
	defer close(countCh)
	watcher := newClient(b, broker.URL, nil, nil)
	ready := make(chan struct{}, 1)
	onFalse := func(m mqtt.Message) {
		if string(m.Payload) != wire.PresenceFalse {
			return
		}
		if a, ok := tp.ParseAvailability(m.Topic); ok {
			countCh <- a.Resource
		}
	}
	for _, f := range tp.AvailabilityFilters() {
		watcher.Handle(f, 0, onFalse)
	}
	watcher.Handle(tp.Presence("servicemanager"), 0, func(m mqtt.Message) {
		if string(m.Payload) == wire.PresenceTrue && !m.Retained {
			select {
			case ready <- struct{}{}:
			default:
			}
		}
	})
	startClient(b, watcher)

	cmd := exec.Command(os.Args[0], managerArgs(b, broker, "sm-bench")...)
	cmd.Env = append(os.Environ(), runMainEnv+"=1")
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	select {
	case <-ready:
	case <-time.After(within):
		b.Fatal("manager did not announce itself")
	}

	res := newClient(b, broker.URL, nil, nil)
	startClient(b, res)
	ctx := context.Background()
	send := func(topic, payload string) {
		if err := res.Publish(ctx, topic, 0, false, []byte(payload)); err != nil {
			b.Fatal(err)
		}
	}
	register := func(i int) {
		name := fmt.Sprintf("host%05d", i)
		send(tp.Presence(name), "True")
		for j := range benchTopics / 2 {
			send(tp.DataAvailable(name, fmt.Sprintf("sensor%d", j)), "True")
			send(tp.CommandAvailable(name, fmt.Sprintf("cmd%d", j)), "True")
		}
	}
	for i := range benchResources {
		register(i)
	}
	// The last registration is in once its departure comes back complete;
	// it then registers again for the timed part.
	send(tp.Presence(fmt.Sprintf("host%05d", benchResources-1)), "False")
	waitFalses(b, falses, fmt.Sprintf("host%05d", benchResources-1))
	register(benchResources - 1)
	stopBeats := func() float64 { return 0 }
	if every > 0 {
		var round <-chan struct{}
		stopBeats, round = beatAll(b, broker.URL, tp, every)
		defer stopBeats()
		<-round // every resource has beaten once
	}
	rss := vmRSS(b, cmd.Process.Pid)
	cpu0, wall0 := cpuTime(b, cmd.Process.Pid), time.Now()

	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		n := i % benchResources
		name := fmt.Sprintf("host%05d", n)
		start := time.Now()
		send(tp.Presence(name), "False")
		waitFalses(b, falses, name)
		lat = append(lat, time.Since(start))
		b.StopTimer()
		register(n)
		b.StartTimer()
	}
	b.ReportMetric(100*(cpuTime(b, cmd.Process.Pid)-cpu0).Seconds()/time.Since(wall0).Seconds(), "manager-CPU-%")
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1e3, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1e3, "p99-ms")
	b.ReportMetric(rss, "manager-RSS-MiB")
	if every > 0 {
		b.ReportMetric(stopBeats(), "beats/s")
		b.ReportMetric(max(rss, vmRSS(b, cmd.Process.Pid)), "manager-RSS-MiB")
	}
}

// beatAll publishes a retained QoS 0 beat for each of the resources every
// interval, spread evenly over it, from one client, until the returned
// func is called; that returns the beats per second actually sent (once;
// later calls return 0). round is closed when every resource has beaten.
func beatAll(b *testing.B, url string, tp wire.Topics, every time.Duration) (stop func() float64, round <-chan struct{}) {
	c := newClient(b, url, nil, nil)
	startClient(b, c)
	done := make(chan struct{})
	stopped := make(chan float64)
	first := make(chan struct{})
	go func() {
		start := time.Now()
		sent := 0
		announced := false
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				stopped <- float64(sent) / time.Since(start).Seconds()
				return
			case <-tick.C:
			}
			due := int(time.Since(start) * benchResources / every)
			if sent >= benchResources && !announced {
				close(first)
				announced = true
			}
			for ; sent < due; sent++ {
				p, _ := wire.Beat{At: time.Now(), Interval: every, Seq: uint64(sent / benchResources)}.Encode()
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				c.Publish(ctx, tp.Heartbeat(fmt.Sprintf("host%05d", sent%benchResources)), 0, true, p)
				cancel()
			}
		}
	}()
	var once sync.Once
	return func() float64 {
		rate := 0.0
		once.Do(func() { close(done); rate = <-stopped })
		return rate
	}, first
}

func waitFalses(b *testing.B, falses <-chan string, name string) {
	b.Helper()
	deadline := time.After(within)
	for {
		select {
		case got := <-falses:
			if got == name {
				return
			}
			b.Fatalf("all Falses for %s arrived while waiting for %s", got, name)
		case <-deadline:
			b.Fatalf("the 10 Falses for %s did not all arrive within %v", name, within)
		}
	}
}

// cpuTime reads a process's user and system CPU time from /proc (in clock
// ticks of 10 ms, as Linux reports them to user space).
func cpuTime(b *testing.B, pid int) time.Duration {
	b.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Skipf("no /proc: %v", err)
	}
	// The fields after the command name, which is in parentheses.
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
	utime, _ := strconv.Atoi(f[11])
	stime, _ := strconv.Atoi(f[12])
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// vmRSS reads a process's resident memory in MiB from /proc.
func vmRSS(b *testing.B, pid int) float64 {
	b.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Skipf("no /proc: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			if err != nil {
				b.Fatal(err)
			}
			return float64(kb) / 1024
		}
	}
	b.Fatal("no VmRSS line")
	return 0
}
