package main

// -profile: where each server's CPU per request goes. Linux perf samples
// the server process during each measured run (perf record -g -p PID), and
// every sample is put in the part of the work its innermost frame of a
// known package belongs to, so that examgate's cost and the reference's
// can be read side by side in microseconds per request.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// parts are the parts of the work, in the order the table lists them, each
// with the packages whose frames it claims. A sample goes to the part of
// its innermost frame that any part claims; frames of the runtime, the
// kernel and general libraries (encoding/json, net, syscall, sync, …)
// claim nothing, so their time goes to whoever called them. Stacks of the
// garbage collector's workers are garbage collection, and stacks through
// examgate's TI client or simulator the TI call, wherever they lead.
var parts = []struct {
	name     string
	prefixes []string
}{
	// Sockets and system calls (net., internal/poll., syscall.) go to
	// their caller: the HTTP server's, or the database driver's.
	{"HTTP server", []string{"net/http.", "net/textproto.", "mime.", "net/url."}},
	{"middleware: ids, headers, session, rate limit, deadline, request log, metrics", []string{"github.com/examgate/examgate/server.", "github.com/examgate/examgate/logbuf.", "log/slog.", "github.com/prometheus/"}},
	{"GraphQL: decoding, executor or compiled document, encoding", []string{"github.com/examgate/examgate/graph.", "github.com/examgate/examgate/graph/", "github.com/99designs/gqlgen/", "github.com/vektah/gqlparser/"}},
	{partTI, []string{"github.com/golang-jwt/", "crypto/"}},
	{"domain rules (examgate)", []string{"github.com/examgate/examgate."}},
	{"store code (examgate/db)", []string{"github.com/examgate/examgate/db."}},
	{"database driver and SQL", []string{"modernc.org/sqlite", "github.com/jackc/", "database/sql.", "github.com/uptrace/bun"}},
	{"the reference's handler", []string{"main."}},
	{"garbage collection", nil},
	{"runtime and other", nil},
}

const (
	partGC    = "garbage collection"
	partOther = "runtime and other"
	// partTI is the launch token's check and the call to TI, its HTTP
	// client included and, in demo mode, the TI simulator answering it in
	// the same process.
	partTI = "launch token check and TI call"
)

// partOf names the part of one sample, frames innermost first.
func partOf(frames []string) string {
	for _, f := range frames {
		if strings.Contains(f, "runtime.gcBgMarkWorker") {
			return partGC
		}
	}
	for _, f := range frames {
		if strings.HasPrefix(f, "github.com/examgate/examgate/tiapi") {
			return partTI
		}
	}
	for _, f := range frames {
		for _, p := range parts {
			for _, pre := range p.prefixes {
				if strings.HasPrefix(f, pre) {
					return p.name
				}
			}
		}
	}
	return partOther
}

// readSamples counts the samples of perf script's output by part.
func readSamples(r io.Reader, into map[string]int) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var frames []string
	inSample := false
	flush := func() {
		if inSample {
			into[partOf(frames)]++
		}
		frames, inSample = frames[:0], false
	}
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.TrimSpace(line) == "":
			flush()
		case line[0] != ' ' && line[0] != '\t':
			flush()
			inSample = true // a sample's header: comm pid time event
		default:
			// "\t  4b1c2d runtime.mallocgc+0x1a (/path/bin)"
			f := strings.Fields(line)
			if len(f) >= 2 {
				name := f[1]
				if i := strings.LastIndex(name, "+0x"); i > 0 {
					name = name[:i]
				}
				frames = append(frames, name)
			}
		}
	}
	flush()
	return sc.Err()
}

// profiler samples one process while a measured run lasts.
type profiler struct {
	dir    string
	n      int
	counts map[string]map[string]int // "<path> <target>" → part → samples
}

func newProfiler(dir string) (*profiler, error) {
	if _, err := exec.LookPath("perf"); err != nil {
		return nil, fmt.Errorf("-profile needs Linux perf (apt-get install linux-perf): %w", err)
	}
	return &profiler{dir: dir, counts: map[string]map[string]int{}}, nil
}

// around runs measured while perf samples pid, then adds the samples to
// key's counts.
func (p *profiler) around(ctx context.Context, key string, pid int, measured func()) error {
	p.n++
	data := filepath.Join(p.dir, fmt.Sprintf("perf-%d.data", p.n))
	rec := exec.CommandContext(ctx, "perf", "record", "-q", "-g", "-F", "499", "-p", fmt.Sprint(pid), "-o", data)
	if err := rec.Start(); err != nil {
		return err
	}
	measured()
	_ = rec.Process.Signal(syscall.SIGINT) // perf writes its data and exits
	if err := rec.Wait(); err != nil && ctx.Err() == nil {
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() > 0 && ee.ExitCode() != 130 {
			return fmt.Errorf("perf record: %w", err)
		}
	}
	defer os.Remove(data)
	script := exec.CommandContext(ctx, "perf", "script", "-i", data)
	outp, err := script.StdoutPipe()
	if err != nil {
		return err
	}
	if err := script.Start(); err != nil {
		return err
	}
	if p.counts[key] == nil {
		p.counts[key] = map[string]int{}
	}
	if err := readSamples(outp, p.counts[key]); err != nil {
		return err
	}
	return script.Wait()
}

// table prints, per path, each part's microseconds of CPU per request for
// examgate and the reference: its share of the samples times the median
// CPU per request.
func (p *profiler) table(out io.Writer, paths []string, cpu map[string][2]float64) {
	fmt.Fprintln(out, "\nWhere the CPU per request goes (µs; perf samples of each server during the measured runs, by the innermost frame of a known package):")
	for _, name := range paths {
		fmt.Fprintf(out, "\n%s\n\n| part | examgate | reference |\n|---|---|---|\n", pathByName(name).label)
		var share [2]map[string]float64
		for t, target := range []string{"examgate", "reference"} {
			c := p.counts[name+" "+target]
			total := 0
			for _, n := range c {
				total += n
			}
			share[t] = map[string]float64{}
			for part, n := range c {
				share[t][part] = float64(n) / float64(max(1, total))
			}
		}
		for _, part := range parts {
			e, r := share[0][part.name]*cpu[name][0], share[1][part.name]*cpu[name][1]
			if e < 0.5 && r < 0.5 {
				continue
			}
			fmt.Fprintf(out, "| %s | %.0f | %.0f |\n", part.name, e, r)
		}
		fmt.Fprintf(out, "| **all** | **%.0f** | **%.0f** |\n", cpu[name][0], cpu[name][1])
	}
}
