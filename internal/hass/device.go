package hass

import (
	"github.com/stormguard/stormguard/internal/guard"
	"github.com/stormguard/stormguard/internal/watch"
	"github.com/stormguard/stormguard/wire"
)

const guardID = "stormguard_guard"

func hostID(host string) string { return "stormguard_host_" + wire.HassID(host) }

// device is a device-based discovery payload.
type device struct {
	Device     deviceInfo           `json:"dev"`
	Origin     origin               `json:"o"`
	Components map[string]component `json:"cmps"`
	QoS        byte                 `json:"qos,omitempty"`
}

type deviceInfo struct {
	Identifiers  []string `json:"identifiers"`
	Name         string   `json:"name"`
	Manufacturer string   `json:"manufacturer"`
	Model        string   `json:"model"`
	SWVersion    string   `json:"sw_version,omitempty"`
	ConfigURL    string   `json:"configuration_url,omitempty"`
	ViaDevice    string   `json:"via_device,omitempty"`
}

type origin struct {
	Name       string `json:"name"`
	SWVersion  string `json:"sw_version,omitempty"`
	SupportURL string `json:"support_url,omitempty"`
}

type availability struct {
	Topic        string `json:"topic"`
	Available    string `json:"payload_available"`
	NotAvailable string `json:"payload_not_available"`
}

// component is one entity; only the fields its platform uses are set.
type component struct {
	Platform          string         `json:"p"`
	Name              string         `json:"name"`
	UniqueID          string         `json:"unique_id"`
	StateTopic        string         `json:"state_topic,omitempty"`
	ValueTemplate     string         `json:"value_template,omitempty"`
	AttrTopic         string         `json:"json_attributes_topic,omitempty"`
	AttrTemplate      string         `json:"json_attributes_template,omitempty"`
	CommandTopic      string         `json:"command_topic,omitempty"`
	PayloadPress      string         `json:"payload_press,omitempty"`
	PayloadOn         string         `json:"payload_on,omitempty"`
	PayloadOff        string         `json:"payload_off,omitempty"`
	DeviceClass       string         `json:"device_class,omitempty"`
	Unit              string         `json:"unit_of_measurement,omitempty"`
	EntityCategory    string         `json:"entity_category,omitempty"`
	Icon              string         `json:"icon,omitempty"`
	Availability      []availability `json:"availability,omitempty"`
	EnabledByDefault  *bool          `json:"enabled_by_default,omitempty"`
	SuggestedDisplayP *int           `json:"suggested_display_precision,omitempty"`
}

func (p *Publisher) presence(res string) []availability {
	return []availability{{Topic: p.cfg.Topics.Presence(res), Available: wire.PresenceTrue, NotAvailable: wire.PresenceFalse}}
}

func (p *Publisher) origin() origin {
	return origin{Name: "stormguard", SWVersion: p.cfg.Version, SupportURL: p.cfg.StatusURL}
}

// Templates render "None" for a value that is absent, which Home Assistant
// shows as unknown.
const (
	tplPhase    = "{{ value_json.phase }}"
	tplDistance = "{% if value_json.nearest %}{{ value_json.nearest.distance_km | round(1) }}{% else %}None{% endif %}"
	tplBearing  = "{{ value_json.bearing if value_json.bearing is defined else 'None' }}"
	tplTrend    = "{{ value_json.trend }}"
	tplDeadline = "{{ value_json.deadline if value_json.deadline is defined and value_json.phase == 'countdown' else 'None' }}"
	tplBlind    = "{{ 'ON' if value_json.blind else 'OFF' }}"
	tplSources  = "{{ value_json.sources.values() | selectattr('status', 'ne', 'ok') | list | count }}"
	tplSrcAttrs = "{{ value_json.sources | tojson }}"
	tplStateAll = "{{ value_json | tojson }}"
	tplLastCmd  = "{{ value_json.last.action ~ ' ' ~ value_json.last.id if value_json.last is defined else 'None' }}"
	tplLastSt   = "{{ value_json.last.state if value_json.last is defined else 'None' }}"
	tplLastAttr = "{{ value_json.last | tojson if value_json.last is defined else '{}' }}"
	tplPending  = "{{ (value_json.pending | map(attribute='deadline') | min) if value_json.pending is defined else 'None' }}"
	tplVersion  = "{{ value_json.version if value_json.version is defined else 'None' }}"
)

func (p *Publisher) guardDevice() device {
	st := p.cfg.Topics.State(guard.Name)
	av := p.presence(guard.Name)
	id := func(s string) string { return guardID + "_" + s }
	one := 1
	c := map[string]component{
		"phase": {Platform: "sensor", Name: "Phase", UniqueID: id("phase"), StateTopic: st, ValueTemplate: tplPhase,
			AttrTopic: st, AttrTemplate: "{{ {'next': value_json.next, 'reason': value_json.reason, 'storm_id': value_json.storm_id} | tojson }}",
			Icon: "mdi:weather-lightning", Availability: av},
		"nearest": {Platform: "sensor", Name: "Nearest strike", UniqueID: id("nearest"), StateTopic: st, ValueTemplate: tplDistance,
			DeviceClass: "distance", Unit: "km", SuggestedDisplayP: &one, Availability: av},
		"bearing": {Platform: "sensor", Name: "Nearest strike bearing", UniqueID: id("bearing"), StateTopic: st, ValueTemplate: tplBearing,
			Icon: "mdi:compass", Availability: av},
		"trend": {Platform: "sensor", Name: "Storm trend", UniqueID: id("trend"), StateTopic: st, ValueTemplate: tplTrend,
			Icon: "mdi:trending-up", Availability: av},
		"deadline": {Platform: "sensor", Name: "Power-down deadline", UniqueID: id("deadline"), StateTopic: st, ValueTemplate: tplDeadline,
			DeviceClass: "timestamp", Availability: av},
		"sources": {Platform: "sensor", Name: "Sources not ok", UniqueID: id("sources"), StateTopic: st, ValueTemplate: tplSources,
			AttrTopic: st, AttrTemplate: tplSrcAttrs, Icon: "mdi:access-point-network", Availability: av},
		"blind": {Platform: "binary_sensor", Name: "Blind", UniqueID: id("blind"), StateTopic: st, ValueTemplate: tplBlind,
			DeviceClass: "problem", Availability: av},
		"online": {Platform: "binary_sensor", Name: "Online", UniqueID: id("online"), StateTopic: p.cfg.Topics.Presence(guard.Name),
			PayloadOn: wire.PresenceTrue, PayloadOff: wire.PresenceFalse, DeviceClass: "connectivity", EntityCategory: "diagnostic"},
		// The cancel button works while stormguard is away: agents obey CANCEL themselves.
		"cancel": {Platform: "button", Name: "Cancel countdown", UniqueID: id("cancel"), CommandTopic: p.cfg.Topics.Command(wire.Cancel),
			PayloadPress: "cancelled from Home Assistant", Icon: "mdi:cancel"},
	}
	if p.cfg.PowerButtons {
		c["shutdown"] = component{Platform: "button", Name: "Power down every host", UniqueID: id("shutdown"),
			CommandTopic: p.cfg.Topics.Command(wire.Shutdown), PayloadPress: "power-down from Home Assistant", Icon: "mdi:power"}
	}
	return device{
		Device: deviceInfo{Identifiers: []string{guardID}, Name: "stormguard", Manufacturer: "stormguard", Model: "stormguard",
			SWVersion: p.cfg.Version, ConfigURL: p.cfg.StatusURL},
		Origin: p.origin(), Components: c, QoS: p.cfg.QoS,
	}
}

func (p *Publisher) hostDevice(h watch.Host) device {
	st := p.cfg.Topics.State(h.Name)
	av := p.presence(h.Name)
	base := hostID(h.Name)
	id := func(s string) string { return base + "_" + s }
	c := map[string]component{
		"presence": {Platform: "binary_sensor", Name: "Presence", UniqueID: id("presence"), StateTopic: p.cfg.Topics.Presence(h.Name),
			PayloadOn: wire.PresenceTrue, PayloadOff: wire.PresenceFalse, DeviceClass: "connectivity"},
		"last_command": {Platform: "sensor", Name: "Last command", UniqueID: id("last_command"), StateTopic: st, ValueTemplate: tplLastCmd,
			AttrTopic: st, AttrTemplate: tplLastAttr, Icon: "mdi:console", Availability: av},
		"last_state": {Platform: "sensor", Name: "Last command state", UniqueID: id("last_state"), StateTopic: st, ValueTemplate: tplLastSt,
			Icon: "mdi:list-status", Availability: av},
		"pending": {Platform: "sensor", Name: "Pending countdown", UniqueID: id("pending"), StateTopic: st, ValueTemplate: tplPending,
			DeviceClass: "timestamp", Availability: av},
		"version": {Platform: "sensor", Name: "Agent version", UniqueID: id("version"), StateTopic: st, ValueTemplate: tplVersion,
			EntityCategory: "diagnostic", Availability: av},
		"cancel": {Platform: "button", Name: "Cancel countdown", UniqueID: id("cancel"), CommandTopic: p.cfg.Topics.HostCommand(wire.Cancel, h.Name),
			PayloadPress: "cancelled from Home Assistant", Icon: "mdi:cancel", Availability: av},
	}
	if p.cfg.PowerButtons {
		c["shutdown"] = component{Platform: "button", Name: "Power down", UniqueID: id("shutdown"),
			CommandTopic: p.cfg.Topics.HostCommand(wire.Shutdown, h.Name), PayloadPress: "power-down from Home Assistant",
			Icon: "mdi:power", Availability: av}
		c["reboot"] = component{Platform: "button", Name: "Reboot", UniqueID: id("reboot"),
			CommandTopic: p.cfg.Topics.HostCommand(wire.Reboot, h.Name), PayloadPress: "reboot from Home Assistant",
			DeviceClass: "restart", Availability: av}
	}
	version := ""
	if h.State != nil {
		version = h.State.Version
	}
	return device{
		Device: deviceInfo{Identifiers: []string{base}, Name: h.Name, Manufacturer: "stormguard", Model: "stormguard agent",
			SWVersion: version, ViaDevice: guardID, ConfigURL: p.cfg.StatusURL},
		Origin: p.origin(), Components: c, QoS: p.cfg.QoS,
	}
}
