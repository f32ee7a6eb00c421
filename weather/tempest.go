package weather

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"strings"
	"sync"
	"time"
)

// TempestConfig configures the WeatherFlow Tempest UDP source.
type TempestConfig struct {
	// Addr is the UDP address to listen on; default ":50222", the hub's
	// broadcast port.
	Addr string
	// Serial, when set, keeps only messages from this device (serial_number),
	// for LANs with more than one station.
	Serial string
}

// Validate names the first field that cannot work.
func (c TempestConfig) Validate() error {
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("tempest: Addr %q: %w", c.Addr, err)
	}
	return nil
}

// Tempest listens to the UDP broadcasts of a WeatherFlow Tempest hub.
//
// evt_strike gives one strike's estimated distance at once; obs_st repeats
// the minute's average distance when its strike count is above zero, which
// covers a lost evt_strike datagram. Both are estimates without bearing.
//
// The source reports Blind when device_status has bit 0x1 (lightning sensor
// failed) or obs_st shows power-save mode 3 (wind sampled every 300 s), in
// which the sensor is switched off. The noise (0x2) and disturber (0x4) bits
// only go into Detail: the sensor is still listening, it is hearing
// interference, and treating every disturber as blindness would keep a
// fleet from ever getting an all-clear near man-made noise.
type Tempest struct {
	cfg  TempestConfig
	mu   sync.Mutex
	conn net.PacketConn
}

// NewTempest checks cfg and returns the source; it does not bind yet.
func NewTempest(cfg TempestConfig) (*Tempest, error) {
	if cfg.Addr == "" {
		cfg.Addr = ":50222"
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Tempest{cfg: cfg}, nil
}

// Name returns "tempest".
func (t *Tempest) Name() string { return "tempest" }

// Kind returns Trigger.
func (t *Tempest) Kind() Kind { return Trigger }

// Listen binds the UDP socket, if Stream has not already, and returns the
// bound address; with Addr "127.0.0.1:0" that is where tests send to.
func (t *Tempest) Listen() (net.Addr, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.conn == nil {
		lc := net.ListenConfig{Control: reuseAddr}
		c, err := lc.ListenPacket(context.Background(), "udp", t.cfg.Addr)
		if err != nil {
			return nil, fmt.Errorf("tempest: listen: %w", err)
		}
		t.conn = c
	}
	return t.conn.LocalAddr(), nil
}

// Stream reads datagrams until ctx is done and emits a report for each
// evt_strike, obs_st and device_status. Datagrams that do not decode are
// skipped. Stream returns nil when ctx ends.
func (t *Tempest) Stream(ctx context.Context, emit func(Report)) error {
	if _, err := t.Listen(); err != nil {
		return err
	}
	t.mu.Lock()
	conn := t.conn
	t.mu.Unlock()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer func() {
		stop()
		conn.Close()
		t.mu.Lock()
		t.conn = nil
		t.mu.Unlock()
	}()
	buf := make([]byte, 64<<10)
	for {
		n, _, err := conn.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("tempest: socket closed: %w", err)
			}
			return fmt.Errorf("tempest: read: %w", err)
		}
		rep, ok, err := decodeTempest(buf[:n], t.cfg.Serial)
		if err != nil || !ok {
			continue // garbage or a message type we do not use
		}
		rep.At = time.Now()
		emit(rep)
	}
}

type tempestMsg struct {
	Serial       string       `json:"serial_number"`
	Type         string       `json:"type"`
	Evt          []*float64   `json:"evt"`
	Obs          [][]*float64 `json:"obs"`
	SensorStatus *uint32      `json:"sensor_status"`
}

// Tempest sensor_status bits and obs_st indices (apidocs.tempestwx.com).
const (
	tempestLightningFailed    = 0x1
	tempestLightningNoise     = 0x2
	tempestLightningDisturber = 0x4

	obsTime           = 0
	obsWindInterval   = 5
	obsStrikeDistance = 14
	obsStrikeCount    = 15
	// powerSaveInterval is the wind sample interval of power-save mode 3.
	powerSaveInterval = 300
)

// decodeTempest turns one datagram into a report; ok is false for message
// types that carry nothing about lightning, or another device's messages.
func decodeTempest(b []byte, serial string) (rep Report, ok bool, err error) {
	var m tempestMsg
	if err := json.Unmarshal(b, &m); err != nil {
		return Report{}, false, malformed("tempest", err)
	}
	if serial != "" && m.Serial != serial {
		return Report{}, false, nil
	}
	rep.Source = "tempest"
	switch m.Type {
	case "evt_strike":
		if len(m.Evt) < 2 || m.Evt[0] == nil || m.Evt[1] == nil {
			return Report{}, false, malformed("tempest", errors.New("evt_strike without time and distance"))
		}
		s, err := tempestStrike(*m.Evt[0], *m.Evt[1])
		if err != nil {
			return Report{}, false, err
		}
		rep.Strikes = []Strike{s}
		return rep, true, nil
	case "obs_st":
		var notes []string
		for _, row := range m.Obs {
			if len(row) <= obsStrikeCount || row[obsTime] == nil {
				return Report{}, false, malformed("tempest", errors.New("obs_st row too short"))
			}
			if iv := row[obsWindInterval]; iv != nil && *iv == powerSaveInterval {
				rep.Blind = true
				notes = append(notes, "power-save mode 3: lightning sensor off")
			}
			cnt, dist := row[obsStrikeCount], row[obsStrikeDistance]
			if cnt == nil || *cnt <= 0 || dist == nil {
				continue
			}
			s, err := tempestStrike(*row[obsTime], *dist)
			if err != nil {
				return Report{}, false, err
			}
			rep.Strikes = append(rep.Strikes, s)
			notes = append(notes, fmt.Sprintf("%g strikes in the interval, average %g km", *cnt, *dist))
		}
		rep.Detail = strings.Join(notes, "; ")
		return rep, true, nil
	case "device_status":
		if m.SensorStatus == nil {
			return Report{}, false, malformed("tempest", errors.New("device_status without sensor_status"))
		}
		st := *m.SensorStatus
		var notes []string
		if st&tempestLightningFailed != 0 {
			rep.Blind = true
			notes = append(notes, "lightning sensor failed")
		}
		if st&tempestLightningNoise != 0 {
			notes = append(notes, "lightning noise")
		}
		if st&tempestLightningDisturber != 0 {
			notes = append(notes, "lightning disturber")
		}
		rep.Detail = strings.Join(notes, "; ")
		return rep, true, nil
	}
	return Report{}, false, nil
}

// tempestStrike checks an epoch and a distance from the sensor.
func tempestStrike(epoch, km float64) (Strike, error) {
	if !finite(epoch) || epoch <= 0 || epoch > math.MaxInt32*4 || !finite(km) || km < 0 || km > 1000 {
		return Strike{}, malformed("tempest", fmt.Errorf("strike time %v or distance %v out of range", epoch, km))
	}
	return Strike{Time: time.Unix(int64(epoch), 0).UTC(), Source: "tempest", DistanceKM: km, Estimate: true}, nil
}
