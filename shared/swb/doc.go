// Package swb is the Service Workbench (SWB) contract: it reads SWB's
// egress notification (contract 1: the SNS message and the object list file
// it points to) and names the statuses of SWB's egress store table
// (contract 2, which package swbstore writes). Parsing is pure, so a
// replayed message gives the same result every time. It imports no AWS
// package.
package swb
