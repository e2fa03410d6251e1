// Package swb adapts Service Workbench (SWB) to the egress domain: it reads
// SWB's egress notification (contract 1: the SNS message and the object list
// file it points to) and keeps SWB's egress store table in step with the
// workflow (contract 2). Parsing is pure, so a replayed message gives the
// same result every time.
package swb
