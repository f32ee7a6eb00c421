package mqtttest

import (
	"io"
	"net"
	"sync"
	"testing"
)

// Proxy is a TCP relay between clients and a broker that a test can cut,
// to make a client vanish without a clean disconnect (its last will fires)
// or be unreachable for a while.
type Proxy struct {
	// URL is what a client dials instead of the broker's.
	URL    string
	target string
	ln     net.Listener
	mu     sync.Mutex
	conns  []net.Conn
	down   bool
}

// NewProxy relays 127.0.0.1:random to the broker b.
func NewProxy(t testing.TB, b *Broker) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{URL: "tcp://" + ln.Addr().String(), target: b.Addr, ln: ln}
	go p.serve()
	t.Cleanup(func() { ln.Close(); p.Cut() })
	return p
}

func (p *Proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.down {
			p.mu.Unlock()
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		go func() { io.Copy(up, c); up.Close() }()
		go func() { io.Copy(c, up); c.Close() }()
	}
}

// Cut closes every relayed connection at once; new ones are still accepted.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// Down cuts every connection and refuses new ones until Up.
func (p *Proxy) Down() {
	p.mu.Lock()
	p.down = true
	p.mu.Unlock()
	p.Cut()
}

// Up accepts connections again.
func (p *Proxy) Up() {
	p.mu.Lock()
	p.down = false
	p.mu.Unlock()
}
