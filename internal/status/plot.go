package status

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/stormguard/stormguard/internal/watch"
	"github.com/stormguard/stormguard/storm"
)

// Plot draws the site from above as SVG: north up, the shutdown and watch
// rings, recent strikes fading with age (a strike without a bearing is a
// dashed ring at its distance), and tracked storm cells with an arrow
// showing where each will be in half an hour.
func Plot(st *storm.State, cells []watch.Cell, shutdownKM, watchKM float64, window time.Duration, now time.Time) string {
	const r = 100.0 // the watch ring is at 80% of r
	scale := 0.8 * r / watchKM
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="-105 -105 210 210" role="img" aria-label="strikes around the site">`)
	b.WriteString(`<rect x="-105" y="-105" width="210" height="210" class="bg"/>`)
	ring := func(km float64, class string) {
		fmt.Fprintf(&b, `<circle cx="0" cy="0" r="%.2f" class="%s"/>`, km*scale, class)
		d := km * scale * math.Sqrt2 / 2
		fmt.Fprintf(&b, `<text x="%.2f" y="%.2f" class="label">%g km</text>`, d+4, -d-1, km)
	}
	ring(watchKM, "ring watch")
	ring(shutdownKM, "ring shutdown")
	for i, d := range []string{"N", "E", "S", "W"} {
		x, y := project(r*0.97/scale, float64(i*90), scale)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="compass">%s</text>`, x, y+3, d)
	}
	if st != nil {
		for _, s := range st.Recent {
			age := now.Sub(s.Time)
			if age > window {
				continue
			}
			op := max(0.15, 1-age.Seconds()/window.Seconds())
			km := math.Min(s.DistanceKM, watchKM*1.2)
			title := fmt.Sprintf("%.1f km, %s ago (%s)", s.DistanceKM, age.Round(time.Second), s.Source)
			if !s.HasBearing {
				fmt.Fprintf(&b, `<circle cx="0" cy="0" r="%.2f" class="strike estimate" opacity="%.2f" data-km="%.1f"><title>%s</title></circle>`,
					km*scale, op, s.DistanceKM, esc(title))
				continue
			}
			x, y := project(km, s.BearingDeg, scale)
			fmt.Fprintf(&b, `<circle cx="%.2f" cy="%.2f" r="3" class="strike" opacity="%.2f" data-km="%.1f" data-bearing="%.0f"><title>%s</title></circle>`,
				x, y, op, s.DistanceKM, s.BearingDeg, esc(title))
		}
	}
	for _, c := range cells {
		x, y := project(math.Min(c.DistanceKM, watchKM*1.2), c.BearingDeg, scale)
		// Where the cell is heading: its travel in 30 minutes.
		step := c.SpeedKMH / 2 * scale
		dx, dy := step*math.Sin(rad(c.HeadingDeg)), -step*math.Cos(rad(c.HeadingDeg))
		title := fmt.Sprintf("cell %s: %.1f km, moving %.0f km/h towards %.0f°", c.ID, c.DistanceKM, c.SpeedKMH, c.HeadingDeg)
		fmt.Fprintf(&b, `<g class="cell" data-cell="%s"><title>%s</title><circle cx="%.2f" cy="%.2f" r="7"/>`, esc(string(c.ID)), esc(title), x, y)
		if c.SpeedKMH > 0 {
			fmt.Fprintf(&b, `<line x1="%.2f" y1="%.2f" x2="%.2f" y2="%.2f" marker-end="url(#arrow)"/>`, x, y, x+dx, y+dy)
		}
		b.WriteString(`</g>`)
	}
	b.WriteString(`<defs><marker id="arrow" viewBox="0 0 10 10" refX="8" refY="5" markerWidth="5" markerHeight="5" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="arrowhead"/></marker></defs>`)
	b.WriteString(`<circle cx="0" cy="0" r="2.5" class="site"/></svg>`)
	return b.String()
}

// project turns a distance and compass bearing into plot coordinates,
// north up and east right.
func project(km, bearingDeg, scale float64) (x, y float64) {
	return km * scale * math.Sin(rad(bearingDeg)), -km * scale * math.Cos(rad(bearingDeg))
}

func rad(deg float64) float64 { return deg * math.Pi / 180 }

var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;")

func esc(s string) string { return escaper.Replace(s) }
