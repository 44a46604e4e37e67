package testenv

import (
	"os/exec"
	"syscall"
)

// setDeathSignal kills the server when the test binary dies without its
// cleanup (a panic, a -timeout), so no server outlives its test.
func setDeathSignal(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
}
