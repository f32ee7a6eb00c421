package storm

import (
	"fmt"
	"strings"
	"time"

	"github.com/stormguard/stormguard/weather"
)

// clock formats a time the way reason texts show it: "19:58Z".
func clock(t time.Time) string { return t.UTC().Format("15:04Z") }

// describe says where and when a strike was: "lightning 9.2 km WNW at 19:58Z (blitzortung)".
func describe(s Strike) string {
	var b strings.Builder
	fmt.Fprintf(&b, "lightning %.1f km", s.DistanceKM)
	if s.HasBearing {
		b.WriteString(" " + weather.Compass(s.BearingDeg))
	}
	if s.Estimate {
		b.WriteString(" (estimated)")
	}
	fmt.Fprintf(&b, " at %s (%s)", clock(s.Time), s.Source)
	return b.String()
}

// describeSignal says which signal and from where: "Severe Thunderstorm Warning (nws) at 19:58Z".
func describeSignal(source string, sig Signal) string {
	detail := sig.Detail
	if detail == "" {
		detail = "thunderstorm signal"
	}
	return fmt.Sprintf("%s (%s) at %s", detail, source, clock(sig.SeenAt))
}

// countdownReason is the reason a SHUTDOWN carries.
func (e *Engine) countdownReason(cause string, deadline time.Time) string {
	return fmt.Sprintf("%s; powering down at %s unless cancelled on %s", cause, clock(deadline), e.cfg.CancelTopic)
}
