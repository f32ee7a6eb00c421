package wire

import "strings"

// HassStatus is Home Assistant's birth and last-will topic under the
// discovery prefix: "homeassistant/status", carrying "online" or "offline".
func HassStatus(prefix string) string { return strings.Trim(prefix, "/") + "/status" }

// HassDevice is the device-based discovery topic of one device:
// "<prefix>/device/<id>/config". An empty payload there removes the device
// and all its entities.
func HassDevice(prefix, id string) string {
	return strings.Trim(prefix, "/") + "/device/" + HassID(id) + "/config"
}

// HassID turns a name into an identifier Home Assistant accepts in topics
// and unique ids: every character outside [a-zA-Z0-9_-] becomes "_".
func HassID(name string) string {
	b := []byte(name)
	for i, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
		if !ok {
			b[i] = '_'
		}
	}
	return string(b)
}
