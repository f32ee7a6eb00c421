package weather

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestPolarMatchesFixtureTable(t *testing.T) {
	// Expected values from the fixtures README (HA flat-earth formula).
	for _, tc := range []struct {
		lat, lon, km float64
		az           float64
		compass      string
	}{
		{40.288824, -106.457736, 128.3, 285, "WNW"},
		{40.287457, -106.052486, 95.2, 290, "WNW"},
		{39.838646, -105.572307, 51.9, 250, "WSW"},
		{40.079858, -105.149233, 15.5, 305, "NW"},
		{40.03193, -105.024078, 4.1, 330, "NNW"},
		{40.013521, -104.993574, 1.6, 20, "NNE"},
	} {
		km, az := fixtureSite.Polar(tc.lat, tc.lon)
		if math.Round(km*10)/10 != tc.km {
			t.Errorf("Polar(%v,%v) distance = %.3f, want %.1f", tc.lat, tc.lon, km, tc.km)
		}
		if math.Mod(math.Round(az), 360) != tc.az {
			t.Errorf("Polar(%v,%v) bearing = %.2f, want %v", tc.lat, tc.lon, az, tc.az)
		}
		if got := Compass(az); got != tc.compass {
			t.Errorf("Compass(%.1f) = %q, want %q", az, got, tc.compass)
		}
	}
}

func TestPolarAcrossAntimeridian(t *testing.T) {
	km, az := Site{Lat: 0, Lon: 179.9}.Polar(0, -179.9)
	if !near(km, 22.2, 0.1) || !near(az, 90, 0.01) {
		t.Errorf("got %.2f km at %.1f°, want about 22.2 km due east", km, az)
	}
}

func TestCompass(t *testing.T) {
	for _, tc := range []struct {
		deg  float64
		want string
	}{
		{0, "N"}, {11.24, "N"}, {11.25, "NNE"}, {90, "E"}, {180, "S"}, {292.5, "WNW"},
		{348.75, "N"}, {359.9, "N"}, {360, "N"}, {-22.5, "NNW"}, {720 + 45, "NE"}, {math.NaN(), "?"},
	} {
		if got := Compass(tc.deg); got != tc.want {
			t.Errorf("Compass(%v) = %q, want %q", tc.deg, got, tc.want)
		}
	}
}

func TestGeohash(t *testing.T) {
	// The README gives the site's geohash; the fixture topics give the strikes'.
	if got := Geohash(40.0, -105.0, 12); got != "9xj7d9v2fsmq" {
		t.Errorf("Geohash(site) = %q", got)
	}
	if got := Geohash(40.013521, -104.993574, 12); got != "9xj7du4p8kuy" {
		t.Errorf("Geohash(line 11) = %q", got)
	}
	if got := Geohash(40.0, -105.0, 3); got != "9xj" {
		t.Errorf("Geohash(site, 3) = %q", got)
	}
}

func TestGeohashTiles(t *testing.T) {
	for _, tc := range []struct {
		radiusKM float64
		want     []string
	}{
		{100, []string{"9wu", "9wv", "9wy", "9xh", "9xj", "9xk", "9xm", "9xn", "9xq"}},
		{16, []string{"9xj4", "9xj5", "9xj6", "9xj7", "9xjh", "9xjk"}},
	} {
		if got := GeohashTiles(fixtureSite, tc.radiusKM); !slices.Equal(got, tc.want) {
			t.Errorf("GeohashTiles(r=%v) = %v, want %v", tc.radiusKM, got, tc.want)
		}
	}
}

func TestGeohashTilesCoverEveryFixtureStrike(t *testing.T) {
	tiles := GeohashTiles(fixtureSite, 100)
	for _, ll := range [][2]float64{{40.288824, -106.457736}, {39.838646, -105.572307}, {40.013521, -104.993574}} {
		gh := Geohash(ll[0], ll[1], 12)
		if !slices.ContainsFunc(tiles, func(tile string) bool { return gh[:len(tile)] == tile }) {
			t.Errorf("strike %v (%s) is in no subscribed tile %v", ll, gh, tiles)
		}
	}
}

// covered reports whether the point's geohash starts with one of tiles.
func covered(tiles []string, lat, lon float64) bool {
	gh := Geohash(lat, lon, 12)
	return slices.ContainsFunc(tiles, func(tile string) bool { return strings.HasPrefix(gh, tile) })
}

// TestGeohashTilesAntimeridian is the site of the report: 17.7 S, 179.95 E,
// with a strike 7 km east, across longitude 180.
func TestGeohashTilesAntimeridian(t *testing.T) {
	site := Site{Lat: -17.7, Lon: 179.95}
	for _, r := range []float64{16, 40, 100} {
		tiles := GeohashTiles(site, r)
		if d, _ := site.Polar(-17.7, -179.98); !(d < r) {
			t.Fatalf("the strike is %.1f km away, not inside %v km", d, r)
		}
		if !covered(tiles, -17.7, -179.98) {
			t.Errorf("r=%v: the strike at 179.98 W is in no tile of %v", r, tiles)
		}
	}
}

// TestGeohashTilesCoverTheFilter checks, for sites at the antimeridian,
// near both poles and in ordinary places, that every point the feed's
// distance filter accepts lies in a subscribed tile, and that no more than
// nine tiles are subscribed unless the coarsest precision needs more.
func TestGeohashTilesCoverTheFilter(t *testing.T) {
	sites := []Site{
		{40, -105}, {-17.7, 179.95}, {-17.7, -179.95}, {0, 180}, {0, -180}, {65.5, 179.99},
		{89.95, 10}, {-89.9, -170}, {89.5, 179.9}, {-85, 0}, {0.01, 0.01}, {51.5, -0.1},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, site := range sites {
		for _, r := range []float64{16, 40, 100, 1000} {
			tiles := GeohashTiles(site, r)
			if len(tiles) == 0 {
				t.Errorf("site %v r=%v: no tiles", site, r)
				continue
			}
			if len(tiles) > maxGeohashTiles && len(tiles[0]) > 1 {
				t.Errorf("site %v r=%v: %d tiles of precision %d", site, r, len(tiles), len(tiles[0]))
			}
			box := searchBox(site, r)
			missed := 0
			for range 4000 {
				lat := box.s + rng.Float64()*(box.n-box.s)
				lon := box.w + rng.Float64()*(box.e-box.w)
				for lon >= 180 {
					lon -= 360
				}
				for lon < -180 {
					lon += 360
				}
				if d, _ := site.Polar(lat, lon); !(d < r) {
					continue
				}
				if !covered(tiles, lat, lon) {
					if missed++; missed <= 3 {
						t.Errorf("site %v r=%v: point %.4f,%.4f (%s) in no tile of %v", site, r, lat, lon, Geohash(lat, lon, 12), tiles)
					}
				}
			}
		}
	}
}
