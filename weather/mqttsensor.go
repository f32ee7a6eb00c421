package weather

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// MQTTSensorConfig configures a lightning sensor that publishes its distance
// estimate over MQTT, such as an ESPHome node with an AS3935.
type MQTTSensorConfig struct {
	// Subscriber is connected to the sensor's broker; required.
	Subscriber Subscriber
	// Node is the ESPHome topic prefix (by default the node name), e.g.
	// "lightning-detector"; required unless both topics are set.
	Node string
	// DistanceTopic carries the distance in km; default
	// "<Node>/sensor/lightning_distance/state".
	DistanceTopic string
	// StatusTopic carries "online"/"offline" availability; default
	// "<Node>/status". Set it to "-" for a sensor without one.
	StatusTopic string
	// OutOfRangeKM is the value meaning "storm out of range"; default 63, the AS3935's.
	OutOfRangeKM float64
	// SettleTime is how long after the node comes back online its distance
	// messages are ignored, because ESPHome republishes its last state on
	// reconnect; default 5 s.
	SettleTime time.Duration
	// Now returns the current time; default time.Now. The sensor's messages
	// carry no time, so strikes are stamped on arrival.
	Now func() time.Time
}

// Validate names the first field that cannot work.
func (c MQTTSensorConfig) Validate() error {
	switch {
	case c.Subscriber == nil:
		return errors.New("mqttsensor: Subscriber is required")
	case c.DistanceTopic == "":
		return errors.New("mqttsensor: Node or DistanceTopic is required")
	case c.StatusTopic == "":
		return errors.New("mqttsensor: Node or StatusTopic is required")
	case strings.ContainsAny(c.DistanceTopic, "#+"):
		return fmt.Errorf("mqttsensor: DistanceTopic %q holds a wildcard", c.DistanceTopic)
	case strings.ContainsAny(c.StatusTopic, "#+"):
		return fmt.Errorf("mqttsensor: StatusTopic %q holds a wildcard", c.StatusTopic)
	case !(c.OutOfRangeKM > 0):
		return fmt.Errorf("mqttsensor: OutOfRangeKM %v is not positive", c.OutOfRangeKM)
	case c.SettleTime < 0:
		return fmt.Errorf("mqttsensor: SettleTime %v is negative", c.SettleTime)
	}
	return nil
}

// MQTTSensor streams a single sensor's strike distance estimates.
//
// A retained distance is the sensor's last state, not a new strike, so it
// is ignored; a retained status is the current availability and is used.
// "nan" and "None" (no reading) are ignored, and OutOfRangeKM means the
// storm is out of range, not a strike.
type MQTTSensor struct {
	cfg MQTTSensorConfig

	link     linkNews
	mu       sync.Mutex
	onlineAt time.Time
}

// NewMQTTSensor checks cfg and returns the source.
func NewMQTTSensor(cfg MQTTSensorConfig) (*MQTTSensor, error) {
	if node := strings.TrimRight(cfg.Node, "/"); node != "" {
		if cfg.DistanceTopic == "" {
			cfg.DistanceTopic = node + "/sensor/lightning_distance/state"
		}
		if cfg.StatusTopic == "" {
			cfg.StatusTopic = node + "/status"
		}
	}
	if cfg.OutOfRangeKM == 0 {
		cfg.OutOfRangeKM = 63
	}
	if cfg.SettleTime == 0 {
		cfg.SettleTime = 5 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &MQTTSensor{cfg: cfg, link: linkNews{source: "mqttsensor"}}, nil
}

// Name returns "mqttsensor".
func (m *MQTTSensor) Name() string { return "mqttsensor" }

// Kind returns Trigger.
func (m *MQTTSensor) Kind() Kind { return Trigger }

// Liveness returns Connection: the sensor publishes a distance only when it
// hears lightning. Its availability topic and the broker connection are
// its health.
func (m *MQTTSensor) Liveness() Liveness { return Connection }

// Stream subscribes to the distance and status topics and emits a report
// per strike and per availability change until ctx is done, and a Link
// report whenever the subscriber's connection comes or goes. Messages over
// MaxFeedPayload are reported as Rejected. It returns nil when ctx ends.
func (m *MQTTSensor) Stream(ctx context.Context, emit func(Report)) error {
	// Cancelling on return drops the status subscription if the distance one fails.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	emit = serialEmit(emit)
	if m.cfg.StatusTopic != "-" {
		err := m.cfg.Subscriber.Subscribe(ctx, m.cfg.StatusTopic, 1, func(topic string, payload []byte, retained bool) {
			if len(payload) > MaxFeedPayload {
				emit(rejected(m.Name(), fmt.Sprintf("a %d-byte message on %s, over the %d-byte limit", len(payload), topic, MaxFeedPayload)))
				return
			}
			if r, ok := m.status(payload, retained); ok {
				emit(r)
			}
		})
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("mqttsensor: subscribe %s: %w", m.cfg.StatusTopic, err)
		}
	}
	err := m.cfg.Subscriber.Subscribe(ctx, m.cfg.DistanceTopic, 1, func(topic string, payload []byte, retained bool) {
		if len(payload) > MaxFeedPayload {
			emit(rejected(m.Name(), fmt.Sprintf("a %d-byte message on %s, over the %d-byte limit", len(payload), topic, MaxFeedPayload)))
			return
		}
		if r, ok := m.distance(payload, retained); ok {
			emit(r)
		}
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("mqttsensor: subscribe %s: %w", m.cfg.DistanceTopic, err)
	}
	defer m.link.start(m.cfg.Subscriber, emit)()
	<-ctx.Done()
	return nil
}

// status turns an availability message into a report.
func (m *MQTTSensor) status(payload []byte, retained bool) (Report, bool) {
	now := m.cfg.Now()
	switch strings.ToLower(strings.TrimSpace(string(payload))) {
	case "online":
		if !retained {
			m.mu.Lock()
			m.onlineAt = now
			m.mu.Unlock()
		}
		return Report{Source: m.Name(), At: now, Detail: "sensor online"}, true
	case "offline":
		return Report{Source: m.Name(), At: now, Blind: true, Detail: "sensor offline"}, true
	}
	return Report{}, false
}

// distance turns a distance message into a strike report.
func (m *MQTTSensor) distance(payload []byte, retained bool) (Report, bool) {
	if retained {
		return Report{}, false
	}
	km, ok := parseSensorDistance(payload, m.cfg.OutOfRangeKM)
	if !ok {
		return Report{}, false
	}
	now := m.cfg.Now()
	m.mu.Lock()
	settling := !m.onlineAt.IsZero() && now.Sub(m.onlineAt) < m.cfg.SettleTime
	m.mu.Unlock()
	if settling {
		return Report{}, false
	}
	s := Strike{Time: now, Source: m.Name(), DistanceKM: km, Estimate: true}
	return Report{Source: m.Name(), At: now, Strikes: []Strike{s}}, true
}

// parseSensorDistance reads a distance state; ok is false for no reading
// ("nan", "None"), out of range, or anything that is not a distance.
func parseSensorDistance(payload []byte, outOfRange float64) (float64, bool) {
	s := strings.TrimSpace(string(payload))
	switch strings.ToLower(s) {
	case "", "nan", "none", "unknown", "unavailable":
		return 0, false
	}
	km, err := strconv.ParseFloat(s, 64)
	if err != nil || !finite(km) || km < 0 || km >= outOfRange {
		return 0, false
	}
	return km, true
}
