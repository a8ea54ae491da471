package main

import (
	"strings"
	"testing"
)

// perfScript is perf script's output for four samples, in its own format.
const perfScript = `examgate 4242 [001] 12.345678: 2004008 cpu-clock:ppp:
	          47a1c0 runtime.mallocgc+0x40 (/tmp/examgate)
	          5c3b20 encoding/json.(*decodeState).object+0x120 (/tmp/examgate)
	          9d1e40 github.com/examgate/examgate/graph.(*compiledOps).serve+0x88 (/tmp/examgate)
	          6e2a00 net/http.(*conn).serve+0x600 (/tmp/examgate)

examgate 4243 [000] 12.346000: 2004008 cpu-clock:ppp:
	ffffffff8a1b2c3d tcp_sendmsg+0x1d ([kernel.kallsyms])
	          4f0a10 internal/runtime/syscall/linux.Syscall6+0x20 (/tmp/examgate)
	          6e1b00 net.(*conn).Write+0x40 (/tmp/examgate)
	          6e2a00 net/http.(*conn).serve+0x600 (/tmp/examgate)

examgate 4244 [001] 12.347000: 2004008 cpu-clock:ppp:
	          47b000 runtime.scanobject+0x10 (/tmp/examgate)
	          47c000 runtime.gcBgMarkWorker+0x100 (/tmp/examgate)

examgate 4246 [000] 12.348500: 2004008 cpu-clock:ppp:
	ffffffff8a1b2c3d tcp_sendmsg+0x1d ([kernel.kallsyms])
	          6e1b00 net.(*conn).Write+0x40 (/tmp/examgate)
	          8a0000 github.com/jackc/pgx/v5/pgconn.(*PgConn).Exec+0x40 (/tmp/examgate)
	          6e2a00 net/http.(*conn).serve+0x600 (/tmp/examgate)

examgate 4247 [000] 12.348600: 2004008 cpu-clock:ppp:
	          6e1b00 net/http.(*persistConn).roundTrip+0x40 (/tmp/examgate)
	          8b0000 github.com/examgate/examgate/tiapi.(*Client).get+0x40 (/tmp/examgate)
	          6e2a00 net/http.(*conn).serve+0x600 (/tmp/examgate)

examgate 4245 [000] 12.348000: 2004008 cpu-clock:ppp:
	          7a0000 modernc.org/sqlite/lib._sqlite3VdbeExec+0x900 (/tmp/examgate)
	          7b0000 github.com/examgate/examgate/db.(*DB).readRow+0x50 (/tmp/examgate)
	          7c0000 github.com/examgate/examgate/graph.(*queryResolver).Me+0x30 (/tmp/examgate)
`

func TestReadSamplesAttributesEachToItsPart(t *testing.T) {
	got := map[string]int{}
	if err := readSamples(strings.NewReader(perfScript), got); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{
		parts[2].name: 1, // json under the compiled document: GraphQL's
		parts[0].name: 1, // a kernel write under net.(*conn).Write, under the HTTP server
		partGC:        1,
		parts[6].name: 2, // the driver, not the store code that called it; its socket writes
		partTI:        1, // TI's HTTP client
	}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %d samples, want %d (all: %v)", k, got[k], v, got)
		}
	}
}
