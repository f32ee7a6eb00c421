package main

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/stormguard/stormguard/wire"
)

// brokerHosts are the host parts of the broker URLs.
func brokerHosts(brokers []string) []string {
	var out []string
	for _, b := range brokers {
		if u, err := url.Parse(b); err == nil && u.Hostname() != "" {
			out = append(out, net.JoinHostPort(u.Hostname(), portOr(u.Port(), "1883")))
		}
	}
	return out
}

func portOr(p, def string) string {
	if p == "" {
		return def
	}
	return p
}

// runsBroker reports whether a broker URL names this host: it resolves to
// a loopback address or to an address of one of this host's interfaces.
func runsBroker(brokers []string) bool {
	local := map[string]bool{}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				local[n.IP.String()] = true
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, hp := range brokerHosts(brokers) {
		host, _, _ := net.SplitHostPort(hp)
		ips, err := net.DefaultResolver.LookupIP(ctx, "ip", host)
		if err != nil {
			continue
		}
		for _, ip := range ips {
			if ip.IsLoopback() || local[ip.String()] {
				return true
			}
		}
	}
	return false
}

// wakeAddress finds where a Wake-on-LAN packet reaches this host: the
// interface this host uses to reach the broker (the kernel's route to it;
// connecting a UDP socket sends nothing), its MAC and its IPv4 broadcast
// address.
func wakeAddress(brokers []string) (*wire.Wake, error) {
	hosts := brokerHosts(brokers)
	if len(hosts) == 0 {
		return nil, fmt.Errorf("no broker address to find the interface by")
	}
	c, err := net.Dial("udp4", hosts[0])
	if err != nil {
		return nil, fmt.Errorf("route to the broker: %w", err)
	}
	local := c.LocalAddr().(*net.UDPAddr).IP
	c.Close()
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	for _, ifc := range ifs {
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			n, ok := a.(*net.IPNet)
			if !ok || !n.IP.Equal(local) {
				continue
			}
			ip4, mask := n.IP.To4(), n.Mask
			if ip4 == nil || len(ifc.HardwareAddr) != 6 {
				return nil, fmt.Errorf("interface %s (%s) has no Ethernet address for Wake-on-LAN; give -wake-mac", ifc.Name, local)
			}
			if len(mask) == 16 {
				mask = mask[12:]
			}
			bc := make(net.IP, 4)
			for i := range 4 {
				bc[i] = ip4[i] | ^mask[i]
			}
			return &wire.Wake{MAC: ifc.HardwareAddr.String(), Broadcast: bc.String()}, nil
		}
	}
	return nil, fmt.Errorf("no interface has %s, the address this host reaches the broker from", local)
}
