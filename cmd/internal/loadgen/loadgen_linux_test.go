//go:build linux

package loadgen

import (
	"os"
	"testing"
)

func TestProcessCPU(t *testing.T) {
	if _, err := ProcessCPU(os.Getpid()); err != nil {
		t.Fatal(err)
	}
	if _, err := ProcessCPU(-1); err == nil {
		t.Error("no error for a process that does not exist")
	}
	if LoadAvg() == "unknown" {
		t.Error("no load average from /proc/loadavg")
	}
}
