package wire

import "testing"

func TestHassTopics(t *testing.T) {
	tests := []struct{ name, got, want string }{
		{"status", HassStatus("homeassistant"), "homeassistant/status"},
		{"status trims", HassStatus("/ha/"), "ha/status"},
		{"device", HassDevice("homeassistant", "stormguard_host_nas"), "homeassistant/device/stormguard_host_nas/config"},
		{"device id cleaned", HassDevice("homeassistant", "host.lan:1"), "homeassistant/device/host_lan_1/config"},
		{"id keeps allowed", HassID("Pi-4_b"), "Pi-4_b"},
		{"id replaces unicode", HassID("küche"), "k__che"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}
