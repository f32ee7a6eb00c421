package mqtttest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/nats-io/nats-server/v2/server"
)

// ClusterConfig is one node's nats-server configuration in a cluster with
// MQTT and JetStream: the same text docs/cluster.md recommends, with the
// ports and directories filled in. ack_wait is short for tests (nats-server
// redelivers an unacked QoS 1 message only after it).
const ClusterConfig = `server_name: %s
listen: 127.0.0.1:-1
jetstream {
  store_dir: %q
}
cluster {
  name: stormguard
  listen: 127.0.0.1:%d
  routes: [%s]
}
mqtt {
  listen: 127.0.0.1:%d
  ack_wait: "1s"
  stream_replicas: 3
}
`

// NodeEnv names the variable that makes a test binary run one cluster
// node (see RunNode).
const NodeEnv = "STORMGUARD_TEST_NATS_NODE"

// RunNode runs a nats-server node from the configuration file named by
// NodeEnv and never returns, when that variable is set; otherwise it
// returns at once. A test package that uses NATSCluster calls it first
// thing in TestMain: each node is the test binary run again, so that Kill
// can SIGKILL it as a real node dies (an in-process Shutdown closes
// connections one by one and may still send their wills).
func RunNode() {
	conf := os.Getenv(NodeEnv)
	if conf == "" {
		return
	}
	opts, err := server.ProcessConfigFile(conf)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	opts.NoSigs = true
	opts.NoLog = os.Getenv(NodeEnv+"_LOG") == ""
	s, err := server.NewServer(opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if !opts.NoLog {
		s.ConfigureLogger()
	}
	s.Start()
	select {}
}

// NATSCluster starts n nats-server nodes, each a process of its own (see
// RunNode), (n of at least 3 for JetStream's quorum) routed into one cluster, each with its own MQTT
// listener on loopback, and returns one Broker per node. It returns once
// every node takes a QoS 1 publish over MQTT, which needs the JetStream
// cluster to have elected its leaders. Kill stops a node abruptly (no
// clean MQTT disconnects, no wills: it is SIGKILLed), Start brings it
// back on the same ports with the same store.
//
// The ports are picked before the nodes start (each node is told every
// other node's route port), so there is a small race with other programs
// binding them; a test that loses it fails at start with "address in use".
func NATSCluster(t testing.TB, n int) []*Broker {
	t.Helper()
	if n < 3 {
		t.Fatalf("NATSCluster: %d nodes; JetStream needs 3 for a quorum", n)
	}
	type node struct {
		name, conf string
		mqttPort   int
		srv        *server.Server
	}
	dir := t.TempDir()
	routePorts := make([]int, n)
	nodes := make([]*node, n)
	for i := range n {
		routePorts[i] = FreePort(t)
	}
	for i := range n {
		nd := &node{name: fmt.Sprintf("n%d", i+1), mqttPort: FreePort(t)}
		var routes []string
		for j, p := range routePorts {
			if j != i {
				routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", p))
			}
		}
		nd.conf = filepath.Join(dir, nd.name+".conf")
		text := fmt.Sprintf(ClusterConfig, nd.name, filepath.Join(dir, nd.name), routePorts[i], strings.Join(routes, ", "), nd.mqttPort)
		if err := os.WriteFile(nd.conf, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		nodes[i] = nd
	}
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	brokers := make([]*Broker, n)
	var starts [][2]func(testing.TB)
	for i, nd := range nodes {
		b := &Broker{Name: "nats-" + nd.name, Addr: fmt.Sprintf("127.0.0.1:%d", nd.mqttPort)}
		b.URL = "tcp://" + b.Addr
		var cmd *exec.Cmd
		out := new(lockedBuffer)
		spawn := func(t testing.TB) {
			t.Helper()
			cmd = exec.Command(bin, "-test.run=^$")
			cmd.Env = append(os.Environ(), NodeEnv+"="+nd.conf)
			cmd.Stdout, cmd.Stderr = out, out
			if err := cmd.Start(); err != nil {
				t.Fatalf("start cluster node %s: %v", nd.name, err)
			}
		}
		listening := func(t testing.TB) {
			t.Helper()
			if err := waitListening(b.Addr, 20*time.Second); err != nil {
				t.Fatalf("cluster node %s: %v\n%s", nd.name, err, out.String())
			}
		}
		b.start = func(t testing.TB) { t.Helper(); spawn(t); listening(t) }
		starts = append(starts, [2]func(testing.TB){spawn, listening})
		b.kill = func(testing.TB) {
			if cmd != nil {
				cmd.Process.Kill() // SIGKILL: no clean disconnects, no wills
				cmd.Wait()
				cmd = nil
			}
		}
		b.restart = func(t testing.TB) { b.kill(t); b.start(t) }
		brokers[i] = b
		t.Cleanup(func() {
			if t.Failed() && out.String() != "" {
				t.Logf("cluster node %s (log with %s_LOG=1):\n%s", nd.name, NodeEnv, out.String())
			}
		})
	}
	t.Cleanup(func() {
		for _, b := range brokers {
			b.kill(t)
		}
	})
	// All at once: JetStream places the MQTT streams on three nodes only
	// if three are there when the first client comes.
	up := func() error {
		for _, s := range starts {
			s[0](t)
		}
		for _, s := range starts {
			s[1](t)
		}
		for _, b := range brokers {
			if err := WaitMQTT(b.URL, 60*time.Second); err != nil {
				return fmt.Errorf("cluster node %s: %w", b.Name, err)
			}
		}
		return nil
	}
	if err := up(); err != nil {
		// On a loaded machine the first election can stall for good; a
		// cluster started afresh, from empty stores, comes up.
		t.Logf("%v; starting the cluster again from empty stores", err)
		for i, b := range brokers {
			b.kill(t)
			os.RemoveAll(filepath.Join(dir, nodes[i].name))
		}
		if err := up(); err != nil {
			t.Fatal(err)
		}
	}
	return brokers
}

// WaitMQTT waits until the broker at url takes a QoS 1 publish and hands
// it back to a subscriber, or within passes. On a cluster this needs
// JetStream to have elected its leaders.
func WaitMQTT(url string, within time.Duration) error {
	deadline := time.Now().Add(within)
	var last error
	for time.Now().Before(deadline) {
		if last = roundTrip(url); last == nil {
			return nil
		}
	}
	return fmt.Errorf("no MQTT round trip through %s within %v: %w", url, within, last)
}

func roundTrip(url string) error {
	topic := fmt.Sprintf("mqtttest/ready/%d", retainedSeq.Add(1))
	got := make(chan struct{}, 1)
	opts := paho.NewClientOptions().AddBroker(url).SetClientID(strings.ReplaceAll(topic, "/", "-")).
		SetCleanSession(true).SetConnectTimeout(2 * time.Second).SetAutoReconnect(false)
	c := paho.NewClient(opts)
	if err := wait(c.Connect()); err != nil {
		time.Sleep(100 * time.Millisecond) // a refused connect returns at once: pace the retries
		return fmt.Errorf("connect: %w", err)
	}
	defer c.Disconnect(50)
	if err := wait(c.Subscribe(topic, 1, func(paho.Client, paho.Message) { got <- struct{}{} })); err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	if err := wait(c.Publish(topic, 1, false, "ready")); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	select {
	case <-got:
		return nil
	case <-time.After(2 * time.Second):
		return fmt.Errorf("own message not delivered back")
	}
}

// lockedBuffer collects a child process's output for a failure message.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
