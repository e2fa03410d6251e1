// Command tool is a binary that links package testing through helper: the
// architecture checker must refuse it (functions/arch_test.go).
package main

import "example.com/archfixture/helper"

func main() { helper.Run() }
