// Package benchutil has what the engine's benchmarks measure besides wall
// time: CPU time and resident memory of a process, the machine's load, and
// percentiles of latency samples.
package benchutil

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Percentile returns the p-th percentile (0 < p ≤ 100) of samples by the
// nearest-rank method; samples are sorted in place. No samples give 0.
func Percentile(samples []time.Duration, p float64) time.Duration {
	if len(samples) == 0 {
		return 0
	}
	slices.Sort(samples)
	rank := int(float64(len(samples))*p/100+0.999999999) - 1
	return samples[min(max(rank, 0), len(samples)-1)]
}

// Millis is d in milliseconds, for b.ReportMetric.
func Millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// MemStatus is the resident memory of a process, from /proc/PID/status.
type MemStatus struct {
	RSS, HWM int64 // bytes: resident now, and its peak (VmHWM) so far
}

// ProcMem reads the resident memory of process pid (0: this process). It
// fails where /proc is missing (not Linux) or the process is gone.
func ProcMem(pid int) (MemStatus, error) {
	path := "/proc/self/status"
	if pid > 0 {
		path = "/proc/" + strconv.Itoa(pid) + "/status"
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return MemStatus{}, err
	}
	var m MemStatus
	found := 0
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		f := strings.Fields(rest) // "12345 kB"
		if len(f) != 2 || f[1] != "kB" {
			return MemStatus{}, fmt.Errorf("%s: unexpected %s line %q", path, name, sc.Text())
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return MemStatus{}, fmt.Errorf("%s: %s: %w", path, name, err)
		}
		if name == "VmRSS" {
			m.RSS = kb << 10
		} else {
			m.HWM = kb << 10
		}
		found++
	}
	if found != 2 {
		return MemStatus{}, fmt.Errorf("%s: no VmRSS and VmHWM (a zombie?)", path)
	}
	return m, nil
}

// ProcCPU is the user and system CPU time process pid has used, from
// /proc/PID/stat (in clock ticks of 10 ms: USER_HZ is 100 on Linux).
func ProcCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name, field 2, is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(b[i+1:])) // from field 3, state
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	var ticks int64
	for _, s := range f[11:13] { // fields 14 and 15: utime, stime
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}

// LoadAvg is the one-minute load average (0 where /proc/loadavg is missing).
func LoadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// MB is n bytes in MiB.
func MB(n int64) float64 { return float64(n) / (1 << 20) }
