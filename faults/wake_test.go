package faults

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stormguard/stormguard/internal/fleettest"
	"github.com/stormguard/stormguard/internal/mqtttest"
	"github.com/stormguard/stormguard/wire"
)

// wakeListenEnv makes TestWakeListener a packet listener: the test below
// runs it inside its network namespace.
const wakeListenEnv = "STORMGUARD_WAKE_LISTEN"

// TestWakeListener is not a test of its own: run with wakeListenEnv set
// (inside a test namespace) it prints the MAC of every Wake-on-LAN packet
// that reaches UDP port 9 of the namespace, one a line, until stdin closes.
func TestWakeListener(t *testing.T) {
	if os.Getenv(wakeListenEnv) != "1" {
		t.Skip("a helper: runs only inside TestWakeOnLAN's namespace")
	}
	c, err := net.ListenPacket("udp4", ":9")
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	go func() { bufio.NewReader(os.Stdin).ReadString('\n'); os.Exit(0) }()
	fmt.Println("ready")
	buf := make([]byte, 1500)
	for {
		n, _, err := c.ReadFrom(buf)
		if err != nil {
			os.Exit(1)
		}
		if mac, ok := wire.ParseMagicPacket(buf[:n]); ok {
			fmt.Println(mac)
		} else {
			fmt.Println("junk", n)
		}
	}
}

// TestWakeOnLAN runs shutdownall -wake against hosts that announced their
// Wake-on-LAN address and catches the packets in a network namespace of
// the test's own (never on a real network): the broker host's stage
// first, each host again until its presence is back and not after, a host
// that is up left alone, and one that never comes back reported.
func TestWakeOnLAN(t *testing.T) {
	th := newTestHost(t)
	// The namespace's side of the /30: its broadcast address is .3.
	bcast := th.hostIP[:strings.LastIndexByte(th.hostIP, '.')] + ".3"

	listen := exec.Command("ip", "netns", "exec", th.ns, os.Args[0], "-test.run=^TestWakeListener$", "-test.v")
	listen.Env = append(os.Environ(), wakeListenEnv+"=1")
	stdin, _ := listen.StdinPipe()
	stdout, _ := listen.StdoutPipe()
	if err := listen.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); listen.Process.Kill(); listen.Wait() })
	packets := make(chan string, 1000)
	sc := bufio.NewScanner(stdout)
	for sc.Scan() && !strings.HasPrefix(sc.Text(), "ready") {
		if strings.HasPrefix(sc.Text(), "error") {
			t.Fatal(sc.Text())
		}
	}
	go func() {
		for sc.Scan() {
			packets <- sc.Text()
		}
		close(packets)
	}()

	b := mqtttest.NATS(t)
	host, port, _ := strings.Cut(b.Addr, ":")
	c := fleettest.Client(t, b.URL, nil)
	tp := wire.Topics{}
	macs := map[string]string{"hottub": "02:00:5e:00:00:09", "nas": "02:00:5e:00:00:05", "desk": "02:00:5e:00:00:01", "pi": "02:00:5e:00:00:55"}
	hostOf := map[string]string{}
	publish := func(topic, payload string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.Publish(ctx, topic, 1, true, []byte(payload)); err != nil {
			t.Fatal(err)
		}
	}
	for h, stage := range map[string]int{"hottub": 9, "nas": 5, "desk": 1, "pi": 5} {
		hostOf[macs[h]] = h
		st, _ := wire.HostState{Host: h, At: time.Now().UTC(), Stage: stage, Wake: &wire.Wake{MAC: macs[h], Broadcast: bcast}}.Encode()
		publish(tp.State(h), string(st))
		publish(tp.CommandAvailable(h, "shutdown"), "True")
		publish(tp.Presence(h), map[bool]string{true: "True", false: "False"}[h == "pi"])
	}
	t.Cleanup(func() {
		for h := range macs {
			publish(tp.State(h), "")
		}
	})
	mqtttest.WaitRetained(t, b.URL, nil, tp.Presence("pi"), "True")

	type result struct {
		out string
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := exec.Command(binary(t, "shutdownall"), "-host", host, "-port", port, "-wake",
			"-wake-every", "200ms", "-wake-stage-wait", "20s", "-wake-limit", "2s").CombinedOutput()
		done <- result{string(out), err}
	}()

	var seen []string
	next := func() string {
		t.Helper()
		select {
		case p, ok := <-packets:
			if !ok {
				t.Fatalf("listener ended; seen %q", seen)
			}
			h := hostOf[p]
			if h == "" {
				t.Fatalf("packet %q wakes no host of the test", p)
			}
			seen = append(seen, h)
			return h
		case <-time.After(15 * time.Second):
			t.Fatalf("no packet within 15s; seen %q", seen)
		}
		return ""
	}
	count := func(h string) int {
		n := 0
		for _, s := range seen {
			if s == h {
				n++
			}
		}
		return n
	}
	// hottub (stage 9) first, again and again until it is back.
	for count("hottub") < 2 {
		if h := next(); h != "hottub" {
			t.Fatalf("packet for %s before hottub was back; seen %q", h, seen)
		}
	}
	publish(tp.Presence("hottub"), "True")
	// Then stage 5: nas, not pi (up all along).
	for h := next(); h != "nas"; h = next() {
		if h != "hottub" {
			t.Fatalf("packet for %s; seen %q", h, seen)
		}
	}
	afterHottub := len(seen)
	for count("nas") < 2 {
		next()
	}
	publish(tp.Presence("nas"), "True")
	for count("desk") < 2 {
		next()
	}
	r := <-done
	if r.err == nil || !strings.Contains(r.out, "did not come back: desk") {
		t.Errorf("shutdownall -wake: %v\n%s\nwant it to name desk", r.err, r.out)
	}
	if !strings.Contains(r.out, "already up, left alone: pi") {
		t.Errorf("shutdownall -wake does not say pi was left alone:\n%s", r.out)
	}
	// What was still in flight has arrived by now: the listener and the
	// sender share the kernel.
	for len(packets) > 0 {
		next()
	}
	for _, h := range seen[afterHottub:] {
		if h == "hottub" || h == "pi" {
			t.Errorf("packet for %s after hottub was back; seen %q", h, seen)
		}
	}
	if count("pi") > 0 {
		t.Errorf("pi, up all along, got %d packets", count("pi"))
	}
	firstDesk := strings.Index(strings.Join(seen, " "), "desk")
	if lastNas := strings.LastIndex(strings.Join(seen, " "), "nas"); firstDesk < lastNas {
		// nas is woken before desk, and desk only once nas is back.
		t.Errorf("desk woken before nas was back; seen %q", seen)
	}
	t.Logf("packets: %q", seen)
}
