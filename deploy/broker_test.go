package deploy

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/stormguard/stormguard/certs"
	"github.com/stormguard/stormguard/internal/mqtttest"
	"github.com/stormguard/stormguard/mqtt"
)

// The identities of a fleet, named as docs/install.md and the ACL say: the
// three privileged programs, and agents named after their hosts.
var identities = []string{"stormguard", "shutdownall", "servicemanager", "nas", "pi3"}

// makePKI runs `stormguard certs -dir DIR -broker 127.0.0.1,localhost
// stormguard shutdownall servicemanager nas pi3`, as docs/install.md does,
// and returns DIR: DIR/broker and one directory per identity.
func makePKI(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	args := append([]string{"certs", "-dir", dir, "-broker", "127.0.0.1,localhost"}, identities...)
	out, err := exec.Command(build(t, "stormguard", "dev"), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("stormguard certs: %v\n%s", err, out)
	}
	return dir
}

// repoBroker is Mosquitto running the repository's configuration and ACL.
type repoBroker struct {
	TLSURL      string // the certificate listener
	PasswordURL string // the password listener, when turned on
}

// startRepoBroker renders deploy/mosquitto/conf.d/stormguard.conf for a
// test: its listeners on loopback ports, its /etc/mosquitto/stormguard/
// files in a temporary directory (the broker certificate from pki), and
// acl_file pointing at the repository's ACL, unchanged. With passwords,
// the commented password alternative is turned on with passwd. Every
// rewrite must find its line, so a changed configuration fails here rather
// than being tested half.
func startRepoBroker(t *testing.T, pki string, passwd string) repoBroker {
	t.Helper()
	bin := mqtttest.SkipWithoutMosquitto(t)
	conf, err := os.ReadFile("mosquitto/conf.d/stormguard.conf")
	if err != nil {
		t.Fatal(err)
	}
	acl, err := filepath.Abs("mosquitto/stormguard.acl")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{certs.CAFile, certs.CertFile, certs.KeyFile} {
		b, err := os.ReadFile(filepath.Join(pki, "broker", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if passwd != "" {
		b, err := os.ReadFile(passwd)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "passwd"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "conf.d"), 0o755); err != nil {
		t.Fatal(err)
	}

	var log bytes.Buffer
	var mu sync.Mutex
	for attempt := 0; ; attempt++ {
		tlsPort, pwPort := mqtttest.FreePort(t), mqtttest.FreePort(t)
		text := string(conf)
		replace := func(old, new string) {
			t.Helper()
			if !strings.Contains(text, old) {
				t.Fatalf("deploy/mosquitto/conf.d/stormguard.conf has no %q any more: update the test with the configuration", old)
			}
			text = strings.ReplaceAll(text, old, new)
		}
		replace("\nlistener 8883\n", fmt.Sprintf("\nlistener %d 127.0.0.1\n", tlsPort))
		if passwd != "" {
			replace("\n#password_file /etc/mosquitto/stormguard/passwd\n", "\npassword_file /etc/mosquitto/stormguard/passwd\n")
			replace("\n#listener 1883\n", fmt.Sprintf("\nlistener %d 127.0.0.1\n", pwPort))
		}
		replace("\nacl_file /etc/mosquitto/stormguard/acl\n", "\nacl_file "+acl+"\n")
		replace("/etc/mosquitto/stormguard/", dir+"/")
		if err := os.WriteFile(filepath.Join(dir, "conf.d", "stormguard.conf"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		// What Debian's /etc/mosquitto/mosquitto.conf sets around the include.
		main := fmt.Sprintf("persistence_location %s/\ninclude_dir %s/conf.d\n", dir, dir)
		if os.Geteuid() == 0 {
			main += "user root\n" // as root it would drop to user mosquitto
		}
		mainConf := filepath.Join(dir, "mosquitto.conf")
		if err := os.WriteFile(mainConf, []byte(main), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "-c", mainConf)
		mu.Lock()
		log.Reset()
		mu.Unlock()
		cmd.Stdout = lockedWriter{&mu, &log}
		cmd.Stderr = cmd.Stdout
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		addrs := []string{fmt.Sprintf("127.0.0.1:%d", tlsPort)}
		b := repoBroker{TLSURL: "ssl://" + addrs[0]}
		if passwd != "" {
			addrs = append(addrs, fmt.Sprintf("127.0.0.1:%d", pwPort))
			b.PasswordURL = "tcp://" + addrs[1]
		}
		err := waitListening(addrs, exited, 10*time.Second)
		mu.Lock()
		out := log.String()
		mu.Unlock()
		if err != nil {
			cmd.Process.Kill()
			<-exited
			if attempt < 3 && strings.Contains(out, "Address already in use") {
				continue
			}
			t.Fatalf("mosquitto with the repository's configuration: %v\n%s", err, out)
		}
		t.Cleanup(func() {
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				<-exited
			}
			if t.Failed() {
				mu.Lock()
				t.Logf("mosquitto log:\n%s", log.String())
				mu.Unlock()
			}
		})
		return b
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// waitListening waits until every address accepts connections, the broker
// exits, or the deadline passes.
func waitListening(addrs []string, exited <-chan struct{}, within time.Duration) error {
	deadline := time.Now().Add(within)
	for _, a := range addrs {
		for {
			select {
			case <-exited:
				return fmt.Errorf("exited at start")
			default:
			}
			c, err := net.DialTimeout("tcp", a, 200*time.Millisecond)
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s not listening after %v", a, within)
			}
			time.Sleep(20 * time.Millisecond) // polling a port; no event to wait on
		}
	}
	return nil
}

var clientSeq atomic.Int64

// who is how a test client proves its identity: a certificate directory,
// or a user name and password on the password listener.
type who struct {
	certDir  string
	user, pw string
}

// connect opens a clean-session client to url, or returns the broker's
// refusal. Messages on filter, in the order the broker sent them, go to
// the returned channel.
func connect(t *testing.T, url string, id who, filter string) (<-chan string, paho.Client, error) {
	t.Helper()
	o := paho.NewClientOptions().AddBroker(url).
		SetClientID(fmt.Sprintf("deploy-test-%d", clientSeq.Add(1))).
		SetCleanSession(true).SetAutoReconnect(false).SetConnectRetry(false).
		SetOrderMatters(true).SetConnectTimeout(10 * time.Second)
	if id.certDir != "" {
		cfg, err := mqtt.LoadTLS(id.certDir)
		if err != nil {
			t.Fatal(err)
		}
		o.SetTLSConfig(cfg)
	}
	if id.user != "" {
		o.SetUsername(id.user).SetPassword(id.pw)
	}
	c := paho.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(15*time.Second) || tok.Error() != nil {
		return nil, nil, fmt.Errorf("connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	got := make(chan string, 100)
	if filter != "" {
		tok := c.Subscribe(filter, 1, func(_ paho.Client, m paho.Message) { got <- string(m.Payload()) })
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("subscribe %s: %v", filter, tok.Error())
		}
		if code := tok.(*paho.SubscribeToken).Result()[filter]; code == 0x80 {
			t.Fatalf("subscribe %s: refused by the ACL", filter)
		}
	}
	return got, c, nil
}

func mustConnect(t *testing.T, url string, id who, filter string) (<-chan string, paho.Client) {
	t.Helper()
	got, c, err := connect(t, url, id, filter)
	if err != nil {
		t.Fatalf("%s %s: %v", url, id.name(), err)
	}
	return got, c
}

func (w who) name() string {
	if w.user != "" {
		return w.user
	}
	return filepath.Base(w.certDir)
}

func publish(t *testing.T, c paho.Client, topic, payload string) {
	t.Helper()
	tok := c.Publish(topic, 1, false, payload)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

// before returns what arrives on got ahead of marker.
func before(t *testing.T, got <-chan string, marker string) []string {
	t.Helper()
	var seen []string
	deadline := time.After(10 * time.Second)
	for {
		select {
		case p := <-got:
			if p == marker {
				return seen
			}
			seen = append(seen, p)
		case <-deadline:
			t.Fatalf("marker %q never arrived (saw %q)", marker, seen)
		}
	}
}

// isCommand reports whether topic is SHUTDOWN, REBOOT, CANCEL or below them.
func isCommand(topic string) bool {
	first, _, _ := strings.Cut(topic, "/")
	return first == "SHUTDOWN" || first == "REBOOT" || first == "CANCEL"
}

// owner is the host a status topic belongs to: stormguard/ack/<h>,
// resourceavailable/<h>/presence, commandavailable/<h>/<x>, ...
func owner(topic string) string {
	p := strings.Split(topic, "/")
	if p[0] == "stormguard" {
		return p[2]
	}
	return p[1]
}

// checkPublish publishes payload on topic as from and reports whether an
// observer allowed to read topic received it. A denied QoS 1 publish is
// acknowledged and dropped by Mosquitto, so the proof is a marker published
// afterwards by an identity allowed to write there: the broker handles
// messages in order, so once the marker arrives the first one would have.
// Agent pi3 observes commands (proving agents may read them); shutdownall
// observes the status topics, whose marker comes from their owner.
func checkPublish(t *testing.T, url, fromURL, pki string, from who, topic string) bool {
	t.Helper()
	observer, marker := "shutdownall", owner
	if isCommand(topic) {
		observer, marker = "pi3", func(string) string { return "shutdownall" }
	}
	got, _ := mustConnect(t, url, who{certDir: filepath.Join(pki, observer)}, topic)
	_, pub, err := connect(t, fromURL, from, "")
	if err != nil {
		t.Fatalf("%s: %v", from.name(), err)
	}
	payload := fmt.Sprintf("from %s #%d", from.name(), clientSeq.Add(1))
	publish(t, pub, topic, payload)
	_, mpub := mustConnect(t, url, who{certDir: filepath.Join(pki, marker(topic))}, "")
	mark := fmt.Sprintf("marker #%d", clientSeq.Add(1))
	publish(t, mpub, topic, mark)
	seen := before(t, got, mark)
	for _, s := range seen {
		if s == payload {
			return true
		}
	}
	if len(seen) > 0 {
		t.Fatalf("observer of %s got unexpected %q", topic, seen)
	}
	return false
}

// TestBrokerACL starts the repository's Mosquitto configuration with
// certificates made as `stormguard certs` makes them and checks what each
// identity may publish, as docs/install.md promises: an agent connects with
// its certificate directory and speaks for itself only; it cannot publish
// SHUTDOWN, REBOOT or CANCEL (its attempt reaches nobody); shutdownall and
// stormguard can; the service manager can mark a resource's topics and
// presence but cannot command the fleet; everyone beats for itself only.
func TestBrokerACL(t *testing.T) {
	pki := makePKI(t)
	b := startRepoBroker(t, pki, "")
	cases := []struct {
		from, topic string
		allowed     bool
	}{
		{"nas", "SHUTDOWN", false},
		{"nas", "REBOOT", false},
		{"nas", "CANCEL", false},
		{"nas", "SHUTDOWN/pi3", false},
		{"nas", "REBOOT/group/office", false},
		{"nas", "resourceavailable/pi3/presence", false},
		{"nas", "stormguard/ack/pi3", false},
		{"nas", "stormguard/state/pi3", false},
		{"nas", "commandavailable/pi3/shutdown", false},
		{"nas", "resourceavailable/nas/presence", true},
		{"nas", "stormguard/ack/nas", true},
		{"nas", "stormguard/state/nas", true},
		{"nas", "commandavailable/nas/shutdown", true},
		{"servicemanager", "SHUTDOWN", false},
		// The presence False a will lost on a dead cluster node would have sent.
		{"servicemanager", "resourceavailable/pi3/presence", true},
		{"servicemanager", "commandavailable/pi3/shutdown", true},
		{"nas", "stormguard/heartbeat/nas", true},
		{"nas", "stormguard/heartbeat/pi3", false},
		{"shutdownall", "SHUTDOWN", true},
		{"shutdownall", "REBOOT/pi3", true},
		{"shutdownall", "CANCEL/group/office", true},
		{"stormguard", "SHUTDOWN", true},
		{"stormguard", "SHUTDOWN/group/office", true},
		{"stormguard", "CANCEL", true},
	}
	for _, c := range cases {
		verb := "cannot"
		if c.allowed {
			verb = "can"
		}
		t.Run(fmt.Sprintf("%s %s publish %s", c.from, verb, c.topic), func(t *testing.T) {
			got := checkPublish(t, b.TLSURL, b.TLSURL, pki, who{certDir: filepath.Join(pki, c.from)}, c.topic)
			if got != c.allowed {
				t.Errorf("%s publishing %s: delivered=%v, want %v", c.from, c.topic, got, c.allowed)
			}
		})
	}

	t.Run("agent cannot read another host's commands", func(t *testing.T) {
		got := make(chan string, 10)
		_, spy := mustConnect(t, b.TLSURL, who{certDir: filepath.Join(pki, "nas")}, "")
		// Mosquitto may refuse the subscription or grant it and deliver nothing.
		tok := spy.Subscribe("SHUTDOWN/pi3", 1, func(_ paho.Client, m paho.Message) { got <- string(m.Payload()) })
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("subscribe: %v", tok.Error())
		}
		_, admin := mustConnect(t, b.TLSURL, who{certDir: filepath.Join(pki, "shutdownall")}, "")
		publish(t, admin, "SHUTDOWN/pi3", "for pi3 only")
		// pi3's own subscription proves the message went out.
		own, _ := mustConnect(t, b.TLSURL, who{certDir: filepath.Join(pki, "pi3")}, "SHUTDOWN/pi3")
		publish(t, admin, "SHUTDOWN/pi3", "marker")
		if seen := before(t, own, "marker"); len(seen) != 0 {
			t.Fatalf("pi3 saw %q", seen)
		}
		select {
		case m := <-got:
			t.Fatalf("nas read pi3's command %q", m)
		default:
		}
	})

	t.Run("agent reads the other hosts' states, presence and acks", func(t *testing.T) {
		for _, topic := range []string{"stormguard/state/pi3", "resourceavailable/pi3/presence", "stormguard/ack/pi3"} {
			got, _ := mustConnect(t, b.TLSURL, who{certDir: filepath.Join(pki, "nas")}, topic)
			_, pi3 := mustConnect(t, b.TLSURL, who{certDir: filepath.Join(pki, "pi3")}, "")
			publish(t, pi3, topic, "from pi3")
			select {
			case p := <-got:
				if p != "from pi3" {
					t.Errorf("nas read %q on %s", p, topic)
				}
			case <-time.After(10 * time.Second):
				t.Errorf("nas cannot read %s: the stages need it", topic)
			}
		}
	})

	// The notifications read stormguard's own events on its watch
	// connection (docs/integrations.md).
	t.Run("stormguard reads its own events", func(t *testing.T) {
		sg := who{certDir: filepath.Join(pki, "stormguard")}
		got, _ := mustConnect(t, b.TLSURL, sg, "stormguard/event/stormguard")
		_, pub := mustConnect(t, b.TLSURL, sg, "")
		publish(t, pub, "stormguard/event/stormguard", `{"kind":"shutdown"}`)
		before(t, got, `{"kind":"shutdown"}`)
	})

	t.Run("no certificate, no connection", func(t *testing.T) {
		caPEM, err := os.ReadFile(filepath.Join(pki, "nas", certs.CAFile))
		if err != nil {
			t.Fatal(err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(caPEM)
		o := paho.NewClientOptions().AddBroker(b.TLSURL).SetClientID("no-cert").
			SetTLSConfig(&tls.Config{RootCAs: pool}).SetConnectRetry(false).SetAutoReconnect(false)
		c := paho.NewClient(o)
		tok := c.Connect()
		if !tok.WaitTimeout(15*time.Second) || tok.Error() == nil {
			c.Disconnect(0)
			t.Fatal("a client without a certificate was let in")
		}
	})
}

// TestBrokerPasswords turns on the configuration's password alternative:
// an agent that logs in as its host name gets the same ACL as its
// certificate would (its own presence yes, SHUTDOWN no), a wrong password
// is refused, and certificate clients still get in without one.
func TestBrokerPasswords(t *testing.T) {
	mqtttest.SkipWithoutMosquitto(t)
	tool, err := exec.LookPath("mosquitto_passwd")
	if err != nil {
		t.Fatal("mosquitto_passwd not found (it comes with the mosquitto package)")
	}
	pki := makePKI(t)
	passwd := filepath.Join(t.TempDir(), "passwd")
	if out, err := exec.Command(tool, "-c", "-b", passwd, "nas", "nas-secret").CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_passwd: %v\n%s", err, out)
	}
	b := startRepoBroker(t, pki, passwd)
	nas := who{user: "nas", pw: "nas-secret"}

	if got := checkPublish(t, b.TLSURL, b.PasswordURL, pki, nas, "SHUTDOWN"); got {
		t.Error("password user nas published SHUTDOWN; want it dropped")
	}
	if got := checkPublish(t, b.TLSURL, b.PasswordURL, pki, nas, "resourceavailable/nas/presence"); !got {
		t.Error("password user nas could not publish its own presence")
	}
	if _, _, err := connect(t, b.PasswordURL, who{user: "nas", pw: "wrong"}, ""); err == nil {
		t.Error("a wrong password was accepted")
	}
	if _, _, err := connect(t, b.PasswordURL, who{user: "shutdownall", pw: ""}, ""); err == nil {
		t.Error("a user without a password entry was accepted")
	}
}
