package weather

import (
	"math"
	"sort"
	"strings"
)

const geohashAlphabet = "0123456789bcdefghjkmnpqrstuvwxyz"

// maxGeohashTiles is the most tiles a strike feed subscribes to, the limit
// the Home Assistant integration's geohash_overlap uses.
const maxGeohashTiles = 9

// Geohash encodes lat, lon as a geohash of precision characters (1..12).
func Geohash(lat, lon float64, precision int) string {
	precision = min(max(precision, 1), 12)
	latLo, latHi := -90.0, 90.0
	lonLo, lonHi := -180.0, 180.0
	var b strings.Builder
	even := true // geohash bits start with longitude
	bit, ch := 0, 0
	for b.Len() < precision {
		if even {
			mid := (lonLo + lonHi) / 2
			if lon >= mid {
				ch = ch<<1 | 1
				lonLo = mid
			} else {
				ch <<= 1
				lonHi = mid
			}
		} else {
			mid := (latLo + latHi) / 2
			if lat >= mid {
				ch = ch<<1 | 1
				latLo = mid
			} else {
				ch <<= 1
				latHi = mid
			}
		}
		even = !even
		if bit++; bit == 5 {
			b.WriteByte(geohashAlphabet[ch])
			bit, ch = 0, 0
		}
	}
	return b.String()
}

// box is a latitude/longitude rectangle: south, west, north, east.
type box struct{ s, w, n, e float64 }

func (a box) overlaps(b box) bool {
	return a.s < b.n && a.n > b.s && a.w < b.e && a.e > b.w
}

// geohashBox returns the rectangle a geohash covers; ok is false when gh
// holds a character outside the geohash alphabet.
func geohashBox(gh string) (b box, ok bool) {
	b = box{s: -90, w: -180, n: 90, e: 180}
	even := true
	for i := 0; i < len(gh); i++ {
		v := strings.IndexByte(geohashAlphabet, gh[i])
		if v < 0 {
			return box{}, false
		}
		for m := 16; m > 0; m >>= 1 {
			if even {
				mid := (b.w + b.e) / 2
				if v&m != 0 {
					b.w = mid
				} else {
					b.e = mid
				}
			} else {
				mid := (b.s + b.n) / 2
				if v&m != 0 {
					b.s = mid
				} else {
					b.n = mid
				}
			}
			even = !even
		}
	}
	return b, true
}

// searchBox is the box the Home Assistant integration searches: ±r·360/40000°
// of latitude and that divided by cos(lat) of longitude. Latitude stops at
// the poles. A box that reaches over a pole, or is 360° or more wide, takes
// every longitude; otherwise its west edge may lie below -180 or its east
// edge above 180, when it crosses the antimeridian: see overlapsWrapped.
func searchBox(site Site, radiusKM float64) box {
	dLat := radiusKM * 360 / 40000
	b := box{s: max(site.Lat-dLat, -90), n: min(site.Lat+dLat, 90)}
	cos := math.Cos(site.Lat * math.Pi / 180)
	dLon := 180.0
	if cos > 0 {
		dLon = dLat / cos
	}
	if site.Lat+dLat >= 90 || site.Lat-dLat <= -90 || !(dLon < 180) {
		b.w, b.e = -180, 180
		return b
	}
	b.w, b.e = site.Lon-dLon, site.Lon+dLon
	return b
}

// overlapsWrapped reports whether tile (inside -180..180) overlaps the
// search box, whose longitudes may run past ±180 across the antimeridian.
func overlapsWrapped(tile, search box) bool {
	for _, shift := range [3]float64{0, 360, -360} {
		t := tile
		t.w, t.e = t.w+shift, t.e+shift
		if t.overlaps(search) {
			return true
		}
	}
	return false
}

// geohashTiles returns the tiles of one precision that overlap the search
// box, found by flooding outwards from the site's own tile. Neighbours wrap
// at the antimeridian; near a pole, where the box takes every longitude,
// the flood goes round the whole band. It stops once it has more than
// limit, which the caller takes as "too fine".
func geohashTiles(site Site, radiusKM float64, precision, limit int) []string {
	bounds := searchBox(site, radiusKM)
	start := Geohash(site.Lat, site.Lon, precision)
	seen := map[string]bool{start: true}
	stack := []string{start}
	for len(stack) > 0 && len(seen) <= limit {
		cur := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		cb, _ := geohashBox(cur)
		h, w := cb.n-cb.s, cb.e-cb.w
		cLat, cLon := (cb.s+cb.n)/2, (cb.w+cb.e)/2
		for _, d := range [8][2]float64{{1, 0}, {1, 1}, {0, 1}, {-1, 1}, {-1, 0}, {-1, -1}, {0, -1}, {1, -1}} {
			lat := cLat + d[0]*h
			if lat <= -90 || lat >= 90 {
				continue
			}
			lon := cLon + d[1]*w
			if lon >= 180 {
				lon -= 360
			} else if lon < -180 {
				lon += 360
			}
			n := Geohash(lat, lon, precision)
			if seen[n] {
				continue
			}
			if nb, _ := geohashBox(n); overlapsWrapped(nb, bounds) {
				seen[n] = true
				stack = append(stack, n)
			}
		}
	}
	tiles := make([]string, 0, len(seen))
	for gh := range seen {
		tiles = append(tiles, gh)
	}
	sort.Strings(tiles)
	return tiles
}

// GeohashTiles returns the geohash tiles a strike feed must subscribe to for
// a watch radius around the site: the finest precision at which no more than
// 9 tiles cover the search box, as the Home Assistant integration's
// geohash_overlap does. The tiles cover more than the circle, so strikes must
// still be filtered by distance.
func GeohashTiles(site Site, radiusKM float64) []string {
	var best []string
	for p := 1; p <= 12; p++ {
		tiles := geohashTiles(site, radiusKM, p, maxGeohashTiles)
		if len(tiles) > maxGeohashTiles {
			break
		}
		best = tiles
	}
	if best == nil {
		// Even the coarsest tiles are too many (a wide radius near a pole):
		// take them all rather than none.
		best = geohashTiles(site, radiusKM, 1, 32)
	}
	return best
}
