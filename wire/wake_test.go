package wire

import (
	"bytes"
	"testing"
)

func TestMagicPacket(t *testing.T) {
	p, err := MagicPacket("02:00:5e:10:00:01")
	if err != nil {
		t.Fatal(err)
	}
	if len(p) != 102 || !bytes.Equal(p[:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}) ||
		!bytes.Equal(p[96:], []byte{0x02, 0x00, 0x5e, 0x10, 0x00, 0x01}) {
		t.Fatalf("packet = % x", p)
	}
	if mac, ok := ParseMagicPacket(p); !ok || mac != "02:00:5e:10:00:01" {
		t.Errorf("ParseMagicPacket = %q, %v", mac, ok)
	}
	p[50] ^= 1
	if _, ok := ParseMagicPacket(p); ok {
		t.Error("a damaged packet parsed")
	}
	for _, bad := range []string{"", "zz:00:5e:10:00:01", "00:00:00:00:fe:80:00:00:00:00:00:00:02:00:5e:10:00:00:00:01"} {
		if _, err := MagicPacket(bad); err == nil {
			t.Errorf("MagicPacket(%q) = nil error", bad)
		}
	}
}
