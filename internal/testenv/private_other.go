//go:build !linux

package testenv

import "os/exec"

// setDeathSignal has no portable equivalent outside Linux: a server whose
// test binary died without cleanup keeps running until stopped by hand.
func setDeathSignal(*exec.Cmd) {}
