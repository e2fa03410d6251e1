package clamav

import "syscall"

// procAttr puts clamd in its own process group, so Stop reaches anything
// it starts, and has the kernel kill it when the process that started it
// dies, even by SIGKILL, where no Stop runs.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
