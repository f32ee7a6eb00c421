package presence

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

func TestSaveLoadKeepsThePicture(t *testing.T) {
	r, _ := New(Config{})
	feed(t, r,
		live(fooP, "True"), live(fooBar, "True"), kept(fooBaz, "True"),
		live("dataavailable/foo/off", "False"),
		live("resourceavailable/gone/presence", "False"),
	)
	var buf bytes.Buffer
	if err := r.Save(&buf); err != nil {
		t.Fatal(err)
	}
	again, _ := New(Config{})
	if err := again.Load(bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatalf("Load(%s): %v", buf.String(), err)
	}
	if a, b := r.View(), again.View(); a.Len() != b.Len() {
		t.Fatalf("loaded %d resources, saved %d", b.Len(), a.Len())
	}
	// The restarted registry acts as the first would have.
	pubs, err := again.Observe(fooP, []byte("False"), false)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{fooBar + " False", fooBaz + " False retained"}
	if got := render(pubs); !slices.Equal(got, want) {
		t.Errorf("after Load, presence False published %q, want %q", got, want)
	}
	if s, _ := again.Status("gone"); s.State != Absent {
		t.Errorf("gone = %v after Load, want absent", s.State)
	}
}

func TestLoadRefusesBadFiles(t *testing.T) {
	for name, text := range map[string]string{
		"not JSON":      "{",
		"other version": `{"v":2,"resources":[]}`,
		"bad name":      `{"v":1,"resources":[{"name":"a/b","state":"present"}]}`,
		"bad state":     `{"v":1,"resources":[{"name":"a","state":"sleepy"}]}`,
		"bad kind":      `{"v":1,"resources":[{"name":"a","state":"present","topics":[{"kind":"video","name":"x"}]}]}`,
		"bad topic":     `{"v":1,"resources":[{"name":"a","state":"present","topics":[{"kind":"data","name":"#"}]}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			r, _ := New(Config{})
			feed(t, r, live(fooP, "True"), live(fooBar, "True"))
			if err := r.Load(strings.NewReader(text)); err == nil {
				t.Fatal("Load accepted it")
			}
			if pubs, _ := r.Observe(fooP, []byte("False"), false); len(pubs) != 1 {
				t.Errorf("a refused Load changed the picture: presence False published %q", render(pubs))
			}
		})
	}
}
