package weather

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// BlitzortungTopicPrefix is the topic root of the Blitzortung relay used by
// the Home Assistant integration.
const BlitzortungTopicPrefix = "blitzortung/1.1"

// BlitzortungConfig configures the Blitzortung-format strike feed. The feed
// has no default host: whether to use the community relay is a policy
// decision (see weather-sources.md), so the cmd layer connects the
// Subscriber to a broker the operator names.
type BlitzortungConfig struct {
	// Subscriber is connected to the relay's broker; required.
	Subscriber Subscriber
	Site       Site
	// RadiusKM is the watch radius; strikes at or beyond it are dropped.
	// Default 100, at most 4000, as in the Home Assistant integration.
	RadiusKM float64
	// TopicPrefix defaults to BlitzortungTopicPrefix.
	TopicPrefix string
}

// Validate names the first field that cannot work.
func (c BlitzortungConfig) Validate() error {
	if c.Subscriber == nil {
		return errors.New("blitzortung: Subscriber is required")
	}
	if err := c.Site.Validate(); err != nil {
		return fmt.Errorf("blitzortung: %w", err)
	}
	if !(c.RadiusKM > 0 && c.RadiusKM <= 4000) {
		return fmt.Errorf("blitzortung: RadiusKM %v is outside (0, 4000]", c.RadiusKM)
	}
	if strings.ContainsAny(c.TopicPrefix, "#+") {
		return fmt.Errorf("blitzortung: TopicPrefix %q holds a wildcard", c.TopicPrefix)
	}
	return nil
}

// Blitzortung streams located strikes from a Blitzortung relay over MQTT.
// It subscribes to the geohash tiles around the site and keeps strikes
// strictly closer than the radius, measured as the Home Assistant
// integration does (see Site.Polar).
type Blitzortung struct {
	cfg  BlitzortungConfig
	link linkNews
}

// NewBlitzortung checks cfg and returns the source.
func NewBlitzortung(cfg BlitzortungConfig) (*Blitzortung, error) {
	if cfg.RadiusKM == 0 {
		cfg.RadiusKM = 100
	}
	if cfg.TopicPrefix == "" {
		cfg.TopicPrefix = BlitzortungTopicPrefix
	}
	cfg.TopicPrefix = strings.TrimRight(cfg.TopicPrefix, "/")
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Blitzortung{cfg: cfg, link: linkNews{source: "blitzortung"}}, nil
}

// Name returns "blitzortung".
func (b *Blitzortung) Name() string { return "blitzortung" }

// Kind returns Trigger.
func (b *Blitzortung) Kind() Kind { return Trigger }

// Liveness returns Connection: the feed carries only strikes on the tiles
// around the site, so it is silent in fair weather.
func (b *Blitzortung) Liveness() Liveness { return Connection }

// Filters returns the topic filters Stream subscribes to, one per geohash
// tile, e.g. "blitzortung/1.1/9/x/j/#".
func (b *Blitzortung) Filters() []string {
	tiles := GeohashTiles(b.cfg.Site, b.cfg.RadiusKM)
	filters := make([]string, len(tiles))
	for i, gh := range tiles {
		filters[i] = b.cfg.TopicPrefix + "/" + strings.Join(strings.Split(gh, ""), "/") + "/#"
	}
	return filters
}

// Stream subscribes to the tiles and emits one report per strike inside the
// radius until ctx is done, and a Link report whenever the subscriber's
// connection comes or goes. Payloads over MaxFeedPayload or that do not
// decode are reported as Rejected; retained messages are skipped: the relay
// never retains strikes, so one would be stale. Stream returns nil when ctx
// ends.
func (b *Blitzortung) Stream(ctx context.Context, emit func(Report)) error {
	// Cancelling on return drops the tiles already subscribed if a later one fails.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	emit = serialEmit(emit)
	handle := func(topic string, payload []byte, retained bool) {
		if retained {
			return
		}
		if len(payload) > MaxFeedPayload {
			emit(rejected(b.Name(), fmt.Sprintf("a %d-byte message on %s, over the %d-byte limit", len(payload), topic, MaxFeedPayload)))
			return
		}
		s, err := decodeBlitzortung(payload, b.cfg.Site)
		if err != nil {
			emit(rejected(b.Name(), err.Error()))
			return
		}
		if !(s.DistanceKM < b.cfg.RadiusKM) {
			return
		}
		emit(Report{Source: b.Name(), At: time.Now(), Strikes: []Strike{s}})
	}
	for _, f := range b.Filters() {
		if err := b.cfg.Subscriber.Subscribe(ctx, f, 0, handle); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("blitzortung: subscribe %s: %w", f, err)
		}
	}
	defer b.link.start(b.cfg.Subscriber, emit)()
	<-ctx.Done()
	return nil
}

// rejected is a report of one message a feed would not decode.
func rejected(source, why string) Report {
	return Report{Source: source, At: time.Now(), Rejected: 1, RejectedWhy: why}
}

// blitzortungStrike is the relay payload. Since October 2024 it is
// {"lat","lon","time","status","region"} in compact form; before, it was
// the whole record with spaces and alt, pol, mds, mcg, delay and sig_num,
// which are ignored.
type blitzortungStrike struct {
	Lat *float64 `json:"lat"`
	Lon *float64 `json:"lon"`
	// Time is nanoseconds since the epoch, 19 digits: a float64 would round it.
	Time *int64 `json:"time"`
}

// decodeBlitzortung turns a payload into a strike measured from site.
func decodeBlitzortung(payload []byte, site Site) (Strike, error) {
	var p blitzortungStrike
	if err := json.Unmarshal(payload, &p); err != nil {
		return Strike{}, malformed("blitzortung", err)
	}
	if p.Lat == nil || p.Lon == nil || p.Time == nil {
		return Strike{}, malformed("blitzortung", errors.New("lat, lon or time missing"))
	}
	if *p.Lat < -90 || *p.Lat > 90 || *p.Lon < -180 || *p.Lon > 180 || *p.Time <= 0 {
		return Strike{}, malformed("blitzortung", fmt.Errorf("lat %v, lon %v or time %d out of range", *p.Lat, *p.Lon, *p.Time))
	}
	d, az := site.Polar(*p.Lat, *p.Lon)
	return Strike{
		Time:       time.Unix(0, *p.Time).UTC(),
		Source:     "blitzortung",
		DistanceKM: d,
		BearingDeg: az,
		HasBearing: true,
	}, nil
}
