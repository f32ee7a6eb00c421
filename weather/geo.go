package weather

import (
	"fmt"
	"math"
)

// EarthRadiusKM is the mean earth radius the distance helpers use, the same
// value the Home Assistant Blitzortung integration uses.
const EarthRadiusKM = 6371.0

// Polar returns the distance in km and the bearing in degrees (clockwise from
// north, in [0, 360)) from the site to the point lat, lon.
//
// Polar uses the flat-earth approximation of the Home Assistant Blitzortung
// integration: dy = Δlat·π/180, dx = Δlon·π/180·cos(lat0),
// d = √(dx²+dy²)·6371, bearing = atan2(dx, dy). Within the 100 km a strike
// feed is filtered to it stays within about 0.3 km of the great-circle
// distance, and it keeps our filter in step with what users see in that
// integration. The values are not rounded.
func (s Site) Polar(lat, lon float64) (distKM, bearingDeg float64) {
	dLon := lon - s.Lon
	// Take the short way around the antimeridian.
	if dLon > 180 {
		dLon -= 360
	} else if dLon < -180 {
		dLon += 360
	}
	dy := (lat - s.Lat) * math.Pi / 180
	dx := dLon * math.Pi / 180 * math.Cos(s.Lat*math.Pi/180)
	distKM = math.Sqrt(dx*dx+dy*dy) * EarthRadiusKM
	bearingDeg = math.Mod(math.Atan2(dx, dy)*180/math.Pi+360, 360)
	return distKM, bearingDeg
}

// Validate reports whether the site's coordinates are on the globe.
func (s Site) Validate() error {
	if math.IsNaN(s.Lat) || s.Lat < -90 || s.Lat > 90 {
		return fmt.Errorf("site: Lat %v is outside -90..90", s.Lat)
	}
	if math.IsNaN(s.Lon) || s.Lon < -180 || s.Lon > 180 {
		return fmt.Errorf("site: Lon %v is outside -180..180", s.Lon)
	}
	return nil
}

var compassPoints = [16]string{
	"N", "NNE", "NE", "ENE", "E", "ESE", "SE", "SSE",
	"S", "SSW", "SW", "WSW", "W", "WNW", "NW", "NNW",
}

// Compass names the 16-point compass direction of a bearing in degrees,
// e.g. 292.5 gives "WNW". Each point covers 22.5°, centred on its bearing.
func Compass(bearingDeg float64) string {
	if math.IsNaN(bearingDeg) || math.IsInf(bearingDeg, 0) {
		return "?"
	}
	b := math.Mod(bearingDeg, 360)
	if b < 0 {
		b += 360
	}
	return compassPoints[int(math.Floor(b/22.5+0.5))%16]
}

// finite reports whether v is an ordinary number, neither NaN nor infinite.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
