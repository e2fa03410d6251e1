package servers

import "syscall"

// dynamoProcAttr makes the kernel kill the server when the process that
// started it dies, even by SIGKILL, where no deferred Close would run.
// (Pdeathsig follows the starting OS thread; Go only retires threads
// locked with LockOSThread, which the starter never does.)
func dynamoProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
