// Package testenv gives tests clients of a MinIO and a DynamoDB Local shared
// by every test of the test binary, started on first use by package
// local/servers, and unique buckets in them. The helpers take a testing.TB
// and fail the test, saying how to install the servers, when they cannot
// start; binaries start servers with local/servers instead, and so do not
// link testing.
package testenv
