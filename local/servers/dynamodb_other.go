//go:build !linux

package servers

import "syscall"

// dynamoProcAttr: only Linux can tie the child's life to the parent's; on
// other systems an aborted test run may leave the server running.
func dynamoProcAttr() *syscall.SysProcAttr { return nil }
