package wire

import (
	"bytes"
	"fmt"
	"net"
)

// MagicPacket is the Wake-on-LAN packet for the card with hardware
// address mac: six 0xFF bytes, then the address sixteen times. It is sent
// over UDP to a broadcast address, port 9.
func MagicPacket(mac string) ([]byte, error) {
	hw, err := net.ParseMAC(mac)
	if err != nil {
		return nil, fmt.Errorf("wake: %w", err)
	}
	if len(hw) != 6 {
		return nil, fmt.Errorf("wake: %s is not a 6-byte Ethernet address", mac)
	}
	p := bytes.Repeat([]byte{0xff}, 6)
	for range 16 {
		p = append(p, hw...)
	}
	return p, nil
}

// ParseMagicPacket returns the address a Wake-on-LAN packet wakes, or
// false when p is not one.
func ParseMagicPacket(p []byte) (string, bool) {
	if len(p) < 102 || !bytes.Equal(p[:6], bytes.Repeat([]byte{0xff}, 6)) {
		return "", false
	}
	hw := p[6:12]
	for i := range 16 {
		if !bytes.Equal(p[6+6*i:12+6*i], hw) {
			return "", false
		}
	}
	return net.HardwareAddr(hw).String(), true
}
