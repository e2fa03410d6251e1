package bench

import (
	"math"
	"strings"
	"testing"

	"github.com/tre-egress/egress/local"
)

// measured512 is a one-file request of 512 MiB as the stack counts it:
// one copy part, a 33-part zip, each byte-bound function at 16 MiB/s.
func measured512(copyParts, zipParts int64) costMeasure {
	s3 := func(fn, op string) local.CallKey { return local.CallKey{Function: fn, Service: "S3", Operation: op} }
	return costMeasure{
		Files: 1, Bytes: 512 << 20, ZipBytes: 512<<20 + 4096,
		Usage: local.Usage{
			Calls: map[local.CallKey]local.CallCount{
				s3("copy-to-staging", "UploadPartCopy"): {Calls: copyParts, Units: float64(copyParts)},
				s3("copy-to-datalake", "UploadPart"):    {Calls: zipParts, Units: float64(zipParts)},
				s3("copy-to-datalake", "GetObject"):     {Calls: 3, Units: 3},
			},
			Invocations: map[string]local.Invocations{
				"copy-to-staging":  {Count: 1, Seconds: 32, GBSeconds: 32},
				"copy-to-datalake": {Count: 1, Seconds: 32, GBSeconds: 64},
			},
			StateTransitions: 16,
		},
	}
}

func TestExtrapolate(t *testing.T) {
	tests := []struct {
		name                string
		target              int64
		copyParts, zipParts int64 // measured
		wantErr             string
		wantCopy, wantZip   int64
		wantInvocations     int64
	}{
		{name: "20 GiB", target: 20 << 30, copyParts: 1, zipParts: 33, wantCopy: 40, wantZip: 1281, wantInvocations: 2},
		{name: "5 GiB fits one invocation", target: 5 << 30, copyParts: 1, zipParts: 33, wantCopy: 10, wantZip: 321, wantInvocations: 1},
		{name: "measured copy not multipart", target: 20 << 30, copyParts: 0, zipParts: 33, wantErr: "UploadPartCopy"},
		{name: "zip parts off the model", target: 20 << 30, copyParts: 1, zipParts: 40, wantErr: "UploadPart calls"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := measured512(tt.copyParts, tt.zipParts)
			got, x, err := extrapolate(m, tt.target)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			u := got.Usage
			if n := u.Calls[local.CallKey{Function: "copy-to-staging", Service: "S3", Operation: "UploadPartCopy"}].Calls; n != tt.wantCopy {
				t.Errorf("UploadPartCopy %d, want %d", n, tt.wantCopy)
			}
			if n := u.Calls[local.CallKey{Function: "copy-to-datalake", Service: "S3", Operation: "UploadPart"}].Calls; n != tt.wantZip {
				t.Errorf("UploadPart %d, want %d", n, tt.wantZip)
			}
			scale := float64(tt.target) / float64(512<<20)
			if v := u.Invocations["copy-to-datalake"]; v.Count != tt.wantInvocations || math.Abs(v.GBSeconds-64*scale) > 1e-9 {
				t.Errorf("copy-to-datalake %+v, want %d invocations and %g GB-s", v, tt.wantInvocations, 64*scale)
			}
			if want := 16 + 2*(tt.wantInvocations-1); u.StateTransitions != want {
				t.Errorf("state transitions %d, want %d", u.StateTransitions, want)
			}
			if x.ReleaseMiBps != 16 || got.Bytes != tt.target {
				t.Errorf("release measured at %g MiB/s for %d bytes, want 16 and %d", x.ReleaseMiBps, got.Bytes, tt.target)
			}
			// The measurement itself is left as it was.
			if m.Usage.Invocations["copy-to-datalake"].Seconds != 32 {
				t.Error("extrapolate changed the measured usage")
			}
		})
	}
}

func TestCostOfTiers(t *testing.T) {
	k := func(op string) local.CallKey { return local.CallKey{Function: "f", Service: "S3", Operation: op} }
	m := costMeasure{Usage: local.Usage{Calls: map[local.CallKey]local.CallCount{
		k("CopyObject"):    {Calls: 1000, Units: 1000},
		k("GetObject"):     {Calls: 999, Units: 999},
		k("DeleteObjects"): {Calls: 1000, Units: 1000},
	}}}
	// 1,000 PUT-tier requests, 1,000 GET-tier ones with the download, deletes free.
	want := Prices.S3Put.USD + Prices.S3Get.USD
	if got := costOf(m)["S3 requests"]; math.Abs(got-want) > 1e-12 {
		t.Errorf("S3 requests $%g, want $%g", got, want)
	}
}
