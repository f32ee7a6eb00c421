package wake

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/stormguard/stormguard/wire"
)

// Port is where Wake-on-LAN packets go.
const Port = 9

// Sender sends one Wake-on-LAN packet.
type Sender func(t Target) error

// UDP returns a Sender of magic packets to each target's broadcast
// address on port (Port when 0).
func UDP(port int) Sender {
	if port == 0 {
		port = Port
	}
	return func(t Target) error {
		p, err := wire.MagicPacket(t.MAC)
		if err != nil {
			return err
		}
		ip := net.ParseIP(t.Broadcast).To4()
		if ip == nil {
			return fmt.Errorf("wake %s: broadcast %q is not an IPv4 address", t.Host, t.Broadcast)
		}
		lc := net.ListenConfig{Control: allowBroadcast}
		c, err := lc.ListenPacket(context.Background(), "udp4", ":0")
		if err != nil {
			return fmt.Errorf("wake %s: %w", t.Host, err)
		}
		defer c.Close()
		addr := &net.UDPAddr{IP: ip, Port: port}
		if _, err := c.WriteTo(p, addr); err != nil {
			return fmt.Errorf("wake %s: send to %s: %w", t.Host, net.JoinHostPort(ip.String(), strconv.Itoa(port)), err)
		}
		return nil
	}
}

// Run wakes targets with send until each is back (a host name on back)
// or given up, or ctx ends, and returns how it went. Hosts already present
// should not be among targets: a host that is up is left alone.
func Run(ctx context.Context, cfg Config, targets []Target, back <-chan string, send Sender, log *slog.Logger) []Result {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := New(cfg, targets)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return w.Results()
		case h := <-back:
			w.Present(h)
		case <-timer.C:
		}
		due, next, done := w.Due(time.Now())
		for _, t := range due {
			if err := send(t); err != nil {
				log.Warn("wake-on-lan", "host", t.Host, "err", err)
				continue
			}
			log.Info("wake-on-lan packet sent", "host", t.Host, "stage", t.Stage, "mac", t.MAC, "broadcast", t.Broadcast)
		}
		if done {
			return w.Results()
		}
		timer.Reset(max(time.Until(next), 0))
	}
}
