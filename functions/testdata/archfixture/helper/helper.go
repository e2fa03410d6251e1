// Package helper imports testing, which no binary may link.
package helper

import "testing"

// Run reports whether it runs under go test, only to use package testing.
func Run() bool { return testing.Testing() }
