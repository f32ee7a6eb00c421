package weather

import (
	"bufio"
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// t0 is the reference time of the fixture storm, 2026-07-15T20:00:00Z.
var t0 = time.Unix(1784145600, 0).UTC()

// fixtureSite is where the fixture storm is measured from.
var fixtureSite = Site{Lat: 40.0, Lon: -105.0}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fixtureLines returns the non-empty lines of a .jsonl fixture.
func fixtureLines(t testing.TB, name string) [][]byte {
	t.Helper()
	var lines [][]byte
	sc := bufio.NewScanner(bytes.NewReader(readFixture(t, name)))
	for sc.Scan() {
		if l := bytes.TrimSpace(sc.Bytes()); len(l) > 0 {
			lines = append(lines, append([]byte(nil), l...))
		}
	}
	return lines
}

// recorder keeps the requests a test server saw.
type recorder struct {
	mu   sync.Mutex
	reqs []*http.Request
}

func (r *recorder) add(req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = append(r.reqs, req)
}

func (r *recorder) last(t testing.TB) *http.Request {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.reqs) == 0 {
		t.Fatal("server saw no request")
	}
	return r.reqs[len(r.reqs)-1]
}

// serve starts a loopback test server that records each request and
// answers with status, the given headers and body.
func serve(t testing.TB, status int, header http.Header, body []byte) (string, *recorder) {
	t.Helper()
	rec := &recorder{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		rec.add(req.Clone(req.Context()))
		for k, v := range header {
			w.Header()[k] = v
		}
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(status)
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, rec
}

// collector gathers what a Streamer emits and lets a test wait for it.
type collector struct {
	mu      sync.Mutex
	reports []Report
	changed chan struct{}
}

func newCollector() *collector { return &collector{changed: make(chan struct{}, 1)} }

func (c *collector) emit(r Report) {
	c.mu.Lock()
	c.reports = append(c.reports, r)
	c.mu.Unlock()
	select {
	case c.changed <- struct{}{}:
	default:
	}
}

// waitFor waits until ok holds for the reports so far, or fails the test
// after a deadline.
func (c *collector) waitFor(t testing.TB, what string, ok func([]Report) bool) []Report {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		c.mu.Lock()
		got := append([]Report(nil), c.reports...)
		c.mu.Unlock()
		if ok(got) {
			return got
		}
		select {
		case <-c.changed:
		case <-deadline:
			t.Fatalf("timed out waiting for %s; got %d reports: %+v", what, len(got), got)
		}
	}
}

// strikesOf flattens the strikes of reports.
func strikesOf(reports []Report) []Strike {
	var s []Strike
	for _, r := range reports {
		s = append(s, r.Strikes...)
	}
	return s
}

func near(a, b, tol float64) bool { return a-b <= tol && b-a <= tol }
