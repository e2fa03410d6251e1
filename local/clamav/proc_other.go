//go:build unix && !linux

package clamav

import "syscall"

// procAttr puts clamd in its own process group, so Stop reaches anything
// it starts. Only Linux can tie the child's life to ours: elsewhere an
// aborted test run may leave clamd running.
func procAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
