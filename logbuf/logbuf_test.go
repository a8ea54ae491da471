package logbuf

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// sink records each write it is given, safe for concurrent use.
type sink struct {
	mu     sync.Mutex
	writes []string
	wrote  chan struct{} // if set, told of every write
	err    error
}

func (s *sink) Write(p []byte) (int, error) {
	s.mu.Lock()
	s.writes = append(s.writes, string(p))
	err := s.err
	s.mu.Unlock()
	if s.wrote != nil {
		s.wrote <- struct{}{}
	}
	return len(p), err
}

func (s *sink) all() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.writes...)
}

func (s *sink) text() string { return strings.Join(s.all(), "") }

// manualTimer stands in for time.AfterFunc: the test fires the flush.
type manualTimer struct {
	mu    sync.Mutex
	armed []func()
}

func (m *manualTimer) after(_ time.Duration, f func()) func() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.armed = append(m.armed, f)
	i := len(m.armed) - 1
	return func() bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		stopped := m.armed[i] != nil
		m.armed[i] = nil
		return stopped
	}
}

// fire runs the flushes armed so far and tells how many there were.
func (m *manualTimer) fire() int {
	m.mu.Lock()
	fs := m.armed
	m.armed = nil
	m.mu.Unlock()
	n := 0
	for _, f := range fs {
		if f != nil {
			f()
			n++
		}
	}
	return n
}

func newManual(out *sink, size int) (*Writer, *manualTimer) {
	w := NewSize(out, size, time.Hour)
	m := &manualTimer{}
	w.after = m.after
	return w, m
}

func TestFlushOnInterval(t *testing.T) {
	out := &sink{}
	w, timer := newManual(out, 1<<10)
	fmt.Fprint(w, "one\n")
	fmt.Fprint(w, "two\n")
	if got := out.all(); len(got) != 0 {
		t.Fatalf("written before the interval: %q", got)
	}
	if n := timer.fire(); n != 1 {
		t.Fatalf("%d flushes armed for two lines, want 1", n)
	}
	if got := out.all(); len(got) != 1 || got[0] != "one\ntwo\n" {
		t.Fatalf("after the interval: %q, want one write of both lines", got)
	}
	if n := timer.fire(); n != 0 {
		t.Fatalf("%d flushes armed with nothing held", n)
	}
	fmt.Fprint(w, "three\n")
	timer.fire()
	if got := out.text(); got != "one\ntwo\nthree\n" {
		t.Fatalf("after the second interval: %q", got)
	}
}

// TestFlushOnIntervalRealTimer waits for the real timer's write on a
// channel: no sleep, and no bound on how long it takes.
func TestFlushOnIntervalRealTimer(t *testing.T) {
	out := &sink{wrote: make(chan struct{}, 1)}
	w := NewSize(out, 1<<10, time.Millisecond)
	fmt.Fprint(w, "line\n")
	<-out.wrote
	if got := out.text(); got != "line\n" {
		t.Fatalf("written %q", got)
	}
}

func TestFlushOnSize(t *testing.T) {
	out := &sink{}
	w, _ := newManual(out, 16)
	fmt.Fprint(w, "0123456789\n") // 11 bytes: held
	if got := out.all(); len(got) != 0 {
		t.Fatalf("written below the size: %q", got)
	}
	fmt.Fprint(w, "abcdefghij\n") // 22: past the size
	if got := out.all(); len(got) != 1 || got[0] != "0123456789\nabcdefghij\n" {
		t.Fatalf("past the size: %q, want one write of both lines", got)
	}
	// A line longer than the whole buffer goes out whole.
	long := strings.Repeat("x", 100) + "\n"
	fmt.Fprint(w, long)
	if got := out.all(); len(got) != 2 || got[1] != long {
		t.Fatalf("long line: %q", got)
	}
}

func TestPartialLineHeld(t *testing.T) {
	out := &sink{}
	w, timer := newManual(out, 8)
	fmt.Fprint(w, "first\nsecond li") // past the size, but the second line has not ended
	if got := out.all(); len(got) != 1 || got[0] != "first\n" {
		t.Fatalf("written %q, want the first line alone", got)
	}
	timer.fire()
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := out.text(); got != "first\n" {
		t.Fatalf("unended line written: %q", got)
	}
	fmt.Fprint(w, "ne\n")
	timer.fire()
	if got := out.all(); len(got) != 2 || got[1] != "second line\n" {
		t.Fatalf("written %q, want the second line whole", got)
	}
}

func TestCloseFlushes(t *testing.T) {
	out := &sink{}
	w, timer := newManual(out, 1<<10)
	fmt.Fprint(w, "held\nunended")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := out.text(); got != "held\nunended" {
		t.Fatalf("after Close: %q", got)
	}
	if n := timer.fire(); n != 0 {
		t.Fatalf("Close left %d flushes armed", n)
	}
	// Lines after Close, from work still ending, go straight out.
	fmt.Fprint(w, "late\n")
	if got := out.all(); len(got) != 2 || got[1] != "late\n" {
		t.Fatalf("after Close: %q", got)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestWriteErrorReported(t *testing.T) {
	out := &sink{err: errors.New("disk full")}
	w, _ := newManual(out, 1<<10)
	fmt.Fprint(w, "line\n")
	if err := w.Flush(); err == nil || err.Error() != "disk full" {
		t.Fatalf("Flush = %v", err)
	}
	out.err = nil
	if err := w.Flush(); err != nil {
		t.Fatalf("Flush with nothing held = %v", err)
	}
}

func TestHandlerFlushesWarnings(t *testing.T) {
	for _, tc := range []struct {
		level slog.Level
		now   bool
	}{
		{slog.LevelDebug, false}, {slog.LevelInfo, false}, {slog.LevelWarn, true}, {slog.LevelError, true},
	} {
		out := &sink{}
		w, _ := newManual(out, 1<<10)
		log := slog.New(Handler{slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}), w})
		log.Info("before")
		log = log.With("k", "v").WithGroup("g")
		log.Log(t.Context(), tc.level, "message", "a", 1)
		got := out.text()
		if !tc.now {
			if got != "" {
				t.Errorf("%v: written at once: %q", tc.level, got)
			}
			continue
		}
		if !strings.Contains(got, "msg=before") || !strings.Contains(got, "level="+tc.level.String()+" msg=message k=v g.a=1\n") {
			t.Errorf("%v: written %q, want both lines", tc.level, got)
		}
	}
}

// TestConcurrentWrites logs from many goroutines while the interval's
// flush runs too: every line comes out once, whole, and no write holds a
// part of one (run with -race).
func TestConcurrentWrites(t *testing.T) {
	out := &sink{}
	w, timer := newManual(out, 512)
	log := slog.New(Handler{slog.NewJSONHandler(w, nil), w})
	const writers, lines = 8, 200
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := range lines {
				if i%50 == 49 {
					log.Warn("line", "g", g, "i", i)
				} else {
					log.Info("line", "g", g, "i", i, "pad", strings.Repeat("p", i%40))
				}
			}
		})
	}
	wg.Go(func() {
		for range 100 {
			timer.fire()
		}
	})
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, write := range out.all() {
		if !strings.HasSuffix(write, "\n") {
			t.Fatalf("a write ends inside a line: %q", write)
		}
		for line := range strings.Lines(write) {
			if !strings.HasPrefix(line, `{"time":`) || !strings.HasSuffix(line, "}\n") {
				t.Fatalf("broken line %q", line)
			}
			if seen[line] {
				t.Fatalf("line twice: %q", line)
			}
			seen[line] = true
		}
	}
	if len(seen) != writers*lines {
		t.Fatalf("%d lines, want %d", len(seen), writers*lines)
	}
	if bytes.Count([]byte(out.text()), []byte("\n")) != writers*lines {
		t.Fatal("lines lost or split")
	}
}
